"""What Session.generate / preprocess / findings accept as an image, and how it becomes the C struct cxr_image.

`describe` is the one function all three use. It turns the caller's input into a pixel buffer in a layout of
the library (docs/INTAKE.md, "Read") and fills a cxr_image that describes exactly that buffer:

- numpy arrays are read in place when their rows are internally contiguous, else copied or converted;
- PIL images are converted as Pillow's convert("L") / convert("RGB") would (never palette indices);
- paths are read by content (PNG and JPEG through Pillow, DICOM through pydicom and cxrcaption.dicom);
- bytes-like objects are raw pixels described by width, height, format and row_bytes.

Whatever the caller passes, the library is never handed a buffer shorter than the struct says
((height - 1) x row_bytes + width x bytes per pixel): a keyword that contradicts an image (a row_bytes, a
format, a width that is not the array's) and a byte string too short for its description raise ValueError
before the library is called. Every rule about the values themselves (sides, bits_stored, rescale, window,
NaN pixels) is the library's, which raises CXRError with its own message.
"""

from __future__ import annotations

import ctypes
import numbers
import operator
import os
import sys
from typing import TYPE_CHECKING, Any, Dict, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np

from . import _capi
from ._capi import MAX_IMAGE_SIDE, Photometric, PixelFormat

if TYPE_CHECKING:  # Pillow is optional (the "images" extra): only imported when an input needs it
    import PIL.Image

#: Default of `max_pixels`: the largest image (width x height x frames) read from a path or converted from a
#: PIL image, the value of Pillow's own default Image.MAX_IMAGE_PIXELS (about a quarter of a gigabyte of
#: 24-bit pixels). An image above it is refused before its pixels are decoded.
MAX_IMAGE_PIXELS = 89_478_485

#: Everything Session.generate / preprocess / findings take as `pixels`.
ImageInput = Union[np.ndarray, "PIL.Image.Image", str, "os.PathLike[str]", bytes, bytearray, memoryview]

#: (center, width) of a DICOM linear VOI window; (slope, intercept) of a modality rescale.
NumberPair = Union[Tuple[float, float], Sequence[float], np.ndarray]


class ImageTooLargeError(ValueError):
    """An image from a path or a PIL image has more pixels than `max_pixels` (the package's decompression-bomb
    guard, like Pillow's DecompressionBombError). Raised before the pixels are decoded. A ValueError."""


_FORMAT_BYTES = {PixelFormat.GRAY8: 1, PixelFormat.GRAY16: 2, PixelFormat.GRAYF32: 4, PixelFormat.RGB8: 3,
                 PixelFormat.RGBA8: 4}

#: (dtype kind + itemsize, channels) -> the pixel format an array is passed as.
_ARRAY_FORMATS = {
    ("u1", 1): PixelFormat.GRAY8,
    ("u1", 3): PixelFormat.RGB8,
    ("u1", 4): PixelFormat.RGBA8,
    ("u2", 1): PixelFormat.GRAY16,
    ("f4", 1): PixelFormat.GRAYF32,
}

_INT32 = (int(np.iinfo(np.int32).min), int(np.iinfo(np.int32).max))
_UINT64 = (0, int(np.iinfo(np.uint64).max))
_FLOAT32_MAX = float(np.finfo(np.float32).max)

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
_EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".jpe": "JPEG", ".jfif": "JPEG", ".dcm": "DICOM",
               ".dicom": "DICOM"}
#: pydicom reads values larger than this only when they are used (the pixel data after the size check).
_DICOM_DEFER_SIZE = "1 MB"

_ACCEPTED = "pass a numpy array, a PIL image, a path or bytes (with width, height and format)"


# --- Describing what the caller passed (for messages) ----------------------------------------------------------

