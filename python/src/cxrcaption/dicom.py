"""DICOM datasets (pydicom) -> the pixels and image keywords of Session.generate / preprocess / findings.

    import pydicom, cxrcaption
    from cxrcaption.dicom import dicom_image
    pixels, image = dicom_image(pydicom.dcmread("chest.dcm"))
    results = session.generate(pixels, **image)

(``session.generate("chest.dcm")`` does the same: a path is read with pydicom and this module.)

The library gets the *stored* values (pixel_array: no modality LUT, no VOI, no inversion applied) with the
attributes that give them meaning, and does the rest itself (docs/INTAKE.md, "DICOM"), exactly as the C++
header include/cxrcaption_dcmtk.hpp does for the DCMTK example and the CLI:
- PhotometricInterpretation MONOCHROME1 / MONOCHROME2 -> photometric; RGB (pydicom turns YBR into RGB) ->
  uint8 H x W x 3;
- BitsStored -> bits_stored for unsigned 16-bit data;
- PixelRepresentation 1 (signed) -> the values as float32 (exact up to 24 bits);
- RescaleSlope / RescaleIntercept -> rescale (default 1, 0; a slope of 0 is read as 1, as pydicom does);
- the first WindowCenter / WindowWidth -> window, if the width is > 1 (else no window);
- multi-frame data: the first frame;
- lossy JPEG (baseline, extended) decoded by Pillow (libjpeg-turbo), as DCMTK's libjpeg decodes it: pydicom
  would otherwise take pylibjpeg-libjpeg first when it is installed, which differs on some pixels
  (decoded_pixels).
This module does not import pydicom: it reads any object with pydicom's Dataset interface.
"""

from typing import Any, Dict, Optional, Tuple

import numpy as np

from ._capi import Photometric
from ._image import check_pixel_count, max_pixels_limit


