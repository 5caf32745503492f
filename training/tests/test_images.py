"""cxrcaption_train.images: every DICOM transfer syntax decodes (fixtures/dicom/, PROVENANCE.md there), PNG
layouts read the way the library's PNG reader reads them, files are recognized by content, and every error
names the file and the reason."""
from __future__ import annotations

import copy
import os
import shutil
import struct
import zlib

import numpy as np
import pydicom
import pytest
from PIL import Image

from cxrcaption_ref import preprocess
from cxrcaption_train.images import ImageError, equalized_image, file_kind, read_image, view_position

from .data_fixtures import DICOM, R2GEN_IU

LOSSLESS_12BIT = ("explicit_le.dcm", "deflated.dcm", "rle_lossless.dcm", "jpeg_lossless_sv1.dcm",
                  "jpeg_ls_lossless.dcm", "jpeg2000_lossless.dcm", "multiframe.dcm")


def dicom(name: str) -> str:
    return os.path.join(DICOM, name)


@pytest.fixture(scope="module")
def stored12():
    """The 12-bit stored values every lossless fixture holds (read from the uncompressed file with pydicom's
    own reader, independently of images.py)."""
    return pydicom.dcmread(dicom("explicit_le.dcm")).pixel_array


@pytest.mark.parametrize("name", LOSSLESS_12BIT)
def test_lossless_syntaxes_decode_to_the_stored_values(name, stored12):
    pixels, keywords = read_image(dicom(name))
    syntax = pydicom.dcmread(dicom(name), stop_before_pixels=True).file_meta.TransferSyntaxUID
    assert pixels.dtype == np.uint16 and pixels.shape == (64, 64), syntax.name
    assert np.array_equal(pixels, stored12), f"{name} ({syntax.name}) does not decode to the stored values"
    assert keywords["bits_stored"] == 12 and keywords["photometric"] == "MONOCHROME2"
    assert keywords["window"] == ((2048.0, 4000.0) if name == "explicit_le.dcm" else None)


def test_each_transfer_syntax_is_covered():
    syntaxes = {pydicom.dcmread(dicom(n), stop_before_pixels=True).file_meta.TransferSyntaxUID.name
                for n in os.listdir(DICOM) if n.endswith(".dcm")}
    assert syntaxes == {
        "Explicit VR Little Endian", "Implicit VR Little Endian", "Deflated Explicit VR Little Endian",
        "RLE Lossless", "JPEG Baseline (Process 1)", "JPEG Lossless, Non-Hierarchical (Process 14)",
        "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
        "JPEG-LS Lossless Image Compression", "JPEG 2000 Image Compression (Lossless Only)",
        "JPEG 2000 Image Compression"}


