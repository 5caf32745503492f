"""What Session.generate / preprocess / findings accept (python/src/cxrcaption/_image.py): the conversion rules of
PIL images, paths and arrays, the decoded-image bound, the messages of what is refused, and the guarantee that the
library is never handed a buffer shorter than its description."""
import io
import math
import os
import pathlib
import struct
import warnings
import zlib

import numpy as np
import pydicom
import pytest
from PIL import Image, ImageFile

import cxrcaption
from cxrcaption import (MAX_IMAGE_PIXELS, CXRError, ImageTooLargeError, Photometric, PixelFormat, Status,
                        read_image)
from cxrcaption._image import describe
from cxrcaption.dicom import dicom_image
from comparisons import run_python, same

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
READERS = os.path.join(ROOT, "Tests", "CXRKitTests", "Fixtures", "readers")
REAL = os.path.join(ROOT, "..", "shared", "data", "real-cxr")
BYTES_PER_PIXEL = {PixelFormat.GRAY8: 1, PixelFormat.GRAY16: 2, PixelFormat.GRAYF32: 4, PixelFormat.RGB8: 3,
                   PixelFormat.RGBA8: 4}


@pytest.fixture(scope="module")
def small(gray):
    """A 128 x 96 gray image with structure (a crop of the NIH fixture): quick to caption."""
    return np.ascontiguousarray(gray[100:196, 200:328])


def byte_bounds(array):
    bounds = getattr(np.lib, "array_utils", np).byte_bounds
    return bounds(array)


def assert_within(image, owner):
    """The memory the library reads for `image` lies inside `owner` (a numpy array)."""
    pixel_bytes = BYTES_PER_PIXEL[PixelFormat(image.format)]
    step = image.row_bytes or image.width * pixel_bytes
    needed = (image.height - 1) * step + image.width * pixel_bytes
    low, high = byte_bounds(owner)
    assert low <= image.pixels and image.pixels + needed <= high, (image.pixels, needed, low, high)


# --- 1. The library never reads outside Python-owned memory -------------------------------------------------

@pytest.mark.parametrize("keywords, words", [
    ({"row_bytes": 10**6}, "row_bytes 1000000 was passed with a numpy array of dtype uint8 and shape (20, 20), whose "
                           "rows are 20 bytes apart"),
    ({"row_bytes": 21}, "row_bytes 21 was passed"),
    ({"format": PixelFormat.GRAYF32}, "format GRAYF32 was passed with a numpy array of dtype uint8 and shape (20, 20), "
                                      "whose format is GRAY8"),
    ({"format": "rgb8"}, "format RGB8 was passed"),
    ({"format": 9}, "format 9 was passed"),
    ({"width": 1000}, "width 1000 was passed"),
    ({"height": 21}, "height 21 was passed"),
])
def test_keywords_cannot_make_an_array_look_larger(session, keywords, words):
    with pytest.raises(ValueError) as caught:
        session.generate(np.zeros((20, 20), np.uint8), **keywords)
    assert words in str(caught.value)
    with pytest.raises(ValueError):
        session.preprocess(np.zeros((20, 20), np.uint8), **keywords)
    with pytest.raises(ValueError):
        session.findings(np.zeros((20, 20), np.uint8), **keywords)


def test_keywords_that_repeat_the_array_are_accepted(session, small):
    described = dict(width=small.shape[1], height=small.shape[0], format=PixelFormat.GRAY8, row_bytes=small.shape[1])
    assert same(session.generate(small), session.generate(small, **described))
    assert same(session.generate(small), session.generate(small, row_bytes=0))


