"""The shared mapping: what the trainer sees of an image file is byte for byte what the library sees.

For every DICOM, JPEG and PNG fixture (training/tests/fixtures, Tests/integrations/fixtures, pydicom's own
JPGExtended.dcm, and ../shared/data/real-cxr when present), `images.equalized_image(path, S)` must equal
the library's intake of the same file through the Python package: `cxrcaption.Model(golden model)
.session().preprocess(pixels, **keywords)` with `pixels, keywords = cxrcaption.dicom.dicom_image(dcmread(path))`
for DICOM and `numpy.asarray(PIL.Image.open(path))` for PNG/JPEG (the package's documented inputs). The library
preprocesses at its model's input size only (the golden test model: 64), so S = 64 there. PNGs are also
compared with the library's own PNG reader (libpng, `cxrcaption-cli preprocess`) at 64 and 256 when
CXRCAPTION_CLI names a built CLI.

The library is found through CXRCAPTION_LIBRARY (a built libcxrcaption.so: `swift build --product cxrcaption`);
without it these tests skip, unless CXR_REQUIRE_LIBRARY=1 (CI), where they fail.
"""
from __future__ import annotations

import glob
import os
import subprocess

import numpy as np
import pydicom
import pytest
from PIL import Image

from cxrcaption_ref.checkout import shared_data
from cxrcaption_train.images import equalized_image, file_kind

from .data_fixtures import FIXTURES, repository_path


def _require(variable: str, what: str, *, required_in_ci: bool = True) -> str:
    value = os.environ.get(variable, "")
    if value and os.path.exists(value):
        return value
    message = f"{variable} is {'unset' if not value else f'{value!r}, which does not exist'} ({what})"
    if required_in_ci and os.environ.get("CXR_REQUIRE_LIBRARY") == "1":
        pytest.fail(message + "; CXR_REQUIRE_LIBRARY=1 requires it")
    pytest.skip(message)


def image_files() -> list[str]:
    """Every PNG, JPEG and DICOM the shared-mapping test covers, in a fixed order."""
    found = [os.path.join(d, f) for d, _, fs in os.walk(FIXTURES) for f in fs
             if os.path.splitext(f)[1].lower() in (".png", ".jpg", ".jpeg", ".dcm")]
    integrations = repository_path("Tests", "integrations", "fixtures")
    if integrations and os.path.isdir(integrations):
        found += glob.glob(os.path.join(integrations, "*.dcm"))
    from pydicom.data import get_testdata_file
    found.append(get_testdata_file("JPGExtended.dcm"))
    real = shared_data()
    if real is not None and os.path.isdir(real / "real-cxr"):
        found += [p for p in glob.glob(str(real / "real-cxr" / "*" / "*"))
                  if os.path.splitext(p)[1].lower() in (".png", ".jpg", ".dcm")]
    return sorted(found)


@pytest.fixture(scope="module")
def session():
    _require("CXRCAPTION_LIBRARY", "a built libcxrcaption.so")
    import cxrcaption
    model_path = repository_path("Tests", "CXRKitTests", "Fixtures", "golden", "model.safetensors")
    if model_path is None or not os.path.isfile(model_path):
        pytest.skip("the golden test model is not in this checkout")
    with cxrcaption.Model(model_path) as model, model.session() as s:
        yield s


def library_input(path: str):
    """(pixels, keywords) the way a user of the Python package hands this file to the library."""
    if file_kind(path) == "dicom":
        from cxrcaption.dicom import dicom_image
        return dicom_image(pydicom.dcmread(path))
    with Image.open(path) as im:
        return np.asarray(im), {}


def test_the_covered_files():
    files = image_files()
    kinds = {file_kind(p) for p in files}
    assert kinds == {"png", "jpeg", "dicom"}
    assert sum(file_kind(p) == "dicom" for p in files) >= 20


def test_trainer_sees_what_the_library_sees(session):
    size = session.model.info.input_size
    assert size == 64
    mismatched = []
    for path in image_files():
        pixels, keywords = library_input(path)
        library = session.preprocess(pixels, **keywords)
        trainer = equalized_image(path, size)
        if not np.array_equal(trainer, library):
            mismatched.append(f"{path}: {int((trainer != library).sum())} of {trainer.size} pixels differ")
    assert not mismatched, "\n".join(mismatched)