def _short_repr(value: Any, limit: int = 60) -> str:
    try:
        text = repr(value)
    except Exception:  # a repr that fails must not hide the real error
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _a(value: Any) -> str:
    """'a list', 'an int', 'None', 'a numpy array of dtype uint8 and shape (20, 20)', 'a PIL image of mode P'."""
    if value is None:
        return "None"
    if isinstance(value, np.ndarray):
        return f"a numpy array of dtype {value.dtype} and shape {value.shape}"
    pil_image = _pil_image_class()
    if pil_image is not None and isinstance(value, pil_image):
        return f"a PIL image of mode {value.mode} and size {value.size}"
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


# --- Keyword values --------------------------------------------------------------------------------------------

def integer(name: str, value: Any, bounds: Tuple[int, int] = _INT32, what: str = "an int32") -> int:
    """`value` as a Python int within `bounds` (the C field's range): TypeError for a non-integer (bool, float,
    str included), ValueError outside the range. Range rules of the library's own are left to it."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, not the bool {value!r}")
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, not {_a(value)} ({_short_repr(value)})") from None
    if not bounds[0] <= number <= bounds[1]:
        raise ValueError(f"{name} {number} is out of range: it must fit {what} ({bounds[0]} ... {bounds[1]})")
    return number


def real(name: str, value: Any) -> float:
    """`value` as a float (NaN and infinities pass: the library names them). TypeError for a non-number,
    ValueError for a number beyond float64's range."""
    if isinstance(value, (str, bytes)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, not {_a(value)} ({_short_repr(value)})")
    try:
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} {_short_repr(value)} is too large for a float64") from None


def flag(name: str, value: Any) -> bool:
    """A yes/no keyword: a bool (or numpy bool, or the ints 0 and 1)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral) and int(value) in (0, 1):
        return bool(value)
    raise TypeError(f"{name} must be True or False, not {_a(value)} ({_short_repr(value)})")


def _pair(name: str, value: Any, parts: Tuple[str, str]) -> Tuple[float, float]:
    if not isinstance(value, (tuple, list, np.ndarray)):
        raise TypeError(f"{name} must be a pair ({parts[0]}, {parts[1]}), not {_a(value)} ({_short_repr(value)})")
    items = list(np.asarray(value, dtype=object).ravel()) if isinstance(value, np.ndarray) else list(value)
    if len(items) != 2:
        raise ValueError(f"{name} must be a pair ({parts[0]}, {parts[1]}), not {len(items)} values "
                         f"({_short_repr(value)})")
    return real(f"{name} {parts[0]}", items[0]), real(f"{name} {parts[1]}", items[1])


def _enum_value(keyword: str, enum: Any, value: Any, choices: str) -> int:
    """A C enum value given by name (any case) or number; an unknown number is the library's to refuse, with
    its message."""
    if isinstance(value, str):
        key = value.strip().upper()
        if key in enum.__members__:
            return int(enum[key])
        raise ValueError(f"{keyword} {value!r} is {choices}")
    return integer(keyword, value)


def _photometric(value: Any) -> int:
    return _enum_value("photometric", Photometric, value, "neither 'MONOCHROME1' nor 'MONOCHROME2'")


def _format(value: Any) -> int:
    return _enum_value("format", PixelFormat, value, f"not a PixelFormat ({', '.join(PixelFormat.__members__)})")


def _format_name(value: int) -> str:
    try:
        return PixelFormat(value).name
    except ValueError:
        return str(value)


def max_pixels_limit(value: Any) -> Optional[int]:
    """The `max_pixels` keyword: None (no limit) or a positive integer."""
    if value is None:
        return None
    number = integer("max_pixels", value, (1, sys.maxsize), "a positive integer")
    return number


def check_pixel_count(what: Optional[str], width: int, height: int, frames: int, max_pixels: Optional[int]) -> None:
    """Raises ImageTooLargeError when width x height x frames exceeds `max_pixels` (None: no limit); the
    message starts with `what` (the input, e.g. its path) unless it is None."""
    count = width * height * frames
    if max_pixels is not None and count > max_pixels:
        size = f"{width} x {height}" + (f" x {frames} frames" if frames != 1 else "")
        raise ImageTooLargeError(
            f"{what + ': ' if what else ''}image is {size} = {count:,} pixels, more than the limit of {max_pixels:,}; pass "
            f"max_pixels={count} (or max_pixels=None for no limit) to raise it")


# --- numpy arrays ----------------------------------------------------------------------------------------------

def _check_copy_sides(array: np.ndarray, what: str) -> None:
    """Refuses to allocate a copy of an array whose sides the library refuses anyway (a broadcast view can be
    far larger than the memory behind it)."""
    if array.ndim >= 2 and max(array.shape[0], array.shape[1]) > MAX_IMAGE_SIDE:
        raise ValueError(f"{what}: {_a(array)} has a side above {MAX_IMAGE_SIDE} pixels (MAX_IMAGE_SIDE), "
                         f"the largest the library takes; it is not copied or converted")


def _float_to_float32(array: np.ndarray, what: str) -> np.ndarray:
    """float64 (and float16, longdouble) -> float32, rounding each value to the nearest float32. A value that is
    NaN or infinite, or beyond float32's range (its rounding overflows), is refused, naming the first such
    pixel in row-major order, as (x, y) like the library's messages."""
    _check_copy_sides(array, what)
    with np.errstate(over="ignore", invalid="ignore"):
        converted = array.astype(np.float32, order="C")
    bad = ~np.isfinite(converted)
    if bad.any():
        y, x = (int(i) for i in np.unravel_index(int(np.argmax(bad)), bad.shape))
        value = float(array[y, x])
        reason = f"is {value!r}" if not np.isfinite(value) else f"= {value!r} is beyond float32's range"
        raise ValueError(f"{what}: {array.dtype} pixel ({x}, {y}) {reason}; {array.dtype} arrays are converted "
                         f"to float32, so every value must be finite and within +-{_FLOAT32_MAX:.8g}")
    return converted