@pytest.mark.parametrize("keywords, error, words", [
    (dict(width=20, height=20, format=PixelFormat.GRAY8, row_bytes=10**6), ValueError,
     "400 bytes of pixels, but width 20, height 20, format GRAY8, row_bytes 1000000 need 19000020"),
    (dict(width=20, height=20, format="GRAYF32"), ValueError, "need 1600"),
    (dict(width=20, height=21, format=PixelFormat.GRAY8), ValueError, "need 420"),
    (dict(width=2**32 + 20, height=20, format=PixelFormat.GRAY8), ValueError, "width 4294967316 is out of range"),
    (dict(width=20, height=2**31, format=PixelFormat.GRAY8), ValueError, "height 2147483648 is out of range"),
    (dict(width=20, height=20, format=PixelFormat.GRAY8, row_bytes=-1), ValueError, "row_bytes -1 is out of range"),
    (dict(width=20, height=20, format=PixelFormat.GRAY8, row_bytes=2**64), ValueError, "row_bytes 18446744073709551616"),
    (dict(width=20, height=20, format=2**32 + 1), ValueError, "format 4294967297 is out of range"),
    (dict(width=20.0, height=20, format=PixelFormat.GRAY8), TypeError, "width must be an integer, not a float"),
    (dict(width=20, height=20, format="GREY8"), ValueError, "format 'GREY8' is not a PixelFormat"),
    (dict(width=20, height=20), ValueError, "400 bytes of raw pixels need width, height and format"),
])
def test_bytes_must_hold_their_description(session, keywords, error, words):
    with pytest.raises(error) as caught:
        session.generate(bytes(400), **keywords)
    assert words in str(caught.value)


def test_every_accepted_description_fits_its_buffer(model):
    """describe() over many arrays, views and byte strings: whenever it returns, the span the library reads
    ((height - 1) x row_bytes + width x bytes per pixel from `pixels`) lies inside the memory it owns."""
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (40, 52, 4), dtype=np.uint8)
    arrays = [base[:, :, 0], base[:, :, :3], base, base[::2, :, 0], base[3:, 5:, :3], base[:, ::-1, 0],
              base[::-1], base.transpose(1, 0, 2), np.asfortranarray(base[:, :, 0]), base[:, :, 0].astype(">u2"),
              base[:, :, 0].astype(np.float64), base[None, :, :, 0], base[:, :, :1],
              np.broadcast_to(base[0, :, 0], (30, 52))]
    accepted = 0
    for array in arrays:
        image, owner = describe(array)
        assert_within(image, owner)
        accepted += 1
    data = bytes(base.tobytes())
    for width in (0, 1, 16, 52, 53, 1000):
        for height in (0, 1, 16, 40, 41):
            for pixel_format in PixelFormat:
                for row_bytes in (None, 0, 1, width * BYTES_PER_PIXEL[pixel_format], 52 * 4, 10**6):
                    try:
                        image, owner = describe(data, width=width, height=height, format=pixel_format,
                                                row_bytes=row_bytes)
                    except ValueError:
                        continue
                    accepted += 1
                    if width >= 1 and height >= 1:
                        assert_within(image, owner)
    assert accepted > 100


def test_out_of_bounds_descriptions_raise_without_calling_the_library(session):
    """The cases that read past the array before: now a ValueError, and the session is untouched."""
    previous = session.generate(np.tile(np.arange(32, dtype=np.uint8) * 8, (32, 1)))
    for call in (lambda: session.generate(np.zeros((20, 20), np.uint8), row_bytes=10**6),
                 lambda: session.generate(np.zeros((20, 20), np.uint8), format=PixelFormat.GRAYF32),
                 lambda: session.generate(np.zeros((20, 20, 3), np.uint8), format=PixelFormat.RGBA8),
                 lambda: session.generate(bytes(400), width=20, height=20, format=PixelFormat.GRAY16)):
        with pytest.raises(ValueError):
            call()
        assert session.result_count() == len(previous)  # the library was not called


# --- 2. Arrays: float64, channels first, shapes, dtypes ------------------------------------------------------

def test_float64_is_converted_to_float32(session, small):
    values = small.astype(np.float64) * 3.25 - 100.0
    assert same(session.generate(values), session.generate(values.astype(np.float32)))
    assert np.array_equal(session.preprocess(values), session.preprocess(values.astype(np.float32)))
    # Rounded to the nearest float32, not refused: 0.1 is not a float32.
    assert same(session.generate(values + 0.1), session.generate((values + 0.1).astype(np.float32)))
    assert same(session.generate(values.astype(np.float16)), session.generate(values.astype(np.float16)
                                                                                 .astype(np.float32)))
    assert np.array_equal(read_image(values)[0], values.astype(np.float32))


@pytest.mark.parametrize("bad, words", [
    (float("nan"), "float64 pixel (5, 3) is nan"),
    (float("inf"), "float64 pixel (5, 3) is inf"),
    (-float("inf"), "float64 pixel (5, 3) is -inf"),
    (1e39, "float64 pixel (5, 3) = 1e+39 is beyond float32's range"),
    (-3.5e38, "float64 pixel (5, 3) = -3.5e+38 is beyond float32's range"),
])
def test_float64_outside_float32_names_the_first_bad_pixel(session, small, bad, words):
    values = small.astype(np.float64)
    values[3, 5] = bad
    values[10, 2] = bad  # later in row-major order: not the one named
    with pytest.raises(ValueError) as caught:
        session.generate(values)
    assert words in str(caught.value) and "converted to float32" in str(caught.value)


