#!/usr/bin/env python3
"""Writes Tests/CXRKitTests/Fixtures/intake/: small inputs cut from the real images in ../shared/data/real-cxr,
a few made-up buffers, the numpy reference's expected equalized outputs (training/cxrcaption_ref/preprocess.py),
and the PNG decoder fixtures. Run it again only when the fixtures must change; PROVENANCE.md says what each is.

Usage: python scripts/intake_fixtures.py  (a Python with numpy, pillow, pydicom: e.g. the test virtualenv of
`scripts/setup --tests`, ~/.cache/cxrcaption/venv/bin/python)
"""

from __future__ import annotations

import importlib.util
import json
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "real-cxr"
OUT = REPO / "Tests" / "CXRKitTests" / "Fixtures" / "intake"

spec = importlib.util.spec_from_file_location("cxrcaption_preprocess",
                                              REPO / "training" / "cxrcaption_ref" / "preprocess.py")
preprocess = importlib.util.module_from_spec(spec)
spec.loader.exec_module(preprocess)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(width: int, height: int, bit_depth: int, color_type: int, rows: list[bytes],
            extra: list[tuple[bytes, bytes]] = ()) -> bytes:
    """A minimal non-interlaced PNG writer (for layouts Pillow does not write: 4-bit gray, 16-bit RGB, gAMA)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    body = b"".join(b"\x00" + row for row in rows)
    chunks = [png_chunk(b"IHDR", header)] + [png_chunk(k, d) for k, d in extra]
    chunks += [png_chunk(b"IDAT", zlib.compress(body, 9)), png_chunk(b"IEND", b"")]
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)


def pattern8(width: int, height: int, channels: int) -> np.ndarray:
    """value(x, y, c) = (31 x + 17 y + 85 c) mod 256 (PNGTests.swift computes the same)."""
    y, x, c = np.mgrid[0:height, 0:width, 0:channels]
    return ((31 * x + 17 * y + 85 * c) % 256).astype(np.uint8)


def pattern16(width: int, height: int, channels: int) -> np.ndarray:
    """value(x, y, c) = (2039 x + 977 y + 13001 c) mod 65536."""
    y, x, c = np.mgrid[0:height, 0:width, 0:channels]
    return ((2039 * x + 977 * y + 13001 * c) % 65536).astype(np.uint16)


def png_fixtures() -> None:
    w, h = 23, 17
    Image.fromarray(pattern8(w, h, 1)[:, :, 0], "L").save(OUT / "png_gray8.png")
    Image.fromarray(pattern8(w, h, 2), "LA").save(OUT / "png_gray_alpha8.png")
    Image.fromarray(pattern8(w, h, 3), "RGB").save(OUT / "png_rgb8.png")
    Image.fromarray(pattern8(w, h, 4), "RGBA").save(OUT / "png_rgba8.png")
    Image.fromarray(pattern16(w, h, 1)[:, :, 0]).save(OUT / "png_gray16.png")  # mode I;16 -> 16-bit gray PNG
    # Palette: index (x + y) mod 16, entry i = (16 i, 255 - 16 i, 8 i); tRNS: entry i alpha = 17 i.
    y, x = np.mgrid[0:h, 0:w]
    palette = [v for i in range(16) for v in (16 * i, 255 - 16 * i, 8 * i)]
    indexed = Image.fromarray(((x + y) % 16).astype(np.uint8), "P")
    indexed.putpalette(palette)
    indexed.save(OUT / "png_palette.png")
    indexed.save(OUT / "png_palette_trns.png", transparency=bytes(17 * i for i in range(16)))
    # 1-bit gray: (x + y) odd -> white.
    Image.fromarray(((x + y) % 2 == 1)).save(OUT / "png_gray1.png")
    # 4-bit gray: value (x + 2y) mod 16, expands to 17 v.
    four = ((x + 2 * y) % 16).astype(np.uint8)
    rows4 = []
    for row in four:
        padded = np.append(row, 0) if w % 2 else row
        rows4.append(((padded[0::2] << 4) | padded[1::2]).astype(np.uint8).tobytes())
    (OUT / "png_gray4.png").write_bytes(raw_png(w, h, 4, 0, rows4))
    # 16-bit RGB and 16-bit gray with a gAMA chunk (samples must come back unchanged).
    rgb16 = pattern16(w, h, 3)
    (OUT / "png_rgb16.png").write_bytes(raw_png(w, h, 16, 2, [r.astype(">u2").tobytes() for r in rgb16]))
    gray16 = pattern16(w, h, 1)[:, :, 0]
    (OUT / "png_gray16_gamma.png").write_bytes(raw_png(w, h, 16, 0, [r.astype(">u2").tobytes() for r in gray16],
                                                       extra=[(b"gAMA", struct.pack(">I", 45455))]))
    # Broken files.
    good = (OUT / "png_rgb8.png").read_bytes()
    (OUT / "corrupt_truncated.png").write_bytes(good[: len(good) // 2])
    bad_crc = bytearray(good)
    bad_crc[8 + 8 + 13] ^= 0xFF  # first byte of IHDR's CRC
    (OUT / "corrupt_bad_crc.png").write_bytes(bytes(bad_crc))
    idat = good.index(b"IDAT")
    bad_data = bytearray(good)
    bad_data[idat + 10] ^= 0xFF  # inside the compressed data (IDAT's CRC fixed up, so zlib finds it)
    start = idat - 4
    length = struct.unpack(">I", bytes(bad_data[start:idat]))[0]
    crc = zlib.crc32(bytes(bad_data[idat:idat + 4 + length])) & 0xFFFFFFFF
    bad_data[idat + 4 + length:idat + 8 + length] = struct.pack(">I", crc)
    (OUT / "corrupt_idat_data.png").write_bytes(bytes(bad_data))
    (OUT / "corrupt_not_png.png").write_bytes(b"GIF89a this is not a PNG file at all")


def case(cases: list, name: str, array: np.ndarray, *, size: int, row_padding: int = 0, input_stem: str = "",
         **params) -> None:
    """Stores the input (16/8-bit PNG when it has no padding and fits PNG, else raw little-endian bytes) and the
    reference's expected output as an 8-bit gray PNG."""
    height, width = array.shape[:2]
    fmt = {3: "rgb8", 4: "rgba8"}[array.shape[2]] if array.ndim == 3 else {
        np.dtype(np.uint8): "gray8", np.dtype(np.uint16): "gray16", np.dtype(np.float32): "grayf32"}[array.dtype]
    expected = preprocess.equalized_image(array, size=size, **params)
    entry = dict(name=name, format=fmt, width=width, height=height, size=size,
                 bits_stored=params.get("bits_stored", 16), photometric=params.get("photometric", "MONOCHROME2"),
                 rescale_slope=params.get("rescale_slope", 1.0), rescale_intercept=params.get("rescale_intercept", 0.0),
                 window=list(params["window"]) if params.get("window") else None)
    stem = input_stem or name
    if fmt == "grayf32" or row_padding:
        rows = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).view(np.uint8).reshape(height, -1)
        if row_padding:
            garbage = np.random.default_rng(11).integers(0, 256, (height, row_padding), dtype=np.uint8)
            rows = np.concatenate([rows, garbage], axis=1)
        rows.tofile(OUT / f"{stem}.raw")
        entry.update(input=f"{stem}.raw", row_bytes=int(rows.shape[1]))
    else:
        mode = {"gray8": "L", "gray16": None, "rgb8": "RGB", "rgba8": "RGBA"}[fmt]
        if not (OUT / f"{stem}.png").exists() or not input_stem:
            (Image.fromarray(array, mode) if mode else Image.fromarray(array)).save(OUT / f"{stem}.png")
        entry.update(input=f"{stem}.png", row_bytes=None)
    Image.fromarray(expected, "L").save(OUT / f"{name}.expected.png")
    entry["expected"] = f"{name}.expected.png"
    cases.append(entry)


