"""A small ctypes binding of libcxrcaption (include/cxrcaption.h).

    from cxrcaption_ctypes import Model
    with Model("model.safetensors") as model, model.session() as session:
        for result in session.generate(pixels):          # a numpy array (H x W, H x W x 3/4) or bytes
            print(result.score, result.text)

The library is found through the CXRCAPTION_LIBRARY environment variable (a path to libcxrcaption.so), else
next to this file, else on the system's library path. numpy is optional: without it, pass `bytes` with
width, height and format. Every failure raises CXRError carrying the library's status and message.
"""

import ctypes
import ctypes.util
import enum
import os
from dataclasses import dataclass, field
from typing import Callable, List, Optional

try:
    import numpy as np
except ImportError:  # numpy is optional
    np = None

ABI_VERSION = 1


class Status(enum.IntEnum):
    OK = 0
    INVALID_ARGUMENT = 1
    IO = 2
    INVALID_MODEL = 3
    INVALID_IMAGE = 4
    UNSUPPORTED_STRUCT_SIZE = 5
    ABORTED = 6
    OUT_OF_RANGE = 7
    OUT_OF_MEMORY = 8
    INTERNAL = 9


class PixelFormat(enum.IntEnum):
    GRAY8 = 1
    GRAY16 = 2
    GRAYF32 = 3
    RGB8 = 4
    RGBA8 = 5


class Photometric(enum.IntEnum):
    MONOCHROME2 = 0
    MONOCHROME1 = 1


class CXRError(Exception):
    """A failed library call: `status` (a Status) and the library's `message`."""

    def __init__(self, status, message):
        try:
            status = Status(status)
        except ValueError:
            pass
        super().__init__(f"{message} ({getattr(status, 'name', status)})")
        self.status = status
        self.message = message


# --- The header's structs (layouts pinned by Tests/c/header_check.c) ------------------------------------

class _Image(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("format", ctypes.c_int32), ("pixels", ctypes.c_void_p),
                ("width", ctypes.c_int32), ("height", ctypes.c_int32), ("row_bytes", ctypes.c_uint64),
                ("bits_stored", ctypes.c_int32), ("photometric", ctypes.c_int32),
                ("rescale_slope", ctypes.c_double), ("rescale_intercept", ctypes.c_double),
                ("has_window", ctypes.c_int32), ("window_center", ctypes.c_double),
                ("window_width", ctypes.c_double)]


_ABORT_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class _GenerateParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("beam_width", ctypes.c_int32),
                ("max_results", ctypes.c_int32), ("max_tokens", ctypes.c_int32),
                ("length_penalty", ctypes.c_double), ("suppress_unknown", ctypes.c_int32),
                ("return_attention", ctypes.c_int32), ("n_threads", ctypes.c_int32),
                ("abort_callback", _ABORT_CALLBACK), ("abort_user_data", ctypes.c_void_p)]


class _ModelInfo(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int32 if name != "struct_size" else ctypes.c_uint32) for name in (
        "struct_size", "format_version", "vocab_size", "input_size", "input_channels", "has_findings_head",
        "label_count", "join_rule", "attention_grid", "region_count", "preprocessing_version",
        "unknown_token_id")]


# --- Loading the library --------------------------------------------------------------------------------

def _library_path():
    path = os.environ.get("CXRCAPTION_LIBRARY")
    if path:
        return path
    beside = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libcxrcaption.so")
    if os.path.exists(beside):
        return beside
    found = ctypes.util.find_library("cxrcaption")
    if found:
        return found
    raise OSError("libcxrcaption.so not found: set CXRCAPTION_LIBRARY to its path or put it next to "
                  + os.path.abspath(__file__))


