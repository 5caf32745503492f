#!/usr/bin/env python3
"""Proves the Swift intake (through `cxrcaption-cli preprocess`) and the numpy reference
(training/cxrcaption_ref/preprocess.py) give the same equalized bytes.

Cases:
- every image in <repo>/../shared/data/real-cxr: PNGs and the JPEG decoded with Pillow, the DICOMs with pydicom
  (pixel_array, BitsStored, RescaleSlope/Intercept, WindowCenter/Width, PhotometricInterpretation). Each is
  handed to the CLI as the same raw buffer; PNGs are also handed to the CLI as the PNG file itself (libpng
  decode), which must give the same bytes as Pillow's decode;
- made-up buffers: every pixel format, padded rows with garbage in the padding, odd sizes, 16x16, 4000x3000,
  MONOCHROME1 with a window, 16-bit with bits_stored 12 and garbage high bits, rescale, enlarging, shrinking,
  mixed axes, other output sizes; and degenerate ones (constant images, a window no pixel falls inside, a
  rescale slope of 0), which both implementations must refuse.

Needs numpy, pillow, pydicom (no torch). Exit status 0 only if every case is equal bit for bit (or refused by
both, where it must be).
The real-image cases are skipped (with a message) when ../shared/data is absent.

Usage: scripts/intake_parity.py [--cli PATH] [--data DIR] [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import importlib.util

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def _load_preprocess():
    """training/cxrcaption_ref/preprocess.py by path, so the package's __init__ (which may import torch) is not
    needed."""
    spec = importlib.util.spec_from_file_location(
        "cxrcaption_preprocess", REPO / "training" / "cxrcaption_ref" / "preprocess.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


preprocess = _load_preprocess()

FORMAT_OF_DTYPE = {np.dtype(np.uint8): "gray8", np.dtype(np.uint16): "gray16", np.dtype(np.float32): "grayf32"}


def find_cli() -> Path:
    for candidate in (".build/debug", ".build/release"):
        path = REPO / candidate / "cxrcaption-cli"
        if path.exists():
            return path
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=REPO, capture_output=True, text=True)
    return Path(out.stdout.strip()) / "cxrcaption-cli"


class Runner:
    def __init__(self, cli: Path, work: Path):
        self.cli = cli
        self.work = work
        self.results: list[tuple[str, bool, str]] = []

    def swift(self, args: list[str]) -> np.ndarray:
        out = self.work / "out.raw"
        if out.exists():
            out.unlink()
        proc = subprocess.run([str(self.cli), "preprocess", *args, "-o", str(out)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"cxrcaption-cli failed: {proc.stderr.strip()}")
        return np.fromfile(out, dtype=np.uint8)

    @staticmethod
    def options(bits_stored=16, photometric="MONOCHROME2", rescale_slope=1.0, rescale_intercept=0.0,
                window=None, size=256) -> list[str]:
        args = ["--bits-stored", str(bits_stored), f"--rescale={rescale_slope!r},{rescale_intercept!r}",
                "--size", str(size)]
        if window is not None:
            args.append(f"--window={float(window[0])!r},{float(window[1])!r}")
        if photometric == "MONOCHROME1":
            args.append("--monochrome1")
        return args

    def record(self, name: str, expected: np.ndarray, actual: np.ndarray) -> None:
        expected = expected.ravel()
        if actual.shape != expected.shape:
            self.results.append((name, False, f"size {actual.size} != {expected.size}"))
            return
        diff = int((actual != expected).sum())
        detail = "equal" if diff == 0 else (
            f"{diff} of {expected.size} pixels differ, max |d| {int(np.abs(actual.astype(int) - expected).max())}")
        self.results.append((name, diff == 0, detail))
        print(f"{'ok  ' if diff == 0 else 'FAIL'} {name}: {detail}", flush=True)

    def raw_arguments(self, array: np.ndarray, row_padding: int) -> list[str]:
        """Writes `array` as the CLI's raw buffer (rows padded with garbage if asked); the CLI arguments."""
        height, width = array.shape[:2]
        if array.ndim == 3:
            fmt = {3: "rgb8", 4: "rgba8"}[array.shape[2]]
        else:
            fmt = FORMAT_OF_DTYPE[array.dtype]
        row = np.ascontiguousarray(array).view(np.uint8).reshape(height, -1)
        if array.dtype.itemsize > 1 and sys.byteorder != "little":
            raise RuntimeError("the raw buffers are written little-endian; run on a little-endian machine")
        if row_padding:
            garbage = np.random.default_rng(7).integers(0, 256, (height, row_padding), dtype=np.uint8)
            row = np.concatenate([row, garbage], axis=1)
        path = self.work / "in.raw"
        row.tofile(path)
        return [str(path), "--raw", f"{width}x{height}", "--format", fmt, "--row-bytes", str(row.shape[1])]

    def check_buffer(self, name: str, array: np.ndarray, *, row_padding: int = 0, **params) -> None:
        """Python on `array`, Swift on the same pixels as a raw buffer (rows padded with garbage if asked)."""
        try:
            expected = preprocess.equalized_image(array, **params)
        except preprocess.IntakeError as error:
            self.results.append((name, False, f"python rejected it: {error}"))
            print(f"FAIL {name}: python rejected it: {error}")
            return
        args = self.raw_arguments(array, row_padding)
        self.record(name, expected, self.swift(args + self.options(**params)))

    def check_refused(self, name: str, array: np.ndarray, *, expect: str, row_padding: int = 0, **params) -> None:
        """A degenerate buffer: both implementations must refuse it, each with a message containing `expect`."""
        problems = []
        try:
            preprocess.equalized_image(array, **params)
            problems.append("python accepted it")
        except preprocess.IntakeError as error:
            if expect not in str(error):
                problems.append(f"python's message does not say {expect!r}: {error}")
        try:
            self.swift(self.raw_arguments(array, row_padding) + self.options(**params))
            problems.append("Swift accepted it")
        except RuntimeError as error:
            if expect not in str(error):
                problems.append(f"Swift's message does not say {expect!r}: {error}")
        detail = "; ".join(problems) or "refused by both"
        self.results.append((name, not problems, detail))
        print(f"{'ok  ' if not problems else 'FAIL'} {name}: {detail}", flush=True)

    def check_png_file(self, name: str, path: Path, expected: np.ndarray, size: int = 256) -> None:
        """The CLI decoding the PNG itself with libpng."""
        self.record(name + " [libpng decode]", expected, self.swift([str(path), "--size", str(size)]))