def _integer_to_uint16_or_float32(array: np.ndarray) -> np.ndarray:
    """Pillow's mode "I" (int32): uint16 when every value is in 0 ... 65535 (exact), else float32 (exact up to
    2**24 in magnitude, rounded beyond)."""
    if array.size == 0 or (int(array.min()) >= 0 and int(array.max()) <= 65535):
        return array.astype(np.uint16)
    return array.astype(np.float32)


def _from_array(array: np.ndarray, what: str = "pixels") -> np.ndarray:
    """An array of one of the library's layouts (dtype uint8, uint16, float32; H x W, H x W x 3 or 4 for uint8),
    not yet packed, from any array the package accepts; ValueError naming the dtype and shape otherwise."""
    array = np.asarray(array)  # subclasses (masked arrays, matrices) as plain arrays: their data
    kind = array.dtype.kind
    if kind not in "uif":
        hint = " (convert it, e.g. a.astype(np.uint8) * 255)" if kind == "b" else ""
        raise ValueError(f"{what}: unsupported array: {_a(array)}; pixels are uint8 (gray, RGB, RGBA), uint16 "
                         f"(gray) or float (gray){hint}")
    shape = array.shape
    if array.ndim == 3 and shape[2] == 1:
        array = array[:, :, 0]  # H x W x 1
    elif array.ndim == 3 and shape[0] == 1 and shape[2] not in (3, 4):
        array = array[0]  # channels first, one channel: 1 x H x W
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        hint = ""
        if len(shape) == 3 and shape[0] in (3, 4) and shape[2] not in (3, 4):
            hint = f"; a channels-first colour image is np.moveaxis(a, 0, -1) (H x W x {shape[0]})"
        raise ValueError(f"{what}: a numpy array of shape {shape} (dtype {array.dtype}) is not an image: pass "
                         f"H x W (gray), H x W x 3 (RGB), H x W x 4 (RGBA), H x W x 1 or 1 x H x W{hint}")
    channels = 1 if array.ndim == 2 else array.shape[2]
    if kind == "f" and array.dtype.itemsize != 4:
        if channels != 1:
            raise ValueError(f"{what}: unsupported array: {_a(array)}; float pixels are gray (H x W) only")
        return _float_to_float32(array, what)
    key = (kind + str(array.dtype.itemsize), channels)
    if key not in _ARRAY_FORMATS:
        if kind in "iu" and channels == 1:
            hint = ("; signed integers and uint32/uint64: convert to float32 (exact up to 2**24) or uint16, "
                    "e.g. a.astype(np.float32)")
        elif channels != 1:
            hint = "; colour pixels are uint8 (convert, or pass one channel as gray)"
        else:
            hint = ""
        raise ValueError(f"{what}: unsupported array: {_a(array)}; pixels are uint8 (gray, RGB, RGBA), uint16 "
                         f"(gray) or float (gray){hint}")
    return array