def test_float64_at_the_edge_of_float32_is_accepted(session, small):
    values = small.astype(np.float64)
    values[0, 0] = float(np.finfo(np.float32).max)
    assert same(session.generate(values), session.generate(values.astype(np.float32)))


def test_channel_axes(session, small, rgb):
    reference = session.generate(small)
    assert same(reference, session.generate(small[None]))          # 1 x H x W
    assert same(reference, session.generate(small[:, :, None]))    # H x W x 1
    assert same(session.generate(small.astype(np.float32)), session.generate(small.astype(np.float64)[None]))
    assert same(session.generate(rgb), session.generate(np.moveaxis(np.moveaxis(rgb, -1, 0), 0, -1)))


@pytest.mark.parametrize("shape, hint", [
    ((3, 96, 128), "; a channels-first colour image is np.moveaxis(a, 0, -1) (H x W x 3)"),
    ((96, 128, 2), ""),
    ((1, 1, 96, 128), ""),
    ((96 * 128,), ""),
    ((), ""),
])
def test_other_shapes_are_refused_naming_the_shape(session, shape, hint):
    with pytest.raises(ValueError) as caught:
        session.generate(np.zeros(shape, np.uint8))
    assert str(caught.value) == (f"pixels: a numpy array of shape {shape} (dtype uint8) is not an image: pass H x W "
                                 f"(gray), H x W x 3 (RGB), H x W x 4 (RGBA), H x W x 1 or 1 x H x W{hint}")


@pytest.mark.parametrize("array, words", [
    (np.zeros((20, 20), np.int16), "dtype int16 and shape (20, 20); pixels are uint8 (gray, RGB, RGBA), uint16 "
                                   "(gray) or float (gray); signed integers and uint32/uint64: convert to float32"),
    (np.zeros((20, 20), bool), "dtype bool and shape (20, 20)"),
    (np.zeros((20, 20), object), "dtype object and shape (20, 20)"),
    (np.zeros((20, 20, 3), np.uint16), "dtype uint16 and shape (20, 20, 3); pixels are uint8 (gray, RGB, RGBA), "
                                       "uint16 (gray) or float (gray); colour pixels are uint8"),
    (np.zeros((20, 20, 3), np.float64), "float pixels are gray (H x W) only"),
])
def test_unsupported_arrays_name_their_dtype(session, array, words):
    with pytest.raises(ValueError) as caught:
        session.generate(array)
    assert words in str(caught.value)


def test_a_copy_of_a_huge_view_is_refused_before_it_is_made(session):
    view = np.broadcast_to(np.zeros(1, np.uint8), (16, 2**31))  # 32 GiB if it were copied
    with pytest.raises(ValueError, match="has a side above 16384 pixels .* it is not copied"):
        session.generate(view)


# --- 2. PIL images ------------------------------------------------------------------------------------------

def _modes(gray, rgb):
    """(mode, PIL image of that mode, the array the package must hand the library for it)."""
    g, c = gray[:160, :192], rgb[:160, :192]
    alpha = np.tile(np.linspace(0, 255, 192).astype(np.uint8), (160, 1))
    as_l = Image.fromarray(g)
    as_rgb = Image.fromarray(c)
    cases = [("L", as_l, g), ("RGB", as_rgb, c),
             ("RGBA", Image.fromarray(np.dstack([c, alpha])), np.dstack([c, alpha])),
             ("F", Image.fromarray(g.astype(np.float32) * 0.5), g.astype(np.float32) * 0.5),
             ("I;16", Image.fromarray(g.astype(np.uint16) * 200), g.astype(np.uint16) * 200),
             ("I;16B", Image.frombytes("I;16B", (192, 160), (g.astype(np.uint16) * 200).astype(">u2").tobytes()),
              g.astype(np.uint16) * 200),
             ("I", Image.fromarray(g.astype(np.int32) * 100), (g.astype(np.int32) * 100).astype(np.uint16)),
             ("I", Image.fromarray(g.astype(np.int32) * 1000 - 70000),
              (g.astype(np.int32) * 1000 - 70000).astype(np.float32))]
    one = Image.fromarray(g > 100)
    cases.append(("1", one, np.asarray(one.convert("L"))))
    la = Image.fromarray(np.dstack([g, alpha]), mode=None)
    cases.append(("LA", la, np.asarray(la.convert("L"))))
    premultiplied = la.convert("La")
    cases.append(("La", premultiplied, np.asarray(premultiplied.convert("LA").convert("L"))))
    palette = as_rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=48)
    cases.append(("P", palette, np.asarray(palette.convert("RGB"))))
    with_alpha = Image.fromarray(np.dstack([c, alpha])).convert("PA")
    cases.append(("PA", with_alpha, np.asarray(with_alpha.convert("RGB"))))
    for mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"):
        converted = as_rgb.convert(mode)
        cases.append((mode, converted, np.asarray(converted.convert("RGB"))))
    return cases