def pillow_array(path: Path) -> np.ndarray:
    """The buffer Pillow gives for an image, as intake takes it (gray, RGB or RGBA; LA -> its L plane)."""
    from PIL import Image

    with Image.open(path) as image:
        if image.mode in ("P", "PA"):
            image = image.convert("RGBA" if "transparency" in image.info or image.mode == "PA" else "RGB")
        elif image.mode == "1":
            image = image.convert("L")
        array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 2:
        array = np.ascontiguousarray(array[:, :, 0])
    if array.dtype == np.int32:  # Pillow's "I" mode for 16-bit gray
        array = array.astype(np.uint16)
    return array


def dicom_params(path: Path):
    import pydicom

    ds = pydicom.dcmread(path)
    array = ds.pixel_array
    if ds.get("PixelRepresentation", 0) != 0:
        raise RuntimeError(f"{path.name}: signed pixels are not a GRAY16 case")
    params = dict(
        bits_stored=int(ds.get("BitsStored", 8 * array.dtype.itemsize)),
        photometric=str(ds.PhotometricInterpretation),
        rescale_slope=float(ds.get("RescaleSlope", 1.0)),
        rescale_intercept=float(ds.get("RescaleIntercept", 0.0)),
    )
    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center is not None and width is not None:
        first = lambda v: float(v[0]) if isinstance(v, pydicom.multival.MultiValue) else float(v)  # noqa: E731
        params["window"] = (first(center), first(width))
    return array, params