def array_format(array: np.ndarray) -> PixelFormat:
    """The PixelFormat the library reads an array as (after _from_array)."""
    channels = 1 if array.ndim == 2 else array.shape[2]
    return _ARRAY_FORMATS[(array.dtype.kind + str(array.dtype.itemsize), channels)]


def rows_packed(array: np.ndarray, what: str = "pixels") -> np.ndarray:
    """The array as one the library can read in place: pixels within a row contiguous, rows at a positive
    stride at least a row long (column crops, padded rows and every other row qualify: no copy); otherwise
    (Fortran order, column steps, flipped rows, broadcast views) a C-contiguous copy. Non-native byte order is
    converted. Either way the memory the library reads, (height - 1) x stride + width x pixel bytes, lies
    inside the returned array."""
    if not array.dtype.isnative:
        _check_copy_sides(array, what)
        array = array.astype(array.dtype.newbyteorder("="))
    item = array.dtype.itemsize
    channels = 1 if array.ndim == 2 else array.shape[2]
    packed_pixels = array.strides[1] == item * channels and (array.ndim == 2 or array.strides[2] == item)
    row_span = item * channels * array.shape[1]
    if array.size and (not packed_pixels or array.strides[0] < row_span or array.strides[0] % item != 0):
        _check_copy_sides(array, what)
        array = np.ascontiguousarray(array)
    return array


# --- PIL images ------------------------------------------------------------------------------------------------

#: Modes passed through convert("RGB"): palette images (their colours, never their indices; transparency is
#: dropped, as the library ignores alpha) and the other colour spaces.
_PIL_TO_RGB = ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa")


def _pil_image_class() -> Any:
    """PIL.Image.Image if Pillow has been imported (an object can only be a PIL image if it has), else None."""
    module = sys.modules.get("PIL.Image")
    return getattr(module, "Image", None) if module is not None else None


def _from_pil(image: "PIL.Image.Image", max_pixels: Optional[int], what: str = "pixels") -> np.ndarray:
    """A PIL image as an array the library reads (see the table in Session's docstring). Refuses an image of
    more than `max_pixels` pixels before loading (decoding) it."""
    width, height = image.size
    check_pixel_count(what, width, height, 1, max_pixels)
    mode = image.mode
    if mode in ("L", "RGB", "RGBA", "F") or mode.startswith("I;16"):
        array = np.asarray(image)  # I;16B is big-endian uint16: made native when packed
    elif mode in ("1", "LA"):
        array = np.asarray(image.convert("L"))
    elif mode == "La":  # premultiplied gray + alpha: un-premultiplied first, as LA
        array = np.asarray(image.convert("LA").convert("L"))
    elif mode in _PIL_TO_RGB:
        array = np.asarray(image.convert("RGB"))
    elif mode == "I":
        array = _integer_to_uint16_or_float32(np.asarray(image))
    else:
        raise ValueError(f"{what}: PIL image mode {mode!r} is not supported (1, L, LA, La, P, PA, I, I;16, F, RGB, "
                         f"RGBA, RGBX, RGBa, CMYK, YCbCr, LAB, HSV)")
    return _from_array(array, what)


# --- Paths -----------------------------------------------------------------------------------------------------