def test_pil_modes_are_converted_as_pillow_converts_them(session, gray, rgb):
    seen = set()
    for mode, image, expected in _modes(gray, rgb):
        assert image.mode == mode
        seen.add(mode)
        assert same(session.generate(image), session.generate(expected)), mode
        assert np.array_equal(read_image(image)[0], expected.astype(read_image(image)[0].dtype)), mode
    assert seen >= {"1", "L", "LA", "La", "P", "PA", "I", "I;16", "I;16B", "F", "RGB", "RGBA", "CMYK", "YCbCr",
                    "LAB", "HSV"}


def test_pil_image_of_mode_i_picks_uint16_or_float32(gray):
    assert read_image(Image.fromarray(gray.astype(np.int32)))[0].dtype == np.uint16
    assert read_image(Image.fromarray(gray.astype(np.int32) + 65535 - 255))[0].dtype == np.uint16
    assert read_image(Image.fromarray(gray.astype(np.int32) + 65536 - 255))[0].dtype == np.float32
    assert read_image(Image.fromarray(gray.astype(np.int32) - 1))[0].dtype == np.float32


def test_palette_png_gives_the_caption_of_its_colours_not_its_indices(session, rgb, tmp_path):
    palette = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    path = tmp_path / "palette.png"
    palette.save(path)
    with Image.open(path) as opened:
        assert opened.mode == "P"
        colours = np.asarray(opened.convert("RGB"))
        indices = np.asarray(opened)
        from_pil = session.generate(opened)
    assert same(from_pil, session.generate(colours))
    assert same(from_pil, session.generate(path)) and same(from_pil, session.generate(str(path)))
    assert not np.array_equal(session.preprocess(path), session.preprocess(indices))


def test_pil_and_numpy_give_identical_results(session, gray, rgb):
    for array in (gray, rgb):
        assert same(session.generate(Image.fromarray(array)), session.generate(array))
        assert np.array_equal(session.preprocess(Image.fromarray(array)), session.preprocess(array))
        assert session.findings(Image.fromarray(array)) == session.findings(array)


# --- 2. Paths -----------------------------------------------------------------------------------------------

def test_png_and_jpeg_paths_equal_their_arrays(session, fixtures, tmp_path):
    for name in ("nih_txv_00000001_000.png", "iu_CXR3_IM-1384-1001.png"):
        path = os.path.join(fixtures, name)
        with Image.open(path) as image:
            array = np.asarray(image)
            jpeg = tmp_path / (name + ".jpg")
            image.convert("RGB" if image.mode != "L" else "L").save(jpeg, quality=90)
        assert same(session.generate(path), session.generate(array))
        assert same(session.generate(pathlib.Path(path)), session.generate(array))
        with Image.open(jpeg) as image:
            assert same(session.generate(jpeg), session.generate(np.asarray(image)))
        assert np.array_equal(read_image(path)[0], array) and read_image(path)[1] == {}


def _dicom_paths():
    folders = [os.path.join(ROOT, "Tests", "integrations", "fixtures"), READERS]
    return sorted(os.path.join(folder, name) for folder in folders if os.path.isdir(folder)
                  for name in os.listdir(folder) if name.endswith(".dcm") and not name.startswith("refused_"))


