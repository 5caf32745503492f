"""Image files -> the pixels and attributes of the intake pipeline, the way the library takes them.

The trainer must see exactly the image a deployed model sees. The library's intake (docs/INTAKE.md) takes
pixels plus a few attributes (bits stored, photometric interpretation, rescale, VOI window); how a file
becomes those is defined once per file type, and this module uses those definitions, not new ones:

- PNG: as the library's PNG reader (libpng, ``cxrcaption-cli preprocess``) and ``numpy.asarray`` of Pillow
  see it: 8-bit gray as is, 16-bit gray as uint16 with 16 bits stored, gray+alpha as its gray samples,
  RGB / RGBA as uint8 colour (the intake's luma, alpha ignored), 16-bit colour with the high byte of each
  sample, palette images expanded to RGB (RGBA with transparency) as Pillow's ``convert`` does, 1/2/4-bit
  gray scaled to 8 bits.
- JPEG: Pillow's decoding (8-bit gray or RGB; CMYK converted to RGB by Pillow).
- DICOM: pydicom reads the file and decodes the pixel data with the installed plugins (uncompressed,
  deflated, RLE, JPEG baseline / extended / lossless, JPEG-LS, JPEG 2000); the attributes are mapped by
  :func:`cxrcaption.dicom.dicom_image`, the one mapping the library's Python users run, and only translated
  here to :func:`cxrcaption_ref.preprocess.equalized_image`'s keyword names.

File types are recognized by their content (PNG and JPEG signatures, DICOM's "DICM" preamble), not by
their extension: a DICOM without one, or one that Pillow would open as TIFF, is still read as DICOM.
Every error is an :class:`ImageError` naming the file and the reason.
"""
from __future__ import annotations

import os
from typing import Any

import numpy as np

from cxrcaption_ref import preprocess

from .records import normalize_view