def test_png_files_match_the_librarys_png_reader(tmp_path):
    """libpng's decoding (the CLI) against Pillow's (the trainer) at 256 (the default input size; the golden
    model's 64 is covered above): every Pillow mode among the fixtures' PNGs, the real PNGs, and the layouts
    the fixtures lack. One CLI process per file (about 0.1 s each), so not every fixture PNG."""
    cli = _require("CXRCAPTION_CLI", "a built cxrcaption-cli, for the PNG reader comparison",
                   required_in_ci=False)
    pngs, modes = [], {}
    for path in image_files():
        if file_kind(path) != "png":
            continue
        with Image.open(path) as im:
            mode = im.mode
        if "real-cxr" in path or modes.get(mode, 0) < 2:
            modes[mode] = modes.get(mode, 0) + 1
            pngs.append(path)
    # plus the layouts the fixtures do not have: palette (with and without transparency), gray+alpha, 4-bit
    from .test_images import write_png
    y, x = np.mgrid[0:40, 0:48]
    gradient = ((x * 5 + y * 3) % 256).astype(np.uint8)
    palette = np.array([[i, 255 - i, (i * 7) % 256] for i in range(256)], np.uint8).tobytes()
    write_png(tmp_path / "palette.png", gradient, 48, 8, 3, palette=palette)
    write_png(tmp_path / "palette_trns.png", gradient, 48, 8, 3, palette=palette, trns=[0, 128])
    four = gradient % 16
    write_png(tmp_path / "gray4.png", (four[:, 0::2] << 4) | four[:, 1::2], 48, 4, 0)
    Image.fromarray(np.stack([gradient, 255 - gradient], -1), "LA").save(tmp_path / "gray_alpha.png")
    pngs += sorted(str(p) for p in tmp_path.glob("*.png"))
    mismatched = []
    size = 256
    for path in pngs:
        out = tmp_path / "out.raw"
        subprocess.run([cli, "preprocess", path, "-o", str(out), "--size", str(size)], check=True,
                       capture_output=True)
        library = np.fromfile(out, dtype=np.uint8).reshape(size, size)
        if not np.array_equal(equalized_image(path, size), library):
            mismatched.append(path)
    assert {"L", "I;16", "RGB"} <= set(modes) and not mismatched, "\n".join(mismatched)


# --- One DICOM mapping, four implementations -------------------------------------------------------------

def dicom_files() -> list[str]:
    """Every DICOM fixture: those above, and the CLI reader tests' (Tests/CXRKitTests/Fixtures/readers),
    refused ones included (then every implementation must refuse)."""
    files = [p for p in image_files() if file_kind(p) == "dicom"]
    readers = repository_path("Tests", "CXRKitTests", "Fixtures", "readers")
    if readers and os.path.isdir(readers):
        files += glob.glob(os.path.join(readers, "*.dcm"))
    return sorted(files)


@pytest.fixture(scope="module")
def dicom_caption(tmp_path_factory):
    """examples/cpp/dicom_caption.cpp (include/cxrcaption_dcmtk.hpp, with OpenJPEG) built against the library."""
    library = _require("CXRCAPTION_LIBRARY", "a built libcxrcaption.so")
    root = repository_path()
    work = tmp_path_factory.mktemp("dicom_caption")
    # The library's SONAME is libcxrcaption.so.<ABI - 1>: the program looks for that name in its rpath.
    for name in ("libcxrcaption.so", "libcxrcaption.so.0"):
        os.symlink(os.path.abspath(library), work / name)
    compiler = os.environ.get("CXX", "c++")
    command = [compiler, "-std=c++17", "-O1", "-DCXRCAPTION_DCMTK_OPENJPEG", "-I", os.path.join(root, "include"),
               os.path.join(root, "examples", "cpp", "dicom_caption.cpp"), "-o", str(work / "dicom_caption"),
               f"-L{work}", "-lcxrcaption", f"-Wl,-rpath,{work}",
               "-ldcmjpls", "-ldcmjpeg", "-ldcmdata", "-loflog", "-lofstd", "-lopenjp2"]
    try:
        openjpeg = subprocess.run(["pkg-config", "--cflags", "libopenjp2"], capture_output=True, text=True)
        command[4:4] = openjpeg.stdout.split()
        built = subprocess.run(command, capture_output=True, text=True)
    except FileNotFoundError as error:  # no compiler or pkg-config
        built = None
        reason = str(error)
    if built is None or built.returncode != 0:
        message = f"cannot build dicom_caption: {reason if built is None else built.stderr[-2000:]}"
        if os.environ.get("CXR_REQUIRE_LIBRARY") == "1":
            pytest.fail(message + " (CXR_REQUIRE_LIBRARY=1 requires it)")
        pytest.skip(message)
    return str(work / "dicom_caption")