@pytest.mark.parametrize("path", _dicom_paths(), ids=os.path.basename)
def test_dicom_paths_equal_dicom_image(session, path):
    pixels, keywords = dicom_image(pydicom.dcmread(path))
    assert same(session.generate(path), session.generate(pixels, **keywords))
    array, found = read_image(path)
    assert np.array_equal(array, pixels) and found == keywords
    assert np.array_equal(session.preprocess(path, use_window=False),
                          session.preprocess(*dicom_image(pydicom.dcmread(path), use_window=False)[:1],
                                             **dicom_image(pydicom.dcmread(path), use_window=False)[1]))


@pytest.mark.parametrize("name, words", [("refused_palette.dcm", "PALETTE COLOR"),
                                         ("refused_short_pixel_data.dcm", "less than expected"),
                                         ("refused_no_bits_stored.dcm", "Bits Stored")])
def test_refused_dicom_paths_raise_value_error_naming_the_file(session, name, words):
    with pytest.raises(ValueError) as caught:
        session.generate(os.path.join(READERS, name))
    assert name in str(caught.value) and words in str(caught.value)


def test_dicom_keywords_passed_replace_the_files(session, dicom_fixtures):
    path = os.path.join(dicom_fixtures, "rg1_small.dcm")
    pixels, keywords = dicom_image(pydicom.dcmread(path))
    assert keywords["window"] is not None and keywords["photometric"] == Photometric.MONOCHROME1
    as_file = session.preprocess(path)
    assert np.array_equal(session.preprocess(path, use_window=False),
                          session.preprocess(pixels, **dict(keywords, window=None)))
    assert np.array_equal(session.preprocess(path, photometric="MONOCHROME2"),
                          session.preprocess(pixels, **dict(keywords, photometric=Photometric.MONOCHROME2)))
    assert np.array_equal(session.preprocess(path, window=(9000, 8000)),
                          session.preprocess(pixels, **dict(keywords, window=(9000, 8000))))
    assert np.array_equal(session.preprocess(path, bits_stored=16), session.preprocess(pixels, **dict(
        keywords, bits_stored=16)))
    assert not np.array_equal(as_file, session.preprocess(path, use_window=False))
    with pytest.raises(ValueError, match="window and use_window=False were both passed"):
        session.preprocess(path, window=(1, 2), use_window=False)
    with pytest.raises(CXRError) as caught:
        session.generate(path, rescale=(0, 0))
    assert caught.value.status == Status.INVALID_IMAGE and "rescale_slope is 0" in caught.value.message


def test_kind_is_read_from_content_first(session, fixtures, dicom_fixtures, tmp_path):
    png = os.path.join(fixtures, "nih_txv_00000001_000.png")
    disguised = tmp_path / "looks_like.dcm"
    disguised.write_bytes(open(png, "rb").read())
    assert same(session.generate(disguised), session.generate(png))
    dicom = tmp_path / "no_extension"
    dicom.write_bytes(open(os.path.join(dicom_fixtures, "rg1_small.dcm"), "rb").read())
    assert same(session.generate(dicom), session.generate(os.path.join(dicom_fixtures, "rg1_small.dcm")))
    # A DICOM file without the preamble and "DICM" is recognised by its extension.
    dataset = pydicom.dcmread(os.path.join(dicom_fixtures, "rg1_small.dcm"))
    bare = tmp_path / "bare.dcm"
    dataset.save_as(bare, enforce_file_format=False)  # pydicom 3 writes no preamble when asked not to enforce
    raw = bare.read_bytes()
    if raw[128:132] == b"DICM":
        bare.write_bytes(raw[132:])
    assert same(session.generate(bare), session.generate(dicom))


def test_unreadable_paths(session, tmp_path, fixtures):
    with pytest.raises(FileNotFoundError):
        session.generate(tmp_path / "missing.png")
    with pytest.raises(IsADirectoryError):
        session.generate(tmp_path)
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    with pytest.raises(ValueError, match=r"notes.txt: not a PNG, JPEG or DICOM file \(it starts with b'not an i'\); "
                                         r"open other formats with PIL.Image.open"):
        session.generate(text)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(open(os.path.join(fixtures, "nih_txv_00000001_000.png"), "rb").read()[:5000])
    with pytest.raises(ValueError, match="truncated.png: cannot decode the PNG data"):
        session.generate(truncated)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(ValueError, match="broken.png: not a PNG file Pillow can read"):
        session.generate(broken)
    not_dicom = tmp_path / "hello.dcm"
    not_dicom.write_bytes(b"hello")
    with pytest.raises(ValueError, match="hello.dcm"):
        session.generate(not_dicom)