def _declare(lib):
    P, c = ctypes.POINTER, ctypes
    status = c.c_int
    signatures = {
        "cxr_abi_version": (c.c_uint32, []),
        "cxr_version": (c.c_char_p, []),
        "cxr_status_string": (c.c_char_p, [c.c_int]),
        "cxr_last_error": (c.c_char_p, []),
        "cxr_model_load": (status, [c.c_char_p, P(c.c_void_p)]),
        "cxr_model_load_from_memory": (status, [c.c_void_p, c.c_size_t, P(c.c_void_p)]),
        "cxr_model_free": (None, [c.c_void_p]),
        "cxr_model_info_init": (status, [P(_ModelInfo), c.c_uint32]),
        "cxr_model_info": (status, [c.c_void_p, P(_ModelInfo)]),
        "cxr_model_label": (status, [c.c_void_p, c.c_int32, P(c.c_char_p)]),
        "cxr_model_token": (status, [c.c_void_p, c.c_int32, P(c.c_char_p)]),
        "cxr_image_init": (status, [P(_Image), c.c_uint32]),
        "cxr_generate_params_init": (status, [P(_GenerateParams), c.c_uint32]),
        "cxr_session_create": (status, [c.c_void_p, P(c.c_void_p)]),
        "cxr_session_free": (None, [c.c_void_p]),
        "cxr_generate": (status, [c.c_void_p, P(_Image), P(_GenerateParams)]),
        "cxr_preprocess": (status, [c.c_void_p, P(_Image), c.c_void_p, c.c_size_t]),
        "cxr_findings": (status, [c.c_void_p, P(_Image), P(_GenerateParams), P(c.c_float), c.c_size_t]),
        "cxr_result_count": (status, [c.c_void_p, P(c.c_int32)]),
        "cxr_result_text": (status, [c.c_void_p, c.c_int32, P(c.c_char_p)]),
        "cxr_result_log_prob": (status, [c.c_void_p, c.c_int32, P(c.c_double)]),
        "cxr_result_score": (status, [c.c_void_p, c.c_int32, P(c.c_double)]),
        "cxr_result_truncated": (status, [c.c_void_p, c.c_int32, P(c.c_int32)]),
        "cxr_result_token_count": (status, [c.c_void_p, c.c_int32, P(c.c_int32)]),
        "cxr_result_tokens": (status, [c.c_void_p, c.c_int32, P(P(c.c_int32))]),
        "cxr_result_attention": (status, [c.c_void_p, c.c_int32, P(P(c.c_float))]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


_lib = None


def library():
    """The loaded libcxrcaption (loaded on first use; its ABI version checked)."""
    global _lib
    if _lib is None:
        lib = _declare(ctypes.CDLL(_library_path()))
        if lib.cxr_abi_version() != ABI_VERSION:
            raise OSError(f"libcxrcaption ABI {lib.cxr_abi_version()}, this binding needs {ABI_VERSION}")
        _lib = lib
    return _lib


def _check(status):
    if status != Status.OK:
        raise CXRError(status, library().cxr_last_error().decode("utf-8", "replace"))


def version():
    return library().cxr_version().decode()


# --- Images ---------------------------------------------------------------------------------------------

_FORMAT_BYTES = {PixelFormat.GRAY8: 1, PixelFormat.GRAY16: 2, PixelFormat.GRAYF32: 4, PixelFormat.RGB8: 3,
                 PixelFormat.RGBA8: 4}


def _describe(pixels, width, height, format, row_bytes, bits_stored, photometric, rescale, window):
    """A filled _Image and the object that owns its memory (kept alive for the call)."""
    image = _Image()
    _check(library().cxr_image_init(ctypes.byref(image), ctypes.sizeof(_Image)))
    if np is not None and isinstance(pixels, np.ndarray):
        array = pixels
        if array.ndim not in (2, 3):
            raise ValueError(f"expected an H x W or H x W x C array, got shape {array.shape}")
        channels = 1 if array.ndim == 2 else array.shape[2]
        kinds = {("u1", 1): PixelFormat.GRAY8, ("u1", 3): PixelFormat.RGB8, ("u1", 4): PixelFormat.RGBA8,
                 ("u2", 1): PixelFormat.GRAY16, ("f4", 1): PixelFormat.GRAYF32}
        key = (array.dtype.kind + str(array.dtype.itemsize), channels)
        if key not in kinds:
            raise ValueError(f"unsupported array: dtype {array.dtype}, {channels} channels")
        format = kinds[key] if format is None else format
        array = array.astype(array.dtype.newbyteorder("="), copy=False)
        # Rows may be strided (a crop, padded rows); the pixels within a row must be packed.
        inner = array.dtype.itemsize * channels
        packed_row = array.ndim == 2 and array.strides[1] == array.itemsize or \
            array.ndim == 3 and array.strides[2] == array.itemsize and array.strides[1] == inner
        if not packed_row or array.strides[0] < inner * array.shape[1]:
            array = np.ascontiguousarray(array)
        height, width = array.shape[:2]
        row_bytes = array.strides[0]
        image.pixels = array.ctypes.data
        owner = array
    else:
        if width is None or height is None or format is None:
            raise ValueError("bytes need width, height and format")
        owner = (ctypes.c_char * len(pixels)).from_buffer_copy(pixels)
        pixel_bytes = _FORMAT_BYTES.get(format, 1)  # an unknown format is the library's to reject
        needed = (row_bytes or width * pixel_bytes) * max(height - 1, 0) + width * pixel_bytes
        if width > 0 and height > 0 and len(pixels) < needed:
            raise ValueError(f"{len(pixels)} bytes of pixels, {needed} needed for {width}x{height} {format.name}")
        image.pixels = ctypes.addressof(owner)
    image.format = int(format)
    image.width, image.height, image.row_bytes = width, height, row_bytes or 0
    image.bits_stored = bits_stored
    image.photometric = int(photometric)
    image.rescale_slope, image.rescale_intercept = rescale
    if window is not None:
        image.has_window = 1
        image.window_center, image.window_width = window
    return image, owner


# --- Models, sessions, results --------------------------------------------------------------------------

@dataclass
class Result:
    """One ranked impression."""
    text: str
    score: float
    log_prob: float
    truncated: bool
    tokens: List[int]
    #: token_count x region_count weights (a numpy array when numpy is there, else a list of lists), or None.
    attention: Optional[object] = field(default=None, repr=False)


class Model:
    """A loaded model; immutable and shareable by sessions on any threads."""

    def __init__(self, path=None, *, data=None):
        self._handle = ctypes.c_void_p()
        if data is not None:
            buffer = (ctypes.c_char * len(data)).from_buffer_copy(data)
            _check(library().cxr_model_load_from_memory(buffer, len(data), ctypes.byref(self._handle)))
        else:
            _check(library().cxr_model_load(os.fsencode(path) if path is not None else None,
                                            ctypes.byref(self._handle)))
        info = _ModelInfo()
        _check(library().cxr_model_info_init(ctypes.byref(info), ctypes.sizeof(_ModelInfo)))
        _check(library().cxr_model_info(self._handle, ctypes.byref(info)))
        self.info = {name: getattr(info, name) for name, _ in _ModelInfo._fields_ if name != "struct_size"}
        self.labels = [self._string(library().cxr_model_label, i) for i in range(info.label_count)]

    def _string(self, function, index):
        out = ctypes.c_char_p()
        _check(function(self._handle, index, ctypes.byref(out)))
        return out.value.decode("utf-8")

    def token(self, token_id):
        """The string of a vocabulary token id."""
        return self._string(library().cxr_model_token, token_id)

    def session(self):
        return Session(self)

    def close(self):
        if self._handle:
            library().cxr_model_free(self._handle)
            self._handle = ctypes.c_void_p()

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Session:
    """Scratch memory and results for one thread at a time."""

    def __init__(self, model: Model):
        self.model = model
        self._handle = ctypes.c_void_p()
        _check(library().cxr_session_create(model._handle, ctypes.byref(self._handle)))

    @staticmethod
    def _params(beam_width, max_results, max_tokens, length_penalty, suppress_unknown, return_attention,
                n_threads, should_abort):
        params = _GenerateParams()
        _check(library().cxr_generate_params_init(ctypes.byref(params), ctypes.sizeof(_GenerateParams)))
        params.beam_width = beam_width
        params.max_results = beam_width if max_results is None else max_results
        params.max_tokens, params.length_penalty = max_tokens, length_penalty
        params.suppress_unknown, params.return_attention = int(suppress_unknown), int(return_attention)
        params.n_threads = n_threads
        callback = None
        if should_abort is not None:
            callback = _ABORT_CALLBACK(lambda _user: 1 if should_abort() else 0)
            params.abort_callback = callback
        return params, callback

    def generate(self, pixels, *, width=None, height=None, format=None, row_bytes=0, bits_stored=16,
                 photometric=Photometric.MONOCHROME2, rescale=(1.0, 0.0), window=None, beam_width=3,
                 max_results=None, max_tokens=60, length_penalty=0.0, suppress_unknown=False,
                 return_attention=True, n_threads=0,
                 should_abort: Optional[Callable[[], bool]] = None) -> List[Result]:
        """Captions an image; returns up to max_results (default beam_width) results, best first."""
        image, owner = _describe(pixels, width, height, format, row_bytes, bits_stored, photometric, rescale,
                                 window)
        params, callback = self._params(beam_width, max_results, max_tokens, length_penalty, suppress_unknown,
                                        return_attention, n_threads, should_abort)
        lib = library()
        _check(lib.cxr_generate(self._handle, ctypes.byref(image), ctypes.byref(params)))
        del owner, callback
        return [self._result(i) for i in range(self.result_count())]

    def result_count(self):
        count = ctypes.c_int32()
        _check(library().cxr_result_count(self._handle, ctypes.byref(count)))
        return count.value

    def _result(self, index):
        lib, h = library(), self._handle
        text, score, log_prob = ctypes.c_char_p(), ctypes.c_double(), ctypes.c_double()
        truncated, count = ctypes.c_int32(), ctypes.c_int32()
        tokens, attention = ctypes.POINTER(ctypes.c_int32)(), ctypes.POINTER(ctypes.c_float)()
        _check(lib.cxr_result_text(h, index, ctypes.byref(text)))
        _check(lib.cxr_result_score(h, index, ctypes.byref(score)))
        _check(lib.cxr_result_log_prob(h, index, ctypes.byref(log_prob)))
        _check(lib.cxr_result_truncated(h, index, ctypes.byref(truncated)))
        _check(lib.cxr_result_token_count(h, index, ctypes.byref(count)))
        _check(lib.cxr_result_tokens(h, index, ctypes.byref(tokens)))
        _check(lib.cxr_result_attention(h, index, ctypes.byref(attention)))
        n, regions = count.value, self.model.info["region_count"]
        token_list = [tokens[i] for i in range(n)] if tokens else []
        maps = None
        if attention:
            flat = [attention[i] for i in range(n * regions)]
            maps = np.array(flat, dtype=np.float32).reshape(n, regions) if np is not None else \
                [flat[t * regions:(t + 1) * regions] for t in range(n)]
        return Result(text.value.decode("utf-8"), score.value, log_prob.value, bool(truncated.value),
                      token_list, maps)

    def preprocess(self, pixels, **image_fields):
        """What the model saw: input_size x input_size equalized 8-bit pixels (numpy array, or bytes)."""
        image, owner = _describe(pixels, image_fields.get("width"), image_fields.get("height"),
                                 image_fields.get("format"), image_fields.get("row_bytes", 0),
                                 image_fields.get("bits_stored", 16),
                                 image_fields.get("photometric", Photometric.MONOCHROME2),
                                 image_fields.get("rescale", (1.0, 0.0)), image_fields.get("window"))
        side = self.model.info["input_size"]
        out = (ctypes.c_uint8 * (side * side))()
        _check(library().cxr_preprocess(self._handle, ctypes.byref(image), out, len(out)))
        del owner
        return np.frombuffer(out, dtype=np.uint8).reshape(side, side).copy() if np is not None else bytes(out)

    def findings(self, pixels, *, n_threads=0, **image_fields):
        """{label: probability} from the findings head."""
        image, owner = _describe(pixels, image_fields.get("width"), image_fields.get("height"),
                                 image_fields.get("format"), image_fields.get("row_bytes", 0),
                                 image_fields.get("bits_stored", 16),
                                 image_fields.get("photometric", Photometric.MONOCHROME2),
                                 image_fields.get("rescale", (1.0, 0.0)), image_fields.get("window"))
        params, _ = self._params(3, 3, 60, 0.0, False, True, n_threads, None)
        out = (ctypes.c_float * max(len(self.model.labels), 1))()
        _check(library().cxr_findings(self._handle, ctypes.byref(image), ctypes.byref(params), out, len(out)))
        del owner
        return dict(zip(self.model.labels, list(out)))

    def close(self):
        if self._handle:
            library().cxr_session_free(self._handle)
            self._handle = ctypes.c_void_p()

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