__all__ = ["ImageError", "file_kind", "read_image", "view_position", "equalized_image"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"


class ImageError(ValueError):
    """An image file that cannot be read or that the intake cannot take; the message names the file."""


def file_kind(path: str) -> str:
    """"png", "jpeg", "dicom" or "other", from the file's first bytes (DICOM: "DICM" after the 128-byte
    preamble; files without the preamble are "dicom" when their name ends in .dcm/.dicom)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(132)
    except OSError as exc:
        raise ImageError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    if head.startswith(_PNG_SIGNATURE):
        return "png"
    if head.startswith(_JPEG_SIGNATURE):
        return "jpeg"
    if head[128:132] == b"DICM":
        return "dicom"
    if os.path.splitext(path)[1].lower() in (".dcm", ".dicom"):
        return "dicom"
    return "other"


def _has_dicm_prefix(path: str) -> bool:
    with open(path, "rb") as fh:
        return fh.read(132)[128:132] == b"DICM"


# ---------------------------------------------------------------------------------------------------- Pillow

def _pillow_pixels(path: str, kind: str) -> tuple[np.ndarray, dict[str, Any]]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("I;16", "I;16L", "I;16B", "I;16N"):
                array = np.asarray(im).astype(np.uint16)
                return array, {"bits_stored": 16}
            if mode == "I":
                # Pillow opens some 16-bit gray PNGs as 32-bit "I"; the samples are the file's 16-bit values.
                array = np.asarray(im)
                if array.size and (array.min() < 0 or array.max() > 65535):
                    raise ImageError(f"{path}: 32-bit integer samples outside 0...65535 are not supported")
                return array.astype(np.uint16), {"bits_stored": 16}
            if mode == "L":
                return np.asarray(im, dtype=np.uint8), {}
            if mode == "LA":
                return np.asarray(im, dtype=np.uint8)[:, :, 0].copy(), {}  # the gray samples; alpha ignored
            if mode == "1":
                return np.asarray(im.convert("L"), dtype=np.uint8), {}  # 0 / 255
            if mode in ("RGB", "RGBA"):
                return np.asarray(im, dtype=np.uint8), {}
            if mode in ("P", "PA"):
                # Palette: the colours, not the indices (libpng's expansion), RGBA when there is transparency.
                has_alpha = mode == "PA" or "transparency" in im.info
                return np.asarray(im.convert("RGBA" if has_alpha else "RGB"), dtype=np.uint8), {}
            if mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa", "La"):
                return np.asarray(im.convert("RGB"), dtype=np.uint8), {}
            raise ImageError(f"{path}: {kind.upper()} mode {mode!r} is not supported (8/16-bit gray, RGB, RGBA, "
                             "palette)")
    except ImageError:
        raise
    except UnidentifiedImageError as exc:
        raise ImageError(f"{path}: not an image Pillow can read ({kind}): {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: cannot decode the {kind.upper()} data: {exc}") from exc


# ---------------------------------------------------------------------------------------------------- DICOM

def _dicom_pixels(path: str) -> tuple[np.ndarray, dict[str, Any]]:
    import pydicom
    from pydicom.errors import InvalidDicomError
    from cxrcaption.dicom import decoded_pixels, dicom_image

    try:
        # force: a .dcm file without the 128-byte preamble and "DICM" (written by some exporters)
        dataset = pydicom.dcmread(path, force=not _has_dicm_prefix(path))
    except InvalidDicomError as exc:
        raise ImageError(f"{path}: not a DICOM file: {exc}") from exc
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise ImageError(f"{path}: cannot parse the DICOM file: {exc}") from exc
    if "PixelData" not in dataset and "FloatPixelData" not in dataset and "DoubleFloatPixelData" not in dataset:
        raise ImageError(f"{path}: the DICOM dataset has no pixel data (SOP class "
                         f"{getattr(dataset.get('SOPClassUID'), 'name', dataset.get('SOPClassUID'))})")
    syntax = getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", None)
    syntax_name = f"{syntax.name} ({syntax})" if syntax is not None else "an unknown transfer syntax"
    photometric = str(dataset.get("PhotometricInterpretation", "")).strip()
    try:
        # Decoded here first (pydicom caches the array; dicom_image reuses it) so that a decoding failure
        # is told apart from a layout the mapping refuses; with the mapping's decoder choice (lossy JPEG).
        decoded_pixels(dataset)
    except (NotImplementedError, RuntimeError, ImportError, ValueError, OSError, EOFError) as exc:
        # pydicom: no installed decoder handles this syntax, the decoder failed, or the data is short.
        raise ImageError(f"{path}: cannot decode the pixel data of transfer syntax {syntax_name}: {exc}") from exc
    except (AttributeError, KeyError, TypeError) as exc:
        raise ImageError(f"{path}: the DICOM image attributes are incomplete or invalid ({syntax_name}): "
                         f"{exc!r}") from exc
    try:
        pixels, keywords = dicom_image(dataset)
    except ValueError as exc:
        # cxrcaption.dicom: a layout the library does not take; its message names the attribute.
        raise ImageError(f"{path}: unsupported DICOM image (PhotometricInterpretation {photometric or '?'}, "
                         f"{syntax_name}): {exc}") from exc
    except (AttributeError, KeyError, TypeError) as exc:
        raise ImageError(f"{path}: the DICOM image attributes are incomplete or invalid ({syntax_name}): "
                         f"{exc!r}") from exc
    return np.asarray(pixels), _intake_keywords(keywords)


def _intake_keywords(image: dict[str, Any]) -> dict[str, Any]:
    """cxrcaption's image keywords (Session.generate / preprocess) -> equalized_image's keywords."""
    from cxrcaption import Photometric

    out: dict[str, Any] = {}
    for key, value in image.items():
        if key == "photometric":
            out["photometric"] = Photometric(value).name  # "MONOCHROME1" / "MONOCHROME2"
        elif key == "rescale":
            out["rescale_slope"], out["rescale_intercept"] = float(value[0]), float(value[1])
        elif key == "window":
            out["window"] = None if value is None else (float(value[0]), float(value[1]))
        elif key == "bits_stored":
            out["bits_stored"] = int(value)
        else:
            raise ImageError(f"cxrcaption.dicom.dicom_image returned the image keyword {key!r}, which this "
                             "trainer does not know how to pass to the intake")
    return out


# ---------------------------------------------------------------------------------------------------- public

def read_image(path: str) -> tuple[np.ndarray, dict[str, Any]]:
    """(pixels, keywords) of an image file, ready for ``preprocess.equalized_image(pixels, size=S,
    **keywords)``: the keywords are among ``bits_stored``, ``photometric``, ``rescale_slope``,
    ``rescale_intercept`` and ``window``. PNG, JPEG (Pillow) and DICOM (pydicom + cxrcaption.dicom); other
    files Pillow can open (TIFF, BMP, ...) are read like PNGs. Raises :class:`ImageError`."""
    path = os.fspath(path)
    kind = file_kind(path)
    if kind == "dicom":
        return _dicom_pixels(path)
    return _pillow_pixels(path, kind if kind != "other" else "image")


def view_position(path: str) -> str | None:
    """The DICOM ViewPosition of an image file, normalized as the records store views ("PA", "AP",
    "LATERAL", "LL", ...); None for PNG/JPEG files and DICOMs that leave it blank."""
    path = os.fspath(path)
    if file_kind(path) != "dicom":
        return None
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        dataset = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["ViewPosition"], force=True)
    except (InvalidDicomError, OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise ImageError(f"{path}: cannot parse the DICOM file: {exc}") from exc
    return normalize_view(dataset.get("ViewPosition"))


def equalized_image(path: str, size: int) -> np.ndarray:
    """The size x size uint8 equalized image the model sees for an image file: intake version 1
    (:func:`cxrcaption_ref.preprocess.equalized_image`, bit-equal to the library's). Raises
    :class:`ImageError` naming the file for unreadable files and for images the intake refuses."""
    pixels, keywords = read_image(path)
    try:
        return preprocess.equalized_image(pixels, size=size, **keywords)
    except preprocess.IntakeError as exc:
        raise ImageError(f"{path}: {exc}") from exc