def real_images(runner: Runner, data: Path) -> None:
    if not data.is_dir():
        print(f"skip: real images not found at {data}")
        return
    for path in sorted(data.rglob("*")):
        if path.suffix.lower() in (".png", ".jpg", ".jpeg"):
            array = pillow_array(path)
            name = str(path.relative_to(data))
            runner.check_buffer(name, array)
            if path.suffix.lower() == ".png":
                runner.check_png_file(name, path, preprocess.equalized_image(array))
        elif path.suffix.lower() == ".dcm":
            try:
                array, params = dicom_params(path)
            except Exception as error:  # noqa: BLE001  (a missing JPEG handler is reported, not hidden)
                runner.results.append((path.name, False, f"pydicom could not decode it: {error}"))
                print(f"FAIL {path.name}: pydicom could not decode it: {error}")
                continue
            name = f"{path.name} ({array.dtype}, {params})"
            runner.check_buffer(name, array, **params)
            if "window" in params:  # the same pixels without the window: the image's own range
                no_window = {k: v for k, v in params.items() if k != "window"}
                runner.check_buffer(path.name + " without window", array, **no_window)


def png_layouts(runner: Runner) -> None:
    """Every PNG layout of the committed decoder fixtures: the CLI's libpng decode must see Pillow's buffer."""
    fixtures = REPO / "Tests" / "CXRKitTests" / "Fixtures" / "intake"
    for path in sorted(fixtures.glob("png_*.png")):
        array = pillow_array(path)
        runner.check_png_file(f"fixture {path.name} ({array.dtype}, shape {array.shape})", path,
                              preprocess.equalized_image(array, size=32), size=32)