def _file_kind(head: bytes, name: str) -> Optional[str]:
    """PNG, JPEG or DICOM by content (DICOM's 'DICM' at byte 128 first: its preamble may hold another format's
    header, as RG1_UNCR.dcm's holds a TIFF one; then the PNG and JPEG signatures), else by extension, else None."""
    if head[128:132] == b"DICM":
        return "DICOM"
    if head.startswith(_PNG_MAGIC):
        return "PNG"
    if head.startswith(_JPEG_MAGIC):
        return "JPEG"
    return _EXTENSIONS.get(os.path.splitext(name)[1].lower())


def _needs(package: str, extra: str, kind: str) -> ImportError:
    return ImportError(f"reading a {kind} file needs {package}: pip install 'cxrcaption[{extra}]' (or pip install "
                       f"{package.lower()})")


def _read_pillow(name: str, kind: str, max_pixels: Optional[int]) -> np.ndarray:
    try:
        from PIL import JpegImagePlugin, PngImagePlugin
    except ImportError:
        raise _needs("Pillow", "images", kind) from None
    with open(name, "rb") as file:
        try:
            # The plugins directly, not Image.open: its decompression-bomb check uses Pillow's global limit, and
            # `max_pixels` is this call's (checked by _from_pil before anything is decoded).
            image = PngImagePlugin.PngImageFile(file) if kind == "PNG" else JpegImagePlugin.jpeg_factory(file)
        except MemoryError:
            raise
        except Exception as error:
            raise ValueError(f"{name}: not a {kind} file Pillow can read ({type(error).__name__}: {error})") \
                from error
        try:
            return _from_pil(image, max_pixels, name)
        except (ValueError, MemoryError):
            raise
        except Exception as error:  # Pillow's decoders: OSError (truncated), SyntaxError, struct.error, ...
            raise ValueError(f"{name}: cannot decode the {kind} data ({type(error).__name__}: {error})") from error


def _read_dicom(name: str, force: bool, max_pixels: Optional[int]) -> Tuple[np.ndarray, Dict[str, Any]]:
    try:
        import pydicom
    except ImportError:
        raise _needs("pydicom", "dicom", "DICOM") from None
    from .dicom import dicom_image
    try:
        # defer_size: the pixel data is read from the file only after dicom_image has checked its size.
        dataset = pydicom.dcmread(name, force=force, defer_size=_DICOM_DEFER_SIZE)
        pixels, keywords = dicom_image(dataset, max_pixels=max_pixels)
    except ImageTooLargeError as error:
        raise ImageTooLargeError(f"{name}: {error}") from None
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from error
    except MemoryError:
        raise
    except Exception as error:  # pydicom: InvalidDicomError, AttributeError for a missing attribute, ...
        raise ValueError(f"{name}: cannot read it as DICOM ({type(error).__name__}: {error})") from error
    return _from_array(pixels, name), keywords


def _read_path(path: Union[str, "os.PathLike[str]"], max_pixels: Optional[int]) -> Tuple[np.ndarray, Dict[str, Any]]:
    name = os.fsdecode(os.fspath(path))
    with open(name, "rb") as file:  # OSError (missing, a folder, no permission) as it is
        head = file.read(132)
    kind = _file_kind(head, name)
    if kind is None:
        raise ValueError(f"{name}: not a PNG, JPEG or DICOM file (it starts with {head[:8]!r}); open other formats "
                         f"with PIL.Image.open and pass the image")
    if kind == "DICOM":
        return _read_dicom(name, force=head[128:132] != b"DICM", max_pixels=max_pixels)
    return _read_pillow(name, kind, max_pixels), {}


# --- Any input -------------------------------------------------------------------------------------------------

class Source(NamedTuple):
    """An input made ready: `array` (one of the library's layouts, not yet packed) or `buffer` (raw bytes, as
    uint8), and the image keywords its file gave (a DICOM file's photometric, rescale, window, bits_stored)."""
    array: Optional[np.ndarray]
    buffer: Optional[np.ndarray]
    keywords: Dict[str, Any]