def _first(value: Any) -> Any:
    """The first value of a DICOM multi-valued attribute (or the value itself)."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return value[0] if len(value) else None
    return value


def dicom_window(dataset: Any) -> Optional[Tuple[float, float]]:
    """(center, width) of the first VOI window of `dataset`, or None when it has none, or when the center or
    the width is not finite, or the width is <= 1."""
    center, width = _first(dataset.get("WindowCenter")), _first(dataset.get("WindowWidth"))
    if center is None or width is None:
        return None
    center, width = float(center), float(width)
    if not (np.isfinite(center) and np.isfinite(width) and width > 1):
        return None
    return center, width


#: Lossy JPEG transfer syntaxes (baseline 8-bit, extended 12-bit): the decoder's IDCT and upsampling shape the
#: pixels, so the mapping names one. DCMTK (the C++ header, the CLI) decodes them with the IJG libjpeg; Pillow's
#: libjpeg-turbo (accurate integer IDCT, fancy upsampling) gives the same pixels. Lossless syntaxes and JPEG
#: 2000 (OpenJPEG everywhere) decode alike with any of pydicom's plugins.
LIBJPEG_SYNTAXES = frozenset({"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"})


def decoded_pixels(dataset: Any) -> np.ndarray:
    """dataset.pixel_array, with 8-bit lossy JPEG decoded by pydicom's Pillow plugin when Pillow is installed
    (the pixels DCMTK decodes; without Pillow, and for 12-bit JPEG, which Pillow cannot decode, pydicom's own
    choice, which may differ from DCMTK's by a level on some pixels). Call it, not pixel_array, before dicom_image when you need the array first: pydicom keeps the first
    decoding it made."""
    syntax = str(getattr(getattr(dataset, "file_meta", None), "TransferSyntaxUID", ""))
    choose = getattr(dataset, "pixel_array_options", None)
    eight_bit = str(dataset.get("BitsAllocated", "")) == "8"  # Pillow decodes 8-bit JPEG only
    if syntax in LIBJPEG_SYNTAXES and eight_bit and choose is not None and _pillow_available():
        choose(decoding_plugin="pillow")
    return dataset.pixel_array


def _pillow_available() -> bool:
    try:
        import PIL  # noqa: F401
    except ImportError:
        return False
    return True


def dicom_pixel_count(dataset: Any) -> Tuple[int, int, int]:
    """(Columns, Rows, frames) from the header alone (NumberOfFrames absent, empty or 0 is 1), to bound the
    memory of pixel_array before it is decoded. ValueError naming the attribute when Rows or Columns is missing
    or not a non-negative integer."""
    sides = []
    for keyword, tag in (("Columns", "(0028,0011)"), ("Rows", "(0028,0010)")):
        value = dataset.get(keyword)
        if value is None or value == "":
            raise ValueError(f"no {keyword} {tag} attribute")
        try:
            side = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{keyword} {tag} is {value!r}, not an integer") from None
        if side < 0:
            raise ValueError(f"{keyword} {tag} is {side}")
        sides.append(side)
    frames = dataset.get("NumberOfFrames", 1)
    try:
        frames = int(frames or 1)
    except (TypeError, ValueError):
        raise ValueError(f"NumberOfFrames (0028,0008) is {frames!r}, not an integer") from None
    return sides[0], sides[1], max(frames, 1)


def dicom_image(dataset: Any, *, use_window: bool = True,
                max_pixels: Optional[int] = None) -> Tuple[np.ndarray, Dict[str, Any]]:
    """(pixels, keywords) for Session.generate(pixels, **keywords) from a pydicom Dataset.

    `use_window=False` drops the file's window (the image's own range is used). `max_pixels` (None: no limit;
    reading a path through Session uses cxrcaption.MAX_IMAGE_PIXELS) refuses a dataset whose Rows x Columns x
    NumberOfFrames exceeds it with cxrcaption.ImageTooLargeError, from the header, before pixel_array decodes
    anything.

    Raises ValueError for data the library cannot take (naming the attribute), and whatever pydicom raises
    when it cannot decode the pixel data (e.g. a compressed transfer syntax without its codec installed).
    """
    limit = max_pixels_limit(max_pixels)
    if limit is not None:
        columns, rows, frame_count = dicom_pixel_count(dataset)
        check_pixel_count(None, columns, rows, frame_count, limit)
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    samples = int(dataset.get("SamplesPerPixel", 1))
    bits_stored = int(dataset.get("BitsStored", dataset.get("BitsAllocated", 16)))
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    pixels = decoded_pixels(dataset)
    if frames > 1:
        pixels = pixels[0]
    if samples == 3:
        if pixels.dtype != np.uint8:
            raise ValueError(f"{bits_stored}-bit colour (SamplesPerPixel 3, BitsAllocated "
                             f"{dataset.get('BitsAllocated')}) is not supported; 8-bit RGB is")
        return np.ascontiguousarray(pixels), {}
    if samples != 1 or photometric not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError(f"SamplesPerPixel {samples} with PhotometricInterpretation {photometric!r} is not "
                         f"supported (MONOCHROME1/2, or 8-bit RGB)")
    keywords = {
        "photometric": Photometric.MONOCHROME1 if photometric == "MONOCHROME1" else Photometric.MONOCHROME2,
        "rescale": (float(dataset.get("RescaleSlope", 1.0) or 1.0), float(dataset.get("RescaleIntercept", 0.0) or 0.0)),
        "window": dicom_window(dataset) if use_window else None,
    }
    if pixels.dtype == np.uint16:
        keywords["bits_stored"] = min(max(bits_stored, 1), 16)
    elif pixels.dtype == np.uint8 and bits_stored >= 8:
        pass
    elif pixels.dtype.kind in "iu" and bits_stored <= 24:
        pixels = pixels.astype(np.float32)  # signed (or narrow) stored values, exactly
    elif pixels.dtype.kind == "f":
        pixels = pixels.astype(np.float32)
    else:
        raise ValueError(f"{pixels.dtype} pixels with BitsStored {bits_stored} are not supported (at most 24 "
                         f"significant bits)")
    return pixels, keywords


__all__ = ["LIBJPEG_SYNTAXES", "decoded_pixels", "dicom_image", "dicom_pixel_count", "dicom_window"]
