"""DICOM datasets (pydicom) -> the pixels and image keywords of Session.generate / preprocess / findings.

    import pydicom, cxrcaption
    from cxrcaption.dicom import dicom_image
    pixels, image = dicom_image(pydicom.dcmread("chest.dcm"))
    results = session.generate(pixels, **image)

The library gets the *stored* values (pixel_array: no modality LUT, no VOI, no inversion applied) with the
attributes that give them meaning, and does the rest itself (docs/INTAKE.md), exactly as it does for the C++
DCMTK example:
- PhotometricInterpretation MONOCHROME1 / MONOCHROME2 -> photometric; RGB (pydicom turns YBR into RGB) ->
  uint8 H x W x 3;
- BitsStored -> bits_stored for unsigned 16-bit data;
- PixelRepresentation 1 (signed) -> the values as float32 (exact up to 24 bits);
- RescaleSlope / RescaleIntercept -> rescale (default 1, 0);
- the first WindowCenter / WindowWidth -> window, if the width is > 1 (else no window);
- multi-frame data: the first frame.
This module does not import pydicom: it reads any object with pydicom's Dataset interface.
"""

import numpy as np

from ._capi import Photometric


def _first(value):
    """The first value of a DICOM multi-valued attribute (or the value itself)."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return value[0] if len(value) else None
    return value


def dicom_window(dataset):
    """(center, width) of the first VOI window of `dataset`, or None when it has none or its width <= 1."""
    center, width = _first(dataset.get("WindowCenter")), _first(dataset.get("WindowWidth"))
    if center is None or width is None:
        return None
    center, width = float(center), float(width)
    if not (np.isfinite(center) and np.isfinite(width) and width > 1):
        return None
    return center, width


def dicom_image(dataset, *, use_window=True):
    """(pixels, keywords) for Session.generate(pixels, **keywords) from a pydicom Dataset.

    Raises ValueError for data the library cannot take (naming the attribute), and whatever pydicom raises
    when it cannot decode the pixel data (e.g. a compressed transfer syntax without its codec installed).
    """
    photometric = str(dataset.get("PhotometricInterpretation", "MONOCHROME2")).strip()
    samples = int(dataset.get("SamplesPerPixel", 1))
    bits_stored = int(dataset.get("BitsStored", dataset.get("BitsAllocated", 16)))
    frames = int(dataset.get("NumberOfFrames", 1) or 1)
    pixels = dataset.pixel_array
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


__all__ = ["dicom_image", "dicom_window"]