def test_real_files_read_from_paths_equal_their_arrays(session):
    if not os.path.isdir(REAL):
        pytest.skip(f"{REAL} is absent (the shared data folder is not next to the repository)")
    count = 0
    for folder in sorted(os.listdir(REAL)):
        for name in sorted(os.listdir(os.path.join(REAL, folder))):
            path = os.path.join(REAL, folder, name)
            if name.endswith(".dcm"):
                pixels, keywords = dicom_image(pydicom.dcmread(path))
            elif name.endswith((".png", ".jpg")):
                with Image.open(path) as image:
                    pixels, keywords = np.asarray(image), {}
            else:
                continue
            assert np.array_equal(session.preprocess(path), session.preprocess(pixels, **keywords)), path
            count += 1
    assert count >= 20


# --- 2. Keywords and errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["MONOCHROME1", "monochrome1", " Monochrome1 ", Photometric.MONOCHROME1, 1])
def test_photometric_strings(session, small, value):
    assert np.array_equal(session.preprocess(small, photometric=value),
                          session.preprocess(small, photometric=Photometric.MONOCHROME1))
    assert not np.array_equal(session.preprocess(small, photometric=value), session.preprocess(small))
    assert np.array_equal(session.preprocess(small, photometric="monochrome2"), session.preprocess(small))


@pytest.mark.parametrize("call, error, words", [
    (lambda s, a: s.generate([[1, 2], [3, 4]]), TypeError,
     "pixels: a list is not an image; pass a numpy array, a PIL image, a path or bytes (with width, height and "
     "format)"),
    (lambda s, a: s.generate(None), TypeError, "pixels: None is not an image"),
    (lambda s, a: s.generate(3), TypeError, "pixels: an int is not an image"),
    (lambda s, a: s.generate(np.float64(3)), TypeError, "pixels: a float64 is not an image"),
    (lambda s, a: s.generate(b"\x89PNG\r\n\x1a\n" + bytes(100)), ValueError,
     "108 bytes of raw pixels need width, height and format (row_bytes optional) (these bytes are an encoded file: "
     "pass its path"),
    (lambda s, a: s.generate(a, photometric="MONOCHROME3"), ValueError,
     "photometric 'MONOCHROME3' is neither 'MONOCHROME1' nor 'MONOCHROME2'"),
    (lambda s, a: s.generate(a, photometric=1.0), TypeError, "photometric must be an integer, not a float"),
    (lambda s, a: s.generate(a, rescale="ab"), TypeError, "rescale must be a pair (slope, intercept), not a str"),
    (lambda s, a: s.generate(a, rescale=(1, 2, 3)), ValueError, "rescale must be a pair (slope, intercept), not 3 values"),
    (lambda s, a: s.generate(a, rescale=(10**400, 0)), ValueError, "rescale slope 1000000000000"),
    (lambda s, a: s.generate(a, window=("a", 3)), TypeError, "window center must be a real number, not a str"),
    (lambda s, a: s.generate(a, window=5), TypeError, "window must be a pair (center, width), not an int"),
    (lambda s, a: s.generate(a, bits_stored=8.0), TypeError, "bits_stored must be an integer, not a float"),
    (lambda s, a: s.generate(a, use_window="no"), TypeError, "use_window must be True or False, not a str"),
    (lambda s, a: s.generate(a, beam_width="3"), TypeError, "beam_width must be an integer, not a str"),
    (lambda s, a: s.generate(a, beam_width=True), TypeError, "beam_width must be an integer, not the bool True"),
    (lambda s, a: s.generate(a, beam_width=2**40), ValueError, "beam_width 1099511627776 is out of range"),
    (lambda s, a: s.generate(a, max_tokens=-2**31 - 1), ValueError, "max_tokens -2147483649 is out of range"),
    (lambda s, a: s.generate(a, length_penalty=10**400), ValueError, "length_penalty 1000000000"),
    (lambda s, a: s.generate(a, length_penalty="1"), TypeError, "length_penalty must be a real number, not a str"),
    (lambda s, a: s.generate(a, should_abort=5), TypeError, "should_abort must be a callable or None, not int"),
    (lambda s, a: s.findings(a, n_threads=2**31), ValueError, "n_threads 2147483648 is out of range"),
    (lambda s, a: s.generate(a, max_pixels=0), ValueError, "max_pixels 0 is out of range"),
    (lambda s, a: s.generate(a, max_pixels=1e9), TypeError, "max_pixels must be an integer, not a float"),
])
def test_errors_name_what_was_passed(session, small, call, error, words):
    with pytest.raises(error) as caught:
        call(session, small)
    assert words in str(caught.value)
    assert type(caught.value) is error  # not a subclass (CXRError is neither)


