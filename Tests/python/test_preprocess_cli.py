"""`cxrcaption-cli preprocess` on DICOM, JPEG and PNG files against the Python definitions, byte for byte.

For every DICOM fixture (Tests/integrations/fixtures, Tests/CXRKitTests/Fixtures/readers; PROVENANCE.md in
each) the CLI's output at the model's input size (`--model`: the golden model, input 64) must equal
python's `cxrcaption.dicom.dicom_image` (pydicom) followed by the numpy intake
(training/cxrcaption_ref/preprocess.py, loaded by path as scripts/intake_parity.py does); every JPEG must
equal Pillow's decode through the same numpy intake. Files both sides refuse must be refused with a message.

Needs: pytest, numpy, Pillow, pydicom; the CLI binary (env CXRCAPTION_CLI, else `swift build --show-bin-path`).

    python -m pytest Tests/python/test_preprocess_cli.py -v
"""
import importlib.util
import json
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from cli_support import run_cli

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "CXRKitTests" / "Fixtures"
MODEL = FIXTURES / "golden" / "model.safetensors"
READERS = FIXTURES / "readers"
INTAKE = FIXTURES / "intake"
DICOMS = REPO / "Tests" / "integrations" / "fixtures"

sys.path.insert(0, str(REPO / "python" / "src"))
from cxrcaption.dicom import dicom_image  # noqa: E402  (pure Python; needs no library for this)

_spec = importlib.util.spec_from_file_location("cxrcaption_preprocess",
                                               REPO / "training" / "cxrcaption_ref" / "preprocess.py")
pp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pp)


def model_input_size(path=MODEL):
    data = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    return json.loads(json.loads(data[8:8 + length])["__metadata__"]["config"])["input_size"]


SIZE = model_input_size()
DICOM_FILES = sorted(DICOMS.glob("*.dcm")) + sorted(p for p in READERS.glob("*.dcm") if not p.name.startswith("refused_"))
JPEG_FILES = sorted(p for p in READERS.glob("*.jpg") if not p.name.startswith("refused_"))


def python_dicom(path, size=SIZE, use_window=True, **overrides):
    """The reference: dicom_image on pydicom's dataset, then the numpy intake."""
    import pydicom
    pixels, keywords = dicom_image(pydicom.dcmread(path), use_window=use_window)
    slope, intercept = keywords.get("rescale", (1.0, 0.0))
    params = dict(bits_stored=keywords.get("bits_stored", 16),
                  photometric="MONOCHROME1" if int(keywords.get("photometric", 0)) == 1 else "MONOCHROME2",
                  rescale_slope=slope, rescale_intercept=intercept, window=keywords.get("window"), size=size)
    params.update(overrides)
    return pp.equalized_image(pixels, **params)


def cli(path, tmp_path, *args):
    out = tmp_path / "out.raw"
    if out.exists():
        out.unlink()
    done = run_cli("preprocess", path, "-o", out, *args)
    assert done.returncode == 0, done.stderr
    return np.fromfile(out, dtype=np.uint8)


def assert_same(expected, actual, what):
    expected = expected.ravel()
    assert actual.shape == expected.shape, what
    differ = int((actual != expected).sum())
    assert differ == 0, f"{what}: {differ} of {expected.size} bytes differ"


def test_the_fixtures_cover_the_mapping():
    assert len(DICOM_FILES) >= 10 and len(JPEG_FILES) >= 3
    cases = json.loads((READERS / "cases.json").read_text())
    formats = {c["format"] for c in cases if c["kind"] == "DICOM"}
    assert formats == {"gray8", "gray16", "grayf32", "rgb8"}


@pytest.mark.parametrize("path", DICOM_FILES, ids=[p.name for p in DICOM_FILES])
def test_dicom_equals_python_dicom_image_and_numpy_intake(path, tmp_path):
    assert_same(python_dicom(path), cli(path, tmp_path, "--model", MODEL), path.name)
    assert_same(python_dicom(path, use_window=False), cli(path, tmp_path, "--model", MODEL, "--no-window"),
                path.name + " --no-window")


@pytest.mark.parametrize("path", JPEG_FILES, ids=[p.name for p in JPEG_FILES])
def test_jpeg_equals_pillow_and_numpy_intake(path, tmp_path):
    with Image.open(path) as image:
        pixels = np.asarray(image)
    assert_same(pp.equalized_image(pixels, size=SIZE), cli(path, tmp_path, "--model", MODEL), path.name)
    assert_same(pp.equalized_image(pixels, size=100), cli(path, tmp_path, "--size", 100), path.name + " size 100")


def test_options_replace_what_the_dicom_file_says(tmp_path):
    path = DICOMS / "rg1_small.dcm"  # MONOCHROME1, 15 bits, window 15000/30000
    assert_same(python_dicom(path, window=(9000.0, 12000.0)),
                cli(path, tmp_path, "--model", MODEL, "--window=9000,12000"), "--window")
    assert_same(python_dicom(path, rescale_slope=2.0, rescale_intercept=-100.0),
                cli(path, tmp_path, "--model", MODEL, "--rescale=2,-100"), "--rescale")
    assert_same(python_dicom(path, bits_stored=12), cli(path, tmp_path, "--model", MODEL, "--bits-stored", 12),
                "--bits-stored")
    gray = READERS / "rle_mono16.dcm"  # MONOCHROME2
    assert_same(python_dicom(gray, photometric="MONOCHROME1"),
                cli(gray, tmp_path, "--model", MODEL, "--monochrome1"), "--monochrome1")


def test_model_sets_the_size(tmp_path):
    path = DICOMS / "rg1_small.dcm"
    assert cli(path, tmp_path, "--model", MODEL).size == SIZE * SIZE
    assert cli(path, tmp_path, "--model", MODEL, "--size", SIZE).size == SIZE * SIZE
    assert cli(path, tmp_path).size == 256 * 256  # without --model: 256
    done = run_cli("preprocess", path, "--model", MODEL, "--size", 32, "-o", tmp_path / "x.png")
    assert done.returncode != 0 and f"--size 32 differs from the input size {SIZE}" in done.stderr
    done = run_cli("preprocess", path, "--model", tmp_path / "absent.safetensors", "-o", tmp_path / "x.png")
    assert done.returncode != 0 and "absent.safetensors" in done.stderr
    done = run_cli("preprocess", path, "--window=1,2", "--no-window", "-o", tmp_path / "x.png")
    assert done.returncode != 0 and "exclude each other" in done.stderr


@pytest.mark.parametrize("name, message", [
    ("refused_palette.dcm", "PALETTE COLOR"),
    ("refused_short_pixel_data.dcm", "PixelData holds 1000 bytes"),
    ("refused_no_bits_stored.dcm", "no BitsStored (0028,0101) attribute"),
    ("refused_cmyk.jpg", "CMYK"),
])
def test_refused_files_are_refused_by_both(name, message, tmp_path):
    done = run_cli("preprocess", READERS / name, "--model", MODEL, "-o", tmp_path / "x.png")
    assert done.returncode != 0 and message in done.stderr, done.stderr
    if name.endswith(".dcm"):
        import pydicom
        with pytest.raises((ValueError, AttributeError)):
            dicom_image(pydicom.dcmread(READERS / name))


def test_jpeg_2000_needs_no_gdcmconv(tmp_path):
    """DCMTK alone cannot decode JPEG 2000; the CLI decodes it with OpenJPEG, as pydicom does with Pillow."""
    path = DICOMS / "rg1_thumb_jpeg2000.dcm"
    assert_same(python_dicom(path), cli(path, tmp_path, "--model", MODEL), path.name)