def image_source(pixels: Any, max_pixels: Optional[int] = MAX_IMAGE_PIXELS) -> Source:
    """Reads or converts any accepted input (see Session); TypeError for a type that is not an image."""
    if isinstance(pixels, np.ndarray):
        return Source(_from_array(pixels), None, {})
    pil_image = _pil_image_class()
    if pil_image is not None and isinstance(pixels, pil_image):
        return Source(_from_pil(pixels, max_pixels), None, {})
    if isinstance(pixels, (str, os.PathLike)):
        array, keywords = _read_path(pixels, max_pixels)
        return Source(array, None, keywords)
    if not isinstance(pixels, np.generic):
        try:
            view = memoryview(pixels)
        except TypeError:
            view = None
        if view is not None:
            data = view.cast("B") if view.c_contiguous else view.tobytes()
            return Source(None, np.frombuffer(data, dtype=np.uint8), {})
    raise TypeError(f"pixels: {_a(pixels)} is not an image; {_ACCEPTED}")


def read_image(source: Union[np.ndarray, "PIL.Image.Image", str, "os.PathLike[str]"], *,
               max_pixels: Optional[int] = MAX_IMAGE_PIXELS) -> Tuple[np.ndarray, Dict[str, Any]]:
    """The pixels and image keywords Session.generate / preprocess / findings would read from `source`.

    `source` is a path (PNG, JPEG or DICOM, recognised by content), a PIL image or a numpy array. Returns
    ``(array, keywords)``: a numpy array in one of the library's layouts (uint8 H x W, H x W x 3, H x W x 4;
    uint16 H x W; float32 H x W) and the image keywords of the file (for DICOM: photometric, rescale, window,
    bits_stored as cxrcaption.dicom.dicom_image gives them; {} otherwise), so that
    ``session.generate(*read_image(path)[:1], **read_image(path)[1])`` is ``session.generate(path)``.

    Raises ImageTooLargeError (a ValueError) for a path or PIL image of more than `max_pixels` pixels (None: no
    limit), ValueError for content that is not an image the library takes, OSError when the file cannot be
    read, ImportError when Pillow (PNG, JPEG) or pydicom (DICOM) is missing.
    """
    pil_image = _pil_image_class()
    if not (isinstance(source, (np.ndarray, str, os.PathLike))
            or pil_image is not None and isinstance(source, pil_image)):
        raise TypeError(f"read_image: {_a(source)} is not a path, a PIL image or a numpy array")
    found = image_source(source, max_pixels_limit(max_pixels))
    return rows_packed(found.array), dict(found.keywords)


def _agree(name: str, given: Any, actual: int, subject: str, describe_actual: str) -> None:
    """A geometry keyword passed with an array, PIL image or path must be what the image is."""
    if given is None:
        return
    if name == "format":
        value = _format(given)
    else:
        value = integer(name, given, *((_UINT64, "a uint64") if name == "row_bytes" else (_INT32, "an int32")))
    if name == "row_bytes" and value == 0:
        return
    if value != actual:
        shown = _format_name(value) if name == "format" else value
        raise ValueError(f"{name} {shown} was passed with {subject}, whose {describe_actual}: an image's own "
                         f"{name} cannot be overridden (leave {name} out, convert the array, or pass bytes with "
                         f"width, height, format and row_bytes)")


