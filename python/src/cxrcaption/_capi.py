"""The C ABI of libcxrcaption (include/cxrcaption.h) through ctypes: structs, signatures, loading, errors."""

import ctypes
import ctypes.util
import enum
import os
import threading
from typing import Any, Optional, Union

# The header's macros, enums and structs are mirrored here by hand. include/cxrcaption.h owns them:
# python/tests/test_abi.py compares every CXR_ macro, enum and struct layout of the header with these, and
# asks the library for its struct sizes and limits. Elsewhere the package writes a limit as its constant.

#: The CXR_ABI_VERSION of the header this binding mirrors.
ABI_VERSION = 1
#: Limits of the header: CXR_MAX_BEAM_WIDTH (beam_width), CXR_MAX_TOKENS (max_tokens),
#: CXR_MAX_LENGTH_PENALTY (length_penalty), CXR_MIN_IMAGE_SIDE and CXR_MAX_IMAGE_SIDE (image width, height).
MAX_BEAM_WIDTH = 64
MAX_TOKENS = 1024
MAX_LENGTH_PENALTY = 100.0
MIN_IMAGE_SIDE = 16
MAX_IMAGE_SIDE = 16384


class Status(enum.IntEnum):
    """cxr_status: what a failed call returns."""
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
    """cxr_pixel_format: the layout of a pixel buffer."""
    GRAY8 = 1
    GRAY16 = 2
    GRAYF32 = 3
    RGB8 = 4
    RGBA8 = 5


class Photometric(enum.IntEnum):
    """DICOM photometric interpretation of a grayscale image."""
    MONOCHROME2 = 0  #: low values are dark (the usual case)
    MONOCHROME1 = 1  #: low values are bright (many CR images)


class JoinRule(enum.IntEnum):
    """cxr_join_rule: how a model joins token strings into text (ModelInfo.join_rule)."""
    CONCATENATE = 0       #: tokens are concatenated (Chinese)
    SPACE_SEPARATED = 1   #: one space between tokens; punctuation attaches to the previous token (English)


class CXRError(Exception):
    """A failed library call.

    Attributes: `status` (a Status) and `message`, the library's own message naming what was wrong
    (cxr_last_error()), e.g. "image row_bytes 100 is less than width 512 x 1 byte".
    """

    status: Union["Status", int]
    message: str

    def __init__(self, status: Union["Status", int], message: str) -> None:
        try:
            status = Status(status)
        except ValueError:
            pass
        super().__init__(f"{message} ({getattr(status, 'name', status)})")
        self.status = status
        self.message = message


# --- The header's structs (layouts pinned by Tests/c/header_check.c and python/tests/test_abi.py) -------

class Image(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("format", ctypes.c_int32), ("pixels", ctypes.c_void_p),
                ("width", ctypes.c_int32), ("height", ctypes.c_int32), ("row_bytes", ctypes.c_uint64),
                ("bits_stored", ctypes.c_int32), ("photometric", ctypes.c_int32),
                ("rescale_slope", ctypes.c_double), ("rescale_intercept", ctypes.c_double),
                ("has_window", ctypes.c_int32), ("window_center", ctypes.c_double),
                ("window_width", ctypes.c_double)]


ABORT_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)


class GenerateParams(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32), ("beam_width", ctypes.c_int32),
                ("max_results", ctypes.c_int32), ("max_tokens", ctypes.c_int32),
                ("length_penalty", ctypes.c_double), ("suppress_unknown", ctypes.c_int32),
                ("return_attention", ctypes.c_int32), ("n_threads", ctypes.c_int32),
                ("abort_callback", ABORT_CALLBACK), ("abort_user_data", ctypes.c_void_p),
                # appended after 0.1.0 (whose struct_size is 56)
                ("no_repeat_ngram_size", ctypes.c_int32), ("distinct_results", ctypes.c_int32),
                ("distinct_extra_beam", ctypes.c_int32), ("use_model_defaults", ctypes.c_int32)]


MODEL_INFO_FIELDS = ("format_version", "vocab_size", "input_size", "input_channels", "has_findings_head",
                     "label_count", "join_rule", "attention_grid", "region_count", "preprocessing_version",
                     "unknown_token_id")


class ModelInfo(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_uint32)] + [(name, ctypes.c_int32) for name in MODEL_INFO_FIELDS]