def made_up(runner: Runner, quick: bool) -> None:
    rng = np.random.default_rng(20261129)

    def smooth(height, width, scale=1.0):
        y, x = np.mgrid[0:height, 0:width]
        base = np.sin(x / (width / 5.0)) * np.cos(y / (height / 3.0)) + 0.3 * rng.standard_normal((height, width))
        return base * scale

    def gray8(h, w):
        return np.clip(smooth(h, w, 60) + 128, 0, 255).astype(np.uint8)

    def gray16(h, w, bits=16):
        top = (1 << bits) - 1
        return np.clip(smooth(h, w, top / 4) + top / 2, 0, top).astype(np.uint16)

    c = runner.check_buffer
    c("gray8 odd 37x61 (enlarge both)", gray8(61, 37))
    c("gray8 16x16", gray8(16, 16))
    c("gray8 16x16 to 16 (identity resize)", gray8(16, 16), size=16)
    c("gray8 257x255", gray8(255, 257))
    c("gray8 300x100 (shrink x, enlarge y)", gray8(100, 300))
    c("gray8 333x517 size 224", gray8(517, 333), size=224)
    c("gray8 1000x999 size 17", gray8(999, 1000), size=17)
    c("gray8 padded rows +5", gray8(123, 211), row_padding=5)
    c("gray8 window 100,40", gray8(200, 180), window=(100.0, 40.0))
    c("gray8 rescale 0.5,+20", gray8(200, 180), rescale_slope=0.5, rescale_intercept=20.0)
    c("gray8 MONOCHROME1", gray8(200, 180), photometric="MONOCHROME1")
    c("gray16 bits 16 no window", gray16(401, 299))
    c("gray16 padded rows +3 (odd stride)", gray16(150, 97), row_padding=3)
    noisy = gray16(300, 280, 12) | (rng.integers(0, 16, (300, 280), dtype=np.uint16) << 12)
    c("gray16 bits 12, garbage high bits, no window", noisy, bits_stored=12)
    c("gray16 bits 12, garbage high bits, window 2048,1000", noisy, bits_stored=12, window=(2048.0, 1000.0))
    c("gray16 MONOCHROME1 window 15000,30000 bits 15", gray16(260, 250, 15), bits_stored=15,
      photometric="MONOCHROME1", window=(15000.0, 30000.0))
    c("gray16 CT-like rescale 1,-1024 window 40,400", gray16(256, 256, 12), bits_stored=12,
      rescale_intercept=-1024.0, window=(40.0, 400.0))
    c("gray16 negative slope -0.7,+5000", gray16(128, 200), rescale_slope=-0.7, rescale_intercept=5000.0)
    c("gray16 window width 1.5 (steep)", gray16(100, 100), window=(32768.0, 1.5))
    f32 = (smooth(190, 230, 500.0) - 120.0).astype(np.float32)
    c("grayf32 no window", f32)
    c("grayf32 rescale 0.01,+3 window 1,4", f32, rescale_slope=0.01, rescale_intercept=3.0, window=(1.0, 4.0))
    c("grayf32 padded rows +6 MONOCHROME1", f32, row_padding=6, photometric="MONOCHROME1")
    rgb = np.clip(np.stack([smooth(140, 170, 50) + 100 + 20 * i for i in range(3)], axis=2), 0, 255).astype(np.uint8)
    c("rgb8 170x140", rgb)
    c("rgb8 random 64x64", rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    c("rgb8 padded rows +1", rgb, row_padding=1)
    rgba = np.concatenate([rgb, rng.integers(0, 256, (140, 170, 1), dtype=np.uint8)], axis=2)
    c("rgba8 (random alpha ignored)", rgba)
    c("rgba8 padded rows +4 window 120,60", rgba, row_padding=4, window=(120.0, 60.0))
    r = runner.check_refused
    constant = "constant after the modality and VOI steps"
    r("constant gray8", np.full((50, 40), 77, np.uint8), expect=constant)
    r("constant gray16 no window", np.full((50, 40), 1234, np.uint16), expect=constant)
    r("constant gray16 no window MONOCHROME1", np.full((50, 40), 1234, np.uint16), photometric="MONOCHROME1",
      expect=constant)
    r("constant grayf32", np.full((20, 30), -3.5, np.float32), expect=constant)
    r("constant gray16 window", np.full((50, 40), 1234, np.uint16), window=(1000.0, 1000.0), expect=constant)
    r("gray16 under its window (every level 0)", gray16(60, 50, 12), bits_stored=12, window=(60000.0, 100.0),
      expect=constant)
    r("rgb8 one colour", np.full((40, 30, 3), (10, 200, 90), np.uint8), expect=constant)
    r("gray8 rescale slope 0", gray8(40, 30), rescale_slope=0.0, rescale_intercept=5.0, expect="rescale")
    r("gray16 rescale slope 0", gray16(40, 30), rescale_slope=0.0, expect="rescale")
    c("gray8 two values (not constant)", np.where(np.arange(40 * 30).reshape(40, 30) == 7, 9, 8).astype(np.uint8))
    c("two-level gray8", (np.arange(64 * 64).reshape(64, 64) % 2 * 200).astype(np.uint8))
    if not quick:
        c("gray16 4000x3000 bits 14", gray16(3000, 4000, 14), bits_stored=14)
        c("rgb8 4000x3000", np.repeat(gray8(3000, 4000)[:, :, None], 3, axis=2))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cli", type=Path, default=None, help="cxrcaption-cli binary (default: .build/debug)")
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "real-cxr")
    parser.add_argument("--quick", action="store_true", help="skip the 4000x3000 buffers")
    args = parser.parse_args()
    cli = args.cli or find_cli()
    if not cli.exists():
        print(f"error: {cli} not found; build it with `swift build --product cxrcaption-cli`", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as work:
        runner = Runner(cli, Path(work))
        real_images(runner, args.data)
        png_layouts(runner)
        made_up(runner, args.quick)
    failed = [r for r in runner.results if not r[1]]
    print(f"\nintake parity: {len(runner.results) - len(failed)} of {len(runner.results)} cases agree (equal bit for bit, "
          "or refused by both)")
    for name, _, detail in failed:
        print(f"  FAILED {name}: {detail}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