def intake_fixtures() -> list:
    import pydicom

    cases: list = []
    ds = pydicom.dcmread(DATA / "dicom" / "RG1_UNCR.dcm")
    rg1 = np.ascontiguousarray(ds.pixel_array[::8, ::8])  # 245 x 231 of the 1955 x 1841 original
    dicom = dict(bits_stored=int(ds.BitsStored), photometric=str(ds.PhotometricInterpretation),
                 window=(float(ds.WindowCenter), float(ds.WindowWidth)))
    case(cases, "rg1_uncr_stride8", rg1, size=256, **dicom)
    case(cases, "rg1_uncr_stride8_s64", rg1, size=64, input_stem="rg1_uncr_stride8", **dicom)
    no_window = {k: v for k, v in dicom.items() if k != "window"}
    case(cases, "rg1_uncr_stride8_nowindow_s96", rg1, size=96, input_stem="rg1_uncr_stride8", **no_window)

    hannover = np.asarray(Image.open(DATA / "hannover" / "006f3a8a.png"))
    case(cases, "hannover_006f3a8a_crop", np.ascontiguousarray(hannover[100:420, 150:450]), size=256)
    iu = np.asarray(Image.open(DATA / "iu" / "CXR3_IM-1384-1001.png"))
    case(cases, "iu_cxr3_crop_rgb", np.ascontiguousarray(iu[180:380, 60:300]), size=256)

    rng = np.random.default_rng(4)
    yy, xx = np.mgrid[0:40, 0:48]
    f32 = (np.sin(xx / 7.0) * 300 + yy * 11.5 - 90 + rng.standard_normal((40, 48)) * 20).astype(np.float32)
    case(cases, "made_f32_rescale_window", f32, size=32, rescale_slope=0.25, rescale_intercept=-7.5,
         window=(10.0, 150.0), photometric="MONOCHROME1")
    case(cases, "made_f32_range", f32, size=50, row_padding=8)
    rgba = rng.integers(0, 256, (21, 33, 4), dtype=np.uint8)
    case(cases, "made_rgba_padded", rgba, size=40, row_padding=3)
    g12 = ((xx * 80 + yy * 37) % 4096).astype(np.uint16) | (rng.integers(0, 16, (40, 48), dtype=np.uint16) << 12)
    case(cases, "made_gray16_bits12_garbage", g12, size=64, bits_stored=12)
    almost = np.full((16, 16), 200, np.uint8)
    almost[5, 9] = 201  # a constant image is refused; one pixel apart is the smallest image that is not
    case(cases, "made_gray8_one_pixel_differs", almost, size=16)
    return cases


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in list(OUT.glob("*.png")) + list(OUT.glob("*.raw")):
        old.unlink()
    png_fixtures()
    cases = intake_fixtures()
    (OUT / "cases.json").write_text(json.dumps(cases, indent=1) + "\n")
    print(f"wrote {len(cases)} intake cases and the PNG fixtures to {OUT}")


if __name__ == "__main__":
    main()