# --- Loading the library --------------------------------------------------------------------------------

LIBRARY_NAME = "libcxrcaption.so"


def library_path() -> str:
    """Where the library is taken from: $CXRCAPTION_LIBRARY, else next to this package, else the system's
    library path (ldconfig)."""
    path = os.environ.get("CXRCAPTION_LIBRARY")
    if path:
        if not os.path.exists(path):
            raise OSError(f"CXRCAPTION_LIBRARY={path}: no such file")
        return path
    beside = os.path.join(os.path.dirname(os.path.abspath(__file__)), LIBRARY_NAME)
    if os.path.exists(beside):
        return beside
    found = ctypes.util.find_library("cxrcaption")
    if found:
        return found
    raise OSError(f"{LIBRARY_NAME} not found: set CXRCAPTION_LIBRARY to its path, install it where the "
                  f"dynamic linker finds it (ldconfig), or install this package with the library bundled "
                  f"(CXRCAPTION_BUNDLE_LIBRARY=/path/to/{LIBRARY_NAME} pip install ./python)")


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
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
        "cxr_model_info_init": (status, [P(ModelInfo), c.c_uint32]),
        "cxr_model_info": (status, [c.c_void_p, P(ModelInfo)]),
        "cxr_model_label": (status, [c.c_void_p, c.c_int32, P(c.c_char_p)]),
        "cxr_model_token": (status, [c.c_void_p, c.c_int32, P(c.c_char_p)]),
        "cxr_model_metadata": (status, [c.c_void_p, c.c_char_p, P(c.c_char_p)]),
        "cxr_image_init": (status, [P(Image), c.c_uint32]),
        "cxr_generate_params_init": (status, [P(GenerateParams), c.c_uint32]),
        "cxr_session_create": (status, [c.c_void_p, P(c.c_void_p)]),
        "cxr_session_free": (None, [c.c_void_p]),
        "cxr_generate": (status, [c.c_void_p, P(Image), P(GenerateParams)]),
        "cxr_preprocess": (status, [c.c_void_p, P(Image), c.c_void_p, c.c_size_t]),
        "cxr_findings": (status, [c.c_void_p, P(Image), P(GenerateParams), P(c.c_float), c.c_size_t]),
        "cxr_result_count": (status, [c.c_void_p, P(c.c_int32)]),
        "cxr_result_text": (status, [c.c_void_p, c.c_int32, P(c.c_char_p)]),
        "cxr_result_log_prob": (status, [c.c_void_p, c.c_int32, P(c.c_double)]),
        "cxr_result_score": (status, [c.c_void_p, c.c_int32, P(c.c_double)]),
        "cxr_result_truncated": (status, [c.c_void_p, c.c_int32, P(c.c_int32)]),
        "cxr_result_distinct": (status, [c.c_void_p, P(c.c_int32)]),
        "cxr_result_token_count": (status, [c.c_void_p, c.c_int32, P(c.c_int32)]),
        "cxr_result_tokens": (status, [c.c_void_p, c.c_int32, P(P(c.c_int32))]),
        "cxr_result_attention": (status, [c.c_void_p, c.c_int32, P(P(c.c_float))]),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes
    return lib


_lib: Optional[ctypes.CDLL] = None
_lib_lock = threading.Lock()


def library() -> Any:
    """The loaded libcxrcaption (a ctypes.CDLL with every function's signature declared; loaded on first use,
    its ABI version checked). Raises OSError when it cannot be found or has another ABI."""
    global _lib
    if _lib is None:
        with _lib_lock:
            if _lib is None:
                path = library_path()
                lib = _declare(ctypes.CDLL(path))
                if lib.cxr_abi_version() != ABI_VERSION:
                    raise OSError(f"{path}: libcxrcaption ABI {lib.cxr_abi_version()}, this package needs "
                                  f"{ABI_VERSION}")
                _lib = lib
    return _lib


def check(status: int) -> None:
    """Raises CXRError with this thread's library message unless `status` is OK."""
    if status != Status.OK:
        raise CXRError(status, library().cxr_last_error().decode("utf-8", "replace"))


def version() -> str:
    """The library's version string, e.g. "0.1.0"."""
    return library().cxr_version().decode()


def last_error() -> str:
    """This thread's most recent library failure message ("" when none)."""
    return library().cxr_last_error().decode("utf-8", "replace")