@pytest.mark.parametrize("call, status, words", [
    (lambda s, a: s.generate(a, rescale=(0, 0)), Status.INVALID_IMAGE, "image rescale_slope is 0"),
    (lambda s, a: s.preprocess(a, rescale=(0.0, 5.0)), Status.INVALID_IMAGE, "image rescale_slope is 0"),
    (lambda s, a: s.findings(a, rescale=(0, 1)), Status.INVALID_IMAGE, "image rescale_slope is 0"),
    (lambda s, a: s.generate(a, rescale=(float("nan"), 0)), Status.INVALID_IMAGE, "rescale_slope nan"),
    (lambda s, a: s.generate(a, window=(float("nan"), 100)), Status.INVALID_IMAGE, "window_center"),
    (lambda s, a: s.generate(a, photometric=7), Status.INVALID_IMAGE, "photometric 7"),
    (lambda s, a: s.generate(np.zeros((64, 64), np.float32)), Status.INVALID_IMAGE, "constant"),
    (lambda s, a: s.generate(a, window=(-10**6, 10)), Status.INVALID_IMAGE, "constant"),
])
def test_library_refusals_pass_its_message_through(session, small, call, status, words):
    with pytest.raises(CXRError) as caught:
        call(session, small)
    assert caught.value.status == status and words in caught.value.message
    assert caught.value.message == cxrcaption.last_error()


def test_result_words_are_the_token_strings(session, model, small):
    results = session.generate(small, beam_width=4)
    assert results and any(r.words for r in results)
    for r in results:
        assert r.words == [model.token(t) for t in r.tokens]
        assert all(isinstance(w, str) for w in r.words) and len(r.words) == len(r.tokens)
        assert " ".join(r.words).replace(" ,", ",").replace(" .", ".") == r.text
        assert math.isfinite(r.log_prob) and r.log_prob <= 0


# --- 3. Decoded-image bound ---------------------------------------------------------------------------------