def describe(pixels: Any, *, width: Optional[int] = None, height: Optional[int] = None,
             format: Union[PixelFormat, int, str, None] = None, row_bytes: Optional[int] = None,
             bits_stored: Optional[int] = None, photometric: Union[Photometric, int, str, None] = None,
             rescale: Optional[NumberPair] = None, window: Optional[NumberPair] = None, use_window: bool = True,
             max_pixels: Optional[int] = MAX_IMAGE_PIXELS) -> Tuple[_capi.Image, Any]:
    """A filled cxr_image and the object that owns the memory it points to (keep it alive during the call).

    The keywords are Session.generate's (see Session). The image keywords not passed (None) take the file's
    (a DICOM path's), else the defaults: bits_stored 16, MONOCHROME2, rescale (1, 0), no window.
    """
    limit = max_pixels_limit(max_pixels)
    use_window = flag("use_window", use_window)
    source = image_source(pixels, limit)
    image = _capi.Image()
    _capi.check(_capi.library().cxr_image_init(ctypes.byref(image), ctypes.sizeof(_capi.Image)))
    if source.array is not None:
        array = rows_packed(source.array)
        pixel_format = array_format(array)
        rows, columns = array.shape[:2]
        stride = array.strides[0] if array.size else columns * _FORMAT_BYTES[pixel_format]
        if isinstance(pixels, (str, os.PathLike)):
            subject = f"the image {os.fsdecode(os.fspath(pixels))} ({_a(array)})"
        else:
            subject = _a(pixels)
        _agree("width", width, columns, subject, f"width is {columns}")
        _agree("height", height, rows, subject, f"height is {rows}")
        _agree("format", format, pixel_format, subject, f"format is {pixel_format.name}")
        _agree("row_bytes", row_bytes, stride, subject, f"rows are {stride} bytes apart")
        width_value, height_value, format_value, row_bytes_value = columns, rows, int(pixel_format), stride
        image.pixels = array.ctypes.data if array.size else None
        owner: Any = array
    else:
        buffer = source.buffer
        if width is None or height is None or format is None:
            hint = ""
            if bytes(buffer[:8]).startswith(_PNG_MAGIC) or bytes(buffer[:3]) == _JPEG_MAGIC:
                hint = " (these bytes are an encoded file: pass its path, or PIL.Image.open(io.BytesIO(data)))"
            raise ValueError(f"pixels: {buffer.size} bytes of raw pixels need width, height and format "
                             f"(row_bytes optional){hint}")
        width_value, height_value = integer("width", width), integer("height", height)
        format_value = _format(format)
        row_bytes_value = 0 if row_bytes is None else integer("row_bytes", row_bytes, _UINT64, "a uint64")
        pixel_bytes = _FORMAT_BYTES.get(format_value)  # type: ignore[call-overload]
        # An unknown format, or a side below 1, is refused by the library before it reads anything.
        if pixel_bytes is not None and width_value >= 1 and height_value >= 1:
            step = row_bytes_value or width_value * pixel_bytes
            needed = step * (height_value - 1) + width_value * pixel_bytes
            if buffer.size < needed:
                raise ValueError(f"pixels: {buffer.size} bytes of pixels, but width {width_value}, height "
                                 f"{height_value}, format {_format_name(format_value)}, row_bytes "
                                 f"{row_bytes_value or step} need {needed}")
        image.pixels = buffer.ctypes.data if buffer.size else None
        owner = buffer
    keywords = source.keywords
    bits_value = integer("bits_stored", bits_stored if bits_stored is not None else keywords.get("bits_stored", 16))
    photometric_value = _photometric(photometric if photometric is not None
                                     else keywords.get("photometric", Photometric.MONOCHROME2))
    slope, intercept = _pair("rescale", rescale if rescale is not None else keywords.get("rescale", (1.0, 0.0)),
                             ("slope", "intercept"))
    if window is not None:
        if not use_window:
            raise ValueError("window and use_window=False were both passed: pass one of them")
        window_value: Optional[Tuple[float, float]] = _pair("window", window, ("center", "width"))
    elif use_window and keywords.get("window") is not None:
        window_value = _pair("window", keywords["window"], ("center", "width"))
    else:
        window_value = None
    image.format = format_value
    image.width, image.height, image.row_bytes = width_value, height_value, row_bytes_value
    image.bits_stored, image.photometric = bits_value, photometric_value
    image.rescale_slope, image.rescale_intercept = slope, intercept
    if window_value is not None:
        image.has_window = 1
        image.window_center, image.window_width = window_value
    return image, owner


__all__ = ["ImageInput", "ImageTooLargeError", "MAX_IMAGE_PIXELS", "describe", "read_image"]