def twelve_bit_lossy_jpeg(path: str) -> bool:
    from cxrcaption.dicom import LIBJPEG_SYNTAXES
    dataset = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    syntax = str(getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", ""))
    return syntax in LIBJPEG_SYNTAXES and str(dataset.get("BitsAllocated", "")) != "8"


def test_every_dicom_reader_gives_the_library_the_same_image(session, dicom_caption, tmp_path):
    """docs/INTAKE.md's DICOM mapping is implemented four times: cxrcaption.dicom (pydicom; the Python package
    reading a path), the trainer (cxrcaption_train.images: the same mapping, then the numpy intake),
    `cxrcaption-cli preprocess` (Sources/CDICOM: DCMTK through cxrcaption_dcmtk.hpp, then the Swift intake)
    and a C++ program on include/cxrcaption_dcmtk.hpp (examples/cpp/dicom_caption.cpp, then cxr_preprocess).
    On every DICOM fixture all four give the same model input, byte for byte, or all four refuse the file; the
    one documented exception is 12-bit lossy JPEG (pydicom's JPGExtended.dcm), which pydicom decodes with
    pylibjpeg: there the DCMTK pair and the pydicom pair are each equal, and the two pairs within 5 levels on
    at most 5% of the pixels."""
    cli = _require("CXRCAPTION_CLI", "a built cxrcaption-cli")
    model = repository_path("Tests", "CXRKitTests", "Fixtures", "golden", "model.safetensors")
    size = session.model.info.input_size
    import cxrcaption
    from cxrcaption_train.images import ImageError

    def outcome(read) -> object:
        try:
            return np.asarray(read(), dtype=np.uint8).reshape(size, size).tobytes()
        except (cxrcaption.CXRError, ValueError, ImageError, RuntimeError) as error:
            return ("refused", str(error))

    def run(command: list[str], output) -> np.ndarray:
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip())
        return output()

    def pgm(path) -> np.ndarray:
        data = open(path, "rb").read()
        header = f"P5\n{size} {size}\n255\n".encode()
        assert data.startswith(header), data[:20]
        return np.frombuffer(data[len(header):], np.uint8)

    problems, accepted, refused = [], 0, 0
    for path in dicom_files():
        raw, picture = tmp_path / "cli.raw", tmp_path / "cpp.pgm"
        for stale in (raw, picture):
            stale.unlink(missing_ok=True)
        results = {
            "python": outcome(lambda: session.preprocess(path)),
            "trainer": outcome(lambda: equalized_image(path, size)),
            "cli": outcome(lambda: run([cli, "preprocess", path, "--model", model, "-o", str(raw)],
                                       lambda: np.fromfile(raw, np.uint8))),
            "c++": outcome(lambda: run([dicom_caption, model, path, "--beam", "1", "--model-input", str(picture)],
                                       lambda: pgm(picture))),
        }
        kinds = {name: isinstance(value, bytes) for name, value in results.items()}
        if all(kinds.values()) and twelve_bit_lossy_jpeg(path):
            # docs/INTAKE.md, "Decoding": pydicom has no 12-bit lossy JPEG decoder that decodes as DCMTK's
            # libjpeg does, so each side is equal within itself and the two sides nearly equal.
            accepted += 1
            python, dcmtk = (np.frombuffer(results[n], np.uint8).astype(int) for n in ("python", "cli"))
            if results["python"] != results["trainer"] or results["cli"] != results["c++"] or \
                    np.abs(python - dcmtk).max() > 5 or (python != dcmtk).mean() > 0.05:
                problems.append(f"{path} (12-bit lossy JPEG): python == trainer "
                                f"{results['python'] == results['trainer']}, cli == c++ "
                                f"{results['cli'] == results['c++']}, python vs cli: "
                                f"{int((python != dcmtk).sum())} pixels, at most {np.abs(python - dcmtk).max()} levels")
        elif all(kinds.values()):
            accepted += 1
            if len(set(results.values())) != 1:
                reference = np.frombuffer(results["python"], np.uint8)
                problems.append(f"{path}: pixels that differ from python's: " + ", ".join(
                    f"{name} {int((np.frombuffer(value, np.uint8) != reference).sum())}"
                    for name, value in results.items() if name != "python"))
        elif not any(kinds.values()):
            refused += 1
        else:
            problems.append(f"{path}: accepted by {[n for n, k in kinds.items() if k]}, refused by " +
                            "; ".join(f"{n}: {v[1]}" for n, v in results.items() if not kinds[n]))
    assert not problems, "\n".join(problems)
    assert accepted >= 20 and refused >= 3, (accepted, refused)