def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def claimed_png(width, height):
    """A PNG of a few hundred bytes whose header says width x height 8-bit gray (its data would not decode)."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(1000)))
            + _chunk(b"IEND", b""))


@pytest.fixture
def no_decoding(monkeypatch):
    """Pillow's and pydicom's pixel decoding fail the test if reached."""
    def refuse(*args, **kwargs):
        raise AssertionError("pixels were decoded")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(pydicom.Dataset, "pixel_array", property(refuse))


def test_huge_png_is_refused_before_decoding(session, tmp_path, no_decoding):
    path = tmp_path / "huge.png"
    path.write_bytes(claimed_png(16384, 16384))
    with pytest.raises(ImageTooLargeError) as caught:
        session.generate(path)
    assert str(caught.value) == (f"{path}: image is 16384 x 16384 = 268,435,456 pixels, more than the limit of "
                                 "89,478,485; pass max_pixels=268435456 (or max_pixels=None for no limit) to raise it")
    assert isinstance(caught.value, ValueError)
    for call in (session.preprocess, session.findings, read_image):
        with pytest.raises(ImageTooLargeError):
            call(path)
    with pytest.raises(ImageTooLargeError, match="more than the limit of 268,435,455"):
        session.generate(path, max_pixels=16384 * 16384 - 1)


def test_raising_max_pixels_lets_the_image_through(session, tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(claimed_png(16384, 16384))
    for limit in (None, 16384 * 16384):  # past the check: its data is then found not to decode
        with pytest.raises(ValueError, match="cannot decode the PNG data") as caught:
            session.generate(path, max_pixels=limit)
        assert not isinstance(caught.value, ImageTooLargeError)


def test_max_pixels_on_a_real_image(session, small, tmp_path):
    path = tmp_path / "small.png"
    Image.fromarray(small).save(path)
    pixels = small.shape[0] * small.shape[1]
    with pytest.raises(ImageTooLargeError, match=f"image is 128 x 96 = {pixels:,} pixels, more than the limit of "
                                                 f"{pixels - 1:,}"):
        session.generate(path, max_pixels=pixels - 1)
    assert same(session.generate(path, max_pixels=pixels), session.generate(small))
    with pytest.raises(ImageTooLargeError, match="pixels: image is 128 x 96"):
        session.generate(Image.fromarray(small), max_pixels=pixels - 1)
    assert same(session.generate(Image.fromarray(small), max_pixels=pixels), session.generate(small))
    # Arrays and bytes are the caller's memory already: not bounded.
    assert same(session.generate(small, max_pixels=1), session.generate(small))


def test_a_pil_image_the_caller_opened_is_refused_before_loading(session, tmp_path, no_decoding):
    path = tmp_path / "big.png"
    path.write_bytes(claimed_png(10000, 9000))  # above MAX_IMAGE_PIXELS: Pillow itself only warns
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as image:
            with pytest.raises(ImageTooLargeError, match="pixels: image is 10000 x 9000 = 90,000,000 pixels, more "
                                                         "than the limit of 89,478,485"):
                session.generate(image)
    assert MAX_IMAGE_PIXELS == Image.MAX_IMAGE_PIXELS == 89_478_485


def _claimed_dicom(path, rows, columns, frames=1):
    ds = pydicom.Dataset()
    ds.file_meta = pydicom.dataset.FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = pydicom.uid.SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid(entropy_srcs=[str(path)])
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = rows, columns, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    if frames != 1:
        ds.NumberOfFrames = frames
    ds.PixelData = bytes(64)  # far less than it claims
    ds.save_as(path, enforce_file_format=True)
    return path


def test_huge_dicom_is_refused_from_its_header(session, tmp_path, no_decoding):
    path = _claimed_dicom(tmp_path / "huge.dcm", 16384, 16384)
    with pytest.raises(ImageTooLargeError) as caught:
        session.generate(path)
    assert str(caught.value) == (f"{path}: image is 16384 x 16384 = 268,435,456 pixels, more than the limit of "
                                 "89,478,485; pass max_pixels=268435456 (or max_pixels=None for no limit) to raise it")
    frames = _claimed_dicom(tmp_path / "frames.dcm", 1024, 1024, 100)
    with pytest.raises(ImageTooLargeError, match="image is 1024 x 1024 x 100 frames = 104,857,600 pixels"):
        session.generate(frames)
    with pytest.raises(ImageTooLargeError, match="image is 16384 x 16384"):
        dicom_image(pydicom.dcmread(path), max_pixels=MAX_IMAGE_PIXELS)


def test_raising_max_pixels_lets_the_dicom_through(session, tmp_path):
    path = _claimed_dicom(tmp_path / "huge.dcm", 16384, 16384)
    with pytest.raises(ValueError, match="less than expected") as caught:  # pydicom, after the check
        session.generate(path, max_pixels=None)
    assert not isinstance(caught.value, ImageTooLargeError)


# --- Optional dependencies ----------------------------------------------------------------------------------

def test_without_pillow_and_pydicom(model_path, fixtures, dicom_fixtures):
    code = """
import sys
sys.modules["PIL"] = None      # as if Pillow were not installed
sys.modules["pydicom"] = None  # ... nor pydicom
import numpy as np
import cxrcaption
with cxrcaption.Model(sys.argv[1]) as model, model.session() as session:
    pixels = (np.add.outer(np.arange(64), np.arange(80)) % 97).astype(np.uint8)
    print("array", len(session.generate(pixels)) >= 1)
    for path in sys.argv[2:]:
        try:
            session.generate(path)
        except ImportError as error:
            print("ImportError", error)
"""
    out = run_python(code, model_path, os.path.join(fixtures, "nih_txv_00000001_000.png"),
                     os.path.join(dicom_fixtures, "rg1_small.dcm"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "array True",
        "ImportError reading a PNG file needs Pillow: pip install 'cxrcaption[images]' (or pip install pillow)",
        "ImportError reading a DICOM file needs pydicom: pip install 'cxrcaption[dicom]' (or pip install pydicom)"]


def test_importing_the_package_imports_neither(model_path):
    code = """
import sys
import numpy as np
import cxrcaption
with cxrcaption.Model(sys.argv[1]) as model, model.session() as session:
    session.generate((np.add.outer(np.arange(64), np.arange(80)) % 97).astype(np.uint8))
print(sorted(m for m in ("PIL", "PIL.Image", "pydicom") if m in sys.modules))
"""
    out = run_python(code, model_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
