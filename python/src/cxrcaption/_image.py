"""numpy arrays (or raw bytes) -> the C struct cxr_image, without copying when the rows allow it."""

import ctypes

import numpy as np

from . import _capi
from ._capi import PixelFormat, Photometric

#: (dtype kind + itemsize, channels) -> the pixel format an array is passed as.
_ARRAY_FORMATS = {
    ("u1", 1): PixelFormat.GRAY8,
    ("u1", 3): PixelFormat.RGB8,
    ("u1", 4): PixelFormat.RGBA8,
    ("u2", 1): PixelFormat.GRAY16,
    ("f4", 1): PixelFormat.GRAYF32,
}

_FORMAT_BYTES = {PixelFormat.GRAY8: 1, PixelFormat.GRAY16: 2, PixelFormat.GRAYF32: 4, PixelFormat.RGB8: 3,
                 PixelFormat.RGBA8: 4}


def array_format(array):
    """The PixelFormat of an H x W (gray) or H x W x C (RGB, RGBA) array; ValueError for anything else."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3):
        raise ValueError(f"expected an H x W or H x W x C array, got shape {array.shape}")
    channels = 1 if array.ndim == 2 else array.shape[2]
    key = (array.dtype.kind + str(array.dtype.itemsize), channels)
    if key not in _ARRAY_FORMATS:
        raise ValueError(f"unsupported array: dtype {array.dtype} with {channels} channel(s); use uint8 "
                         f"(gray, RGB, RGBA), uint16 (gray) or float32 (gray). Signed integers: convert to "
                         f"float32 (see pydicom_caption.py)")
    return _ARRAY_FORMATS[key]


def rows_packed(array):
    """The array as one the library can read in place: pixels within a row contiguous, rows at a positive
    stride at least a row long (column crops and padded rows qualify: no copy); otherwise (Fortran order,
    column steps, flipped rows) a C-contiguous copy. Non-native byte order is converted."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    item = array.dtype.itemsize
    channels = 1 if array.ndim == 2 else array.shape[2]
    packed_pixels = array.strides[-1] == item and (array.ndim == 2 or array.strides[1] == item * channels)
    row_span = item * channels * array.shape[1]
    if not packed_pixels or array.strides[0] < row_span or array.strides[0] % item != 0:
        array = np.ascontiguousarray(array)
    return array


def describe(pixels, *, width=None, height=None, format=None, row_bytes=0, bits_stored=16,
             photometric=Photometric.MONOCHROME2, rescale=(1.0, 0.0), window=None):
    """A filled cxr_image and the object that owns its memory (keep it alive during the call).

    `pixels`: a numpy array (format inferred from dtype and shape unless `format` is given), or a bytes-like
    object with `width`, `height` and `format` (and `row_bytes`, 0 = packed).
    `window`: None (the image's own range) or (center, width), the DICOM linear VOI window.
    `rescale`: (slope, intercept), the DICOM modality LUT.
    """
    image = _capi.Image()
    _capi.check(_capi.library().cxr_image_init(ctypes.byref(image), ctypes.sizeof(_capi.Image)))
    if isinstance(pixels, np.ndarray):
        inferred = array_format(pixels)
        array = rows_packed(pixels)
        if format is None:
            format = inferred
        height, width = array.shape[:2]
        # row_bytes given by the caller wins (to test the library's checks).
        row_bytes = row_bytes or array.strides[0]
        image.pixels = array.ctypes.data if array.size else None
        owner = array
    else:
        if width is None or height is None or format is None:
            raise ValueError("bytes need width, height and format")
        data = bytes(pixels)
        owner = (ctypes.c_char * max(len(data), 1)).from_buffer_copy(data or b"\0")
        try:
            pixel_bytes = _FORMAT_BYTES[PixelFormat(format)]
        except ValueError:
            pixel_bytes = 1  # an unknown format is the library's to reject, with its message
        needed = (row_bytes or width * pixel_bytes) * max(height - 1, 0) + width * pixel_bytes
        if width > 0 and height > 0 and len(data) < needed:
            raise ValueError(f"{len(data)} bytes of pixels, {needed} needed for {width}x{height} "
                             f"{getattr(format, 'name', format)}")
        image.pixels = ctypes.addressof(owner)
    image.format = int(format)
    image.width, image.height, image.row_bytes = int(width), int(height), int(row_bytes or 0)
    image.bits_stored = int(bits_stored)
    image.photometric = int(photometric)
    image.rescale_slope, image.rescale_intercept = (float(v) for v in rescale)
    if window is not None:
        image.has_window = 1
        image.window_center, image.window_width = (float(v) for v in window)
    return image, owner