def test_jpeg_lossless_16bit_and_jpeg_ls_8bit(stored12):
    pixels, keywords = read_image(dicom("jpeg_lossless_p14.dcm"))
    assert pixels.dtype == np.uint16 and keywords["bits_stored"] == 16
    assert np.array_equal(pixels >> 4, stored12)  # the 16-bit phantom the 12-bit values were cut from
    eight, keywords = read_image(dicom("jpeg_ls_lossless_8bit.dcm"))
    assert eight.dtype == np.uint8 and "bits_stored" not in keywords
    assert np.abs(eight.astype(int) - (pixels.astype(np.uint32) * 255 // 65535)).max() == 0


@pytest.mark.parametrize("name, mean, worst", [("jpeg_baseline.dcm", 0.015, 0.1),    # observed 0.006, 0.046
                                               ("jpeg2000_lossy.dcm", 0.05, 0.3)])  # observed 0.026, 0.17
def test_lossy_syntaxes_decode_close_to_the_original(name, mean, worst, stored12):
    """Errors as fractions of full scale; a wrong decode (another image, byte order, bit depth) is far off."""
    pixels, _ = read_image(dicom(name))
    full = 255 if pixels.dtype == np.uint8 else 4095
    error = np.abs(pixels.astype(np.float64) / full - stored12.astype(np.float64) / 4095)
    assert pixels.shape == (64, 64) and error.mean() < mean and error.max() < worst


def test_jpeg_extended_12bit_from_pydicoms_own_test_file():
    """No encoder for JPEG Extended here: pydicom's bundled JPGExtended.dcm (pinned pydicom) is decoded."""
    from pydicom.data import get_testdata_file
    path = get_testdata_file("JPGExtended.dcm")
    pixels, keywords = read_image(path)
    assert pydicom.dcmread(path, stop_before_pixels=True).file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.51"
    assert pixels.dtype == np.uint16 and keywords["bits_stored"] == 12 and pixels.shape == (1024, 256)
    assert 0 < int(pixels.max()) < 4096 and equalized_image(path, 32).shape == (32, 32)


def test_attribute_mapping_gives_the_same_image():
    """MONOCHROME1 with a rescale, and signed values with an intercept, store the same image as the
    unsigned MONOCHROME2 file: the mapping (cxrcaption.dicom) must make the model see the same bytes."""
    reference = equalized_image(dicom("rle_lossless.dcm"), 64)
    inverted, keywords = read_image(dicom("implicit_le_mono1.dcm"))
    assert keywords["photometric"] == "MONOCHROME1" and (keywords["rescale_slope"], keywords["rescale_intercept"]) \
        == (2.0, -100.0)
    assert np.array_equal(equalized_image(dicom("implicit_le_mono1.dcm"), 64), reference)
    signed, keywords = read_image(dicom("signed_rescaled.dcm"))
    assert signed.dtype == np.float32 and signed.min() < 0 and keywords["rescale_intercept"] == 2048.0
    assert np.array_equal(equalized_image(dicom("signed_rescaled.dcm"), 64), reference)
    # and the attributes matter: read as MONOCHROME2, the inverted file is another image
    as_mono2 = preprocess.equalized_image(inverted, bits_stored=12, size=64)
    assert np.corrcoef(as_mono2.ravel(), reference.ravel())[0, 1] < -0.9


def test_view_position():
    assert view_position(dicom("explicit_le.dcm")) == "PA"
    laterals = [p for p in _iu_files() if p.endswith("/1.dcm")]
    assert laterals and all(view_position(p) == "LL" for p in laterals)
    assert view_position(os.path.join(R2GEN_IU, "images", "CXR3638_IM-1804", "0.png")) is None


def _iu_files():
    root = os.path.join(R2GEN_IU, "images")
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)


def test_every_r2gen_fixture_image_reads():
    kinds = {}
    for path in _iu_files():
        pixels, keywords = read_image(path)
        kinds.setdefault(file_kind(path), set()).add((pixels.dtype.name, pixels.ndim))
        assert equalized_image(path, 64).shape == (64, 64)
    assert kinds == {"png": {("uint8", 2), ("uint16", 2), ("uint8", 3)}, "jpeg": {("uint8", 2)},
                     "dicom": {("uint16", 2), ("uint8", 2)}}


def test_files_are_recognized_by_content(tmp_path):
    """A DICOM named .png (or without a name ending) is read as DICOM, with its attributes: Pillow would
    open some as TIFF and lose MONOCHROME1 (the image would load inverted)."""
    source = next(p for p in _iu_files() if p.endswith("0.dcm") and
                  pydicom.dcmread(p, stop_before_pixels=True).PhotometricInterpretation == "MONOCHROME1")
    for name in ("misnamed.png", "no_extension"):
        target = tmp_path / name
        shutil.copy(source, target)
        assert file_kind(str(target)) == "dicom"
        pixels, keywords = read_image(str(target))
        assert keywords["photometric"] == "MONOCHROME1"
        assert np.array_equal(equalized_image(str(target), 64), equalized_image(source, 64))
    # without the 128-byte preamble and "DICM" a .dcm file is still tried as DICOM
    ds = pydicom.dcmread(dicom("explicit_le.dcm"))
    bare = tmp_path / "bare.dcm"
    ds.preamble = None
    pydicom.dcmwrite(bare, ds, enforce_file_format=False)
    with open(bare, "rb") as fh:
        assert fh.read(132)[128:] != b"DICM"
    assert np.array_equal(read_image(str(bare))[0], ds.pixel_array)


# ---------------------------------------------------------------------------------------------------- PNG

def write_png(path, rows: np.ndarray, width: int, bit_depth: int, color_type: int, palette=None,
              trns=None) -> None:
    """A PNG written by hand (Pillow cannot write 2/4-bit gray or 16-bit RGB): `rows` holds the packed
    sample bytes of each row (uint8, one row per array row)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + row.tobytes() for row in np.ascontiguousarray(rows, dtype=np.uint8))
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, rows.shape[0], bit_depth, color_type, 0, 0, 0))
    if palette is not None:
        body += chunk(b"PLTE", bytes(palette))
    if trns is not None:
        body += chunk(b"tRNS", bytes(trns))
    body += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n" + body)


@pytest.fixture(scope="module")
def gradient():
    y, x = np.mgrid[0:32, 0:48]
    return ((x * 5 + y * 3) % 256).astype(np.uint8)


def test_png_gray_layouts(tmp_path, gradient):
    Image.fromarray(gradient).save(tmp_path / "g8.png")
    pixels, keywords = read_image(str(tmp_path / "g8.png"))
    assert pixels.dtype == np.uint8 and np.array_equal(pixels, gradient) and keywords == {}
    g16 = gradient.astype(np.uint16) * 257 + 3
    Image.fromarray(g16).save(tmp_path / "g16.png")
    pixels, keywords = read_image(str(tmp_path / "g16.png"))
    assert pixels.dtype == np.uint16 and np.array_equal(pixels, g16) and keywords == {"bits_stored": 16}
    alpha = np.full_like(gradient, 7)
    Image.fromarray(np.stack([gradient, alpha], -1), "LA").save(tmp_path / "la.png")
    pixels, _ = read_image(str(tmp_path / "la.png"))
    assert np.array_equal(pixels, gradient)  # gray+alpha: the gray samples
    # 4-bit and 2-bit gray, scaled to 8 bits (v * 17, v * 85); 1-bit: 0 / 255
    four = (gradient % 16).astype(np.uint8)
    write_png(tmp_path / "g4.png", (four[:, 0::2] << 4) | four[:, 1::2], 48, 4, 0)
    assert np.array_equal(read_image(str(tmp_path / "g4.png"))[0], four * 17)
    two = (gradient % 4).astype(np.uint8)
    write_png(tmp_path / "g2.png", (two[:, 0::4] << 6) | (two[:, 1::4] << 4) | (two[:, 2::4] << 2) | two[:, 3::4],
              48, 2, 0)
    assert np.array_equal(read_image(str(tmp_path / "g2.png"))[0], two * 85)
    one = gradient > 127
    Image.fromarray(one).save(tmp_path / "g1.png")
    assert np.array_equal(read_image(str(tmp_path / "g1.png"))[0], one.astype(np.uint8) * 255)


def test_png_colour_and_palette_layouts(tmp_path, gradient):
    rgb = np.stack([gradient, 255 - gradient, gradient // 2], -1)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    pixels, _ = read_image(str(tmp_path / "rgb.png"))
    assert pixels.shape == (32, 48, 3) and np.array_equal(pixels, rgb)
    rgba = np.concatenate([rgb, np.full((32, 48, 1), 9, np.uint8)], -1)
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    assert np.array_equal(read_image(str(tmp_path / "rgba.png"))[0], rgba)
    # 16-bit RGB: the high byte of each sample (what Pillow and the library's PNG intake keep)
    rgb16 = rgb.astype(np.uint16) * 256 + 200
    write_png(tmp_path / "rgb16.png", rgb16.astype(">u2").reshape(32, -1).view(np.uint8), 48, 16, 2)
    assert np.array_equal(read_image(str(tmp_path / "rgb16.png"))[0], rgb)
    # palette: the colours, not the indices; with tRNS, RGBA (alpha ignored by the intake)
    palette = np.array([[i, 255 - i, (i * 7) % 256] for i in range(256)], np.uint8)
    indices = gradient
    write_png(tmp_path / "p.png", indices, 48, 8, 3, palette=palette.tobytes())
    pixels, _ = read_image(str(tmp_path / "p.png"))
    assert pixels.shape == (32, 48, 3) and np.array_equal(pixels, palette[indices])
    write_png(tmp_path / "pt.png", indices, 48, 8, 3, palette=palette.tobytes(), trns=[0, 128])
    pixels, _ = read_image(str(tmp_path / "pt.png"))
    assert pixels.shape == (32, 48, 4) and np.array_equal(pixels[:, :, :3], palette[indices])
    assert np.array_equal(equalized_image(str(tmp_path / "pt.png"), 16), equalized_image(str(tmp_path / "p.png"), 16))


# ---------------------------------------------------------------------------------------------------- errors

def _write(ds, path):
    ds.save_as(path, enforce_file_format=True)
    return str(path)


def test_errors_name_the_file_and_the_reason(tmp_path):
    with pytest.raises(ImageError, match=r"absent\.png: cannot open: No such file"):
        read_image(str(tmp_path / "absent.png"))
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(ImageError, match=r"notes\.txt: not an image Pillow can read"):
        read_image(str(text))
    with open(os.path.join(R2GEN_IU, "images", "CXR3638_IM-1804", "0.png"), "rb") as fh:
        data = fh.read()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match=r"cut\.png: cannot decode the PNG data"):
        read_image(str(tmp_path / "cut.png"))

    ds = pydicom.dcmread(dicom("jpeg_ls_lossless.dcm"))
    unknown = copy.deepcopy(ds)
    unknown.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.4.100"  # MPEG2: no decoder here
    with pytest.raises(ImageError, match=r"mpeg\.dcm: cannot decode the pixel data of transfer syntax "
                                         r"MPEG2 Main Profile / Main Level \(1\.2\.840\.10008\.1\.2\.4\.100\)"):
        read_image(_write(unknown, tmp_path / "mpeg.dcm"))
    corrupt = copy.deepcopy(ds)
    frame = next(pydicom.encaps.generate_frames(ds.PixelData, number_of_frames=1))
    corrupt.PixelData = pydicom.encaps.encapsulate([frame[:2] + b"\xff\xd9"])  # SOI, EOI: no frame header
    with pytest.raises(ImageError, match=r"corrupt\.dcm: cannot decode the pixel data of transfer syntax JPEG-LS "
                                         r"Lossless Image Compression"):
        read_image(_write(corrupt, tmp_path / "corrupt.dcm"))
    palette = pydicom.dcmread(dicom("explicit_le.dcm"))
    palette.PhotometricInterpretation = "PALETTE COLOR"
    palette.BitsStored, palette.HighBit = 16, 15
    with pytest.raises(ImageError, match=r"palette\.dcm: unsupported DICOM image \(PhotometricInterpretation "
                                         r"PALETTE COLOR, Explicit VR Little Endian.*PALETTE COLOR"):
        read_image(_write(palette, tmp_path / "palette.dcm"))
    empty = pydicom.dcmread(dicom("explicit_le.dcm"))
    del empty.PixelData
    with pytest.raises(ImageError, match=r"empty\.dcm: the DICOM dataset has no pixel data"):
        read_image(_write(empty, tmp_path / "empty.dcm"))
    short = pydicom.dcmread(dicom("explicit_le.dcm"))
    short.PixelData = short.PixelData[:100]
    with pytest.raises(ImageError, match=r"short\.dcm: cannot decode the pixel data of transfer syntax Explicit "
                                         r"VR Little Endian"):
        read_image(_write(short, tmp_path / "short.dcm"))
    tiny = Image.fromarray(np.zeros((8, 8), np.uint8))
    tiny.save(tmp_path / "tiny.png")
    with pytest.raises(ImageError, match=r"tiny\.png: image width 8 is outside 16\.\.\.16384"):
        equalized_image(str(tmp_path / "tiny.png"), 64)
