"""Model, Session and their results over the C handles."""

from __future__ import annotations

import ctypes
import json
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, TypeVar, Union

import numpy as np

from . import _capi
from ._capi import CXRError, JoinRule, Photometric, PixelFormat, check, library
from ._image import MAX_IMAGE_PIXELS, ImageInput, NumberPair, describe, flag, integer, real


@dataclass(frozen=True)
class ModelInfo:
    """What a model is (struct cxr_model_info)."""
    format_version: int         #: N of the weights file's "cxrcaption/N"
    vocab_size: int             #: tokens in the vocabulary, special tokens included
    input_size: int             #: side of the square model input (what Session.preprocess returns)
    input_channels: int         #: 1, or 3 for ImageNet-style weights
    has_findings_head: bool     #: whether Session.findings works
    label_count: int            #: labels of the findings head
    join_rule: int              #: a JoinRule (a plain int for a rule newer than this package)
    attention_grid: int         #: side of an attention map (input_size / 32)
    region_count: int           #: attention_grid ** 2
    preprocessing_version: int  #: version of the intake pipeline the model was trained with
    unknown_token_id: int       #: id of <nou>


@dataclass
class Result:
    """One ranked impression (best first in Session.generate's list).

    The library promises: `log_prob` and `score` are finite and <= 0, each attention row sums to 1.
    """
    text: str                   #: the tokens joined by the model's join rule
    score: float                #: log_prob / ((5 + n) / 6) ** length_penalty; the list is sorted by it
    log_prob: float             #: sum of the emitted tokens' log-probabilities (<end> included if emitted)
    truncated: bool             #: max_tokens was reached before <end>
    tokens: List[int]           #: emitted token ids (Model.token names them), without <start>/<end>
    #: float32 array (len(tokens), grid, grid): where the model looked for each token (rows sum to 1);
    #: None when return_attention was off or there are no tokens.
    attention: Optional[np.ndarray] = field(default=None, repr=False)
    #: the token strings of `tokens` (Model.token of each id), e.g. to label the attention maps.
    words: List[str] = field(default_factory=list)


_Self = TypeVar("_Self", bound="_Handle")

#: The settings a model's `generation` metadata may recommend, with the library's defaults (cxr_generate_params).
GENERATION_KEYS = {"max_tokens": 60, "length_penalty": 0.0, "suppress_unknown": False, "no_repeat_ngram_size": 0,
                   "distinct_results": False, "distinct_extra_beam": 9}


class _Handle:
    """Owner of one library handle: released by close(), by `with`, or when collected."""

    _handle: ctypes.c_void_p

    def _release(self, free_function: str) -> None:
        if getattr(self, "_handle", None):
            getattr(library(), free_function)(self._handle)
            self._handle = ctypes.c_void_p()

    def close(self) -> None:
        raise NotImplementedError

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: module globals may already be gone
            pass

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class Model(_Handle):
    """A loaded, validated model. Immutable: share one Model between threads, give each thread a Session.

        with cxrcaption.Model("model.safetensors") as model, model.session() as session:
            for result in session.generate("chest.png"):
                print(result.score, result.text)

    Attributes: `info` (a ModelInfo) and `labels` (the findings labels, in Session.findings order).
    """

    info: ModelInfo
    labels: List[str]

    def __init__(self, path: Union[str, "os.PathLike[str]", None] = None, *,
                 data: Union[bytes, bytearray, memoryview, None] = None) -> None:
        """Loads a `.safetensors` file from `path`, or from the bytes `data`. Raises CXRError (IO for a missing
        or unreadable file, INVALID_MODEL for bad contents)."""
        self._handle = ctypes.c_void_p()
        lib = library()
        if data is not None:
            data = bytes(data)
            buffer = (ctypes.c_char * max(len(data), 1)).from_buffer_copy(data or b"\0")
            check(lib.cxr_model_load_from_memory(buffer, len(data), ctypes.byref(self._handle)))
        else:
            if path is None:
                raise ValueError("Model needs a path or data=")
            check(lib.cxr_model_load(os.fsencode(path), ctypes.byref(self._handle)))
        raw = _capi.ModelInfo()
        check(lib.cxr_model_info_init(ctypes.byref(raw), ctypes.sizeof(_capi.ModelInfo)))
        check(lib.cxr_model_info(self._handle, ctypes.byref(raw)))
        values: Dict[str, Any] = {name: getattr(raw, name) for name in _capi.MODEL_INFO_FIELDS}
        values["has_findings_head"] = bool(values["has_findings_head"])
        if values["join_rule"] in JoinRule.__members__.values():
            values["join_rule"] = JoinRule(values["join_rule"])
        self.info = ModelInfo(**values)
        #: The findings labels, in the order Session.findings reports them ([] without a findings head).
        self.labels = [self._string(lib.cxr_model_label, i) for i in range(raw.label_count)]
        # The token strings, read once: Result.words needs them, also after close() (a session outlives it).
        self._vocabulary = [self._string(lib.cxr_model_token, i) for i in range(raw.vocab_size)]
        #: The decoding settings the file recommends (its `generation` metadata, docs/WEIGHTS.md), e.g.
        #: {"no_repeat_ngram_size": 3, "distinct_results": True}; {} when it has none. Session.generate applies
        #: them unless use_model_defaults=False; keywords given explicitly win.
        self.generation: Dict[str, Any] = {}
        text = ctypes.c_char_p()
        check(lib.cxr_model_metadata(self._handle, b"generation", ctypes.byref(text)))
        if text.value is not None:  # the library validated it when loading
            settings = json.loads(text.value.decode("utf-8"))
            self.generation = {k: v for k, v in settings.items() if k in GENERATION_KEYS}

    def _string(self, function: Any, index: int) -> str:
        out = ctypes.c_char_p()
        check(function(self._require(), integer("index", index), ctypes.byref(out)))
        return (out.value or b"").decode("utf-8")

    def _require(self) -> ctypes.c_void_p:
        if not self._handle:
            raise ValueError("the model is closed")
        return self._handle

    def token(self, token_id: int) -> str:
        """The string of vocabulary token `token_id` (0 ..< info.vocab_size), special tokens as they are
        ("<end>", "<nou>"). Raises CXRError (OUT_OF_RANGE) for another id."""
        token_id = integer("token_id", token_id)
        if 0 <= token_id < len(self._vocabulary):
            return self._vocabulary[token_id]
        return self._string(library().cxr_model_token, token_id)  # the library's OUT_OF_RANGE error

    def tokens(self, token_ids: List[int]) -> List[str]:
        """The strings of several token ids (e.g. Result.tokens; Result.words holds them already)."""
        return [self.token(t) for t in token_ids]

    def session(self) -> "Session":
        """A new Session on this model."""
        return Session(self)

    def close(self) -> None:
        """Releases the model (sessions keep what they need alive). Called by `with` and on collection."""
        self._release("cxr_model_free")


#: The type of Session's `should_abort`.
AbortCheck = Callable[[], Any]


class Session(_Handle):
    """Scratch memory and the results of one caller: use it from one thread at a time.

    `pixels`, the image of generate / preprocess / findings, is one of:

    ====================================  =========================================================================
    numpy array                           uint8 H x W (gray), H x W x 3 (RGB), H x W x 4 (RGBA); uint16 H x W
                                          (gray, with `bits_stored`); float32 H x W (gray, finite). float64 (and
                                          float16) H x W: converted to float32, each value rounded to the nearest
                                          float32; a NaN, an infinity or a value beyond float32's range (about
                                          3.4e38) raises ValueError naming the first such pixel (x, y). H x W x 1
                                          and 1 x H x W (channels first, one channel) are H x W. Other dtypes
                                          (signed integers, uint32, uint64, bool, complex, object) and shapes raise
                                          ValueError naming them. Arrays whose rows are internally contiguous are
                                          read in place at any positive row stride; others are copied.
    PIL.Image.Image                       converted as Pillow's convert("L") / convert("RGB") would: "L", "RGB",
                                          "RGBA", "F" as they are; "1", "LA", "La" -> gray (L); "P", "PA" -> their
                                          RGB colours (never the palette indices; transparency is dropped, the
                                          library ignores alpha); "CMYK", "YCbCr", "LAB", "HSV", "RGBX", "RGBa"
                                          -> RGB; "I;16*" -> uint16; "I" -> uint16 when every value is in
                                          0 ... 65535, else float32. Needs Pillow (the "images" extra).
    path (str or os.PathLike)             a PNG or JPEG file (read with Pillow) or a DICOM file (pydicom, then
                                          cxrcaption.dicom.dicom_image: the one DICOM mapping), recognised by
                                          content (signatures; DICOM's "DICM" at byte 128), else by extension
                                          (.png, .jpg, .jpeg, .dcm, .dicom). A DICOM file's photometric, rescale,
                                          window and bits_stored are used unless passed.
    bytes, bytearray, memoryview          raw pixels with `width`, `height`, `format` (a PixelFormat, its value
                                          or its name) and optionally `row_bytes` (0 or None: packed rows); it
                                          must hold (height - 1) x row_bytes + width x bytes per pixel bytes.
    ====================================  =========================================================================

    `max_pixels` (default MAX_IMAGE_PIXELS = 89,478,485, Pillow's default limit; None: no limit) bounds the
    images read from a path or converted from a PIL image: one with more pixels (width x height, x frames for
    DICOM) raises ImageTooLargeError (a ValueError) before anything is decoded. An array that must be copied or
    converted and has a side above MAX_IMAGE_SIDE raises ValueError before the copy.

    Image keywords, with the DICOM attributes they stand for (None: the file's value, else the default):
        photometric=Photometric.MONOCHROME1 or "MONOCHROME1"   (PhotometricInterpretation; default MONOCHROME2)
        bits_stored=12                                          (BitsStored; uint16 only; default 16)
        rescale=(slope, intercept)                              (RescaleSlope, RescaleIntercept; default (1, 0))
        window=(center, width)                                  (WindowCenter, WindowWidth; width > 1)
        use_window=False                                        (ignore the file's window: the image's own range)
    `width`, `height`, `format` and `row_bytes` describe bytes; with another input they may only repeat what
    the image is (ValueError otherwise: the library is never handed a description its buffer does not hold).

    Errors: CXRError (with the library's message) for values the library refuses (sides, bits_stored, a
    rescale slope of 0, a window width <= 1, NaN pixels, an image constant after the modality and VOI steps,
    generation parameters out of range); ValueError for inputs the package cannot hand over (dtypes, shapes,
    modes, short buffers, contradicting keywords, integers that do not fit the C fields); TypeError for
    values of the wrong type; OSError when a path cannot be read; ImportError when a path needs Pillow or
    pydicom and it is not installed.
    """

    def __init__(self, model: Model) -> None:
        self.model = model
        self._handle = ctypes.c_void_p()
        check(library().cxr_session_create(model._require(), ctypes.byref(self._handle)))

    def _require(self) -> ctypes.c_void_p:
        if not self._handle:
            raise ValueError("the session is closed")
        return self._handle

    @staticmethod
    def _params(beam_width: Any = 3, max_results: Any = None, max_tokens: Any = 60, length_penalty: Any = 0.0,
                suppress_unknown: Any = False, return_attention: Any = True, n_threads: Any = 0,
                should_abort: Optional[AbortCheck] = None, no_repeat_ngram_size: Any = 0,
                distinct_results: Any = False, distinct_extra_beam: Any = 9) -> Any:
        params = _capi.GenerateParams()
        check(library().cxr_generate_params_init(ctypes.byref(params), ctypes.sizeof(_capi.GenerateParams)))
        params.beam_width = integer("beam_width", beam_width)
        params.max_results = params.beam_width if max_results is None else integer("max_results", max_results)
        params.max_tokens = integer("max_tokens", max_tokens)
        params.length_penalty = real("length_penalty", length_penalty)
        params.suppress_unknown = int(flag("suppress_unknown", suppress_unknown))
        params.return_attention = int(flag("return_attention", return_attention))
        params.n_threads = integer("n_threads", n_threads)
        params.no_repeat_ngram_size = integer("no_repeat_ngram_size", no_repeat_ngram_size)
        params.distinct_results = int(flag("distinct_results", distinct_results))
        params.distinct_extra_beam = integer("distinct_extra_beam", distinct_extra_beam)
        callback = None
        if should_abort is not None:
            if not callable(should_abort):
                raise TypeError(f"should_abort must be a callable or None, not {type(should_abort).__name__}")

            def poll(_user_data: Any) -> int:
                try:
                    return 1 if should_abort() else 0
                except BaseException:  # an exception cannot cross the C library: it stops the call
                    return 1
            callback = _capi.ABORT_CALLBACK(poll)
            params.abort_callback = callback
        return params, callback

    def generate(self, pixels: ImageInput, *, width: Optional[int] = None, height: Optional[int] = None,
                 format: Union[PixelFormat, int, str, None] = None, row_bytes: Optional[int] = None,
                 bits_stored: Optional[int] = None, photometric: Union[Photometric, int, str, None] = None,
                 rescale: Optional[NumberPair] = None, window: Optional[NumberPair] = None,
                 use_window: bool = True, max_pixels: Optional[int] = MAX_IMAGE_PIXELS, beam_width: int = 3,
                 max_results: Optional[int] = None, max_tokens: Optional[int] = None,
                 length_penalty: Optional[float] = None, suppress_unknown: Optional[bool] = None,
                 return_attention: bool = True, n_threads: int = 0, should_abort: Optional[AbortCheck] = None,
                 no_repeat_ngram_size: Optional[int] = None, distinct_results: Optional[bool] = None,
                 distinct_extra_beam: Optional[int] = None, use_model_defaults: bool = True) -> List[Result]:
        """Captions an image: up to `max_results` (default `beam_width`) results, best first.

        `pixels` and the image keywords: see Session. Generation keywords (cxr_generate_params):
        `beam_width` (1 ... MAX_BEAM_WIDTH), `max_results` (1 ... beam_width), `max_tokens` (1 ... MAX_TOKENS,
        counting <end>), `length_penalty` (0 ... MAX_LENGTH_PENALTY), `suppress_unknown` (never emit <nou>),
        `return_attention` (Result.attention), `n_threads` (0 = all cores; results do not depend on it),
        `no_repeat_ngram_size` (n >= 1: no n-gram occurs twice in a result; 0 = off, 0 ... MAX_TOKENS),
        `distinct_results` (results whose texts differ after normalizing case, whitespace and punctuation,
        searching with up to `distinct_extra_beam` more beams, 0 ... MAX_BEAM_WIDTH; `last_distinct()` says
        whether max_results of them were found). Of these six, a keyword left at None takes the model's
        recommended value (Model.generation) when `use_model_defaults` is true (the default), else the
        library's default (max_tokens 60, length_penalty 0, suppress_unknown False, no_repeat_ngram_size 0,
        distinct_results False, distinct_extra_beam 9: the published plain beam search).
        `should_abort` is polled during the call; returning True (or raising) stops it with
        CXRError(Status.ABORTED); the session stays usable.

        Raises CXRError for images and parameters the library refuses, ValueError / TypeError for inputs the
        package cannot pass (see Session), ImageTooLargeError above `max_pixels`.
        """
        image, owner = describe(pixels, width=width, height=height, format=format, row_bytes=row_bytes,
                                bits_stored=bits_stored, photometric=photometric, rescale=rescale,
                                window=window, use_window=use_window, max_pixels=max_pixels)
        given = {"max_tokens": max_tokens, "length_penalty": length_penalty, "suppress_unknown": suppress_unknown,
                 "no_repeat_ngram_size": no_repeat_ngram_size, "distinct_results": distinct_results,
                 "distinct_extra_beam": distinct_extra_beam}
        recommended = self.model.generation if flag("use_model_defaults", use_model_defaults) else {}
        chosen = {key: value if value is not None else recommended.get(key, GENERATION_KEYS[key])
                  for key, value in given.items()}
        params, callback = self._params(beam_width, max_results, chosen["max_tokens"], chosen["length_penalty"],
                                        chosen["suppress_unknown"], return_attention, n_threads, should_abort,
                                        chosen["no_repeat_ngram_size"], chosen["distinct_results"],
                                        chosen["distinct_extra_beam"])
        check(library().cxr_generate(self._require(), ctypes.byref(image), ctypes.byref(params)))
        del owner, callback
        return [self._result(i) for i in range(self.result_count())]

    def result_count(self) -> int:
        """Results held from the last generate (0 after a failed one)."""
        count = ctypes.c_int32()
        check(library().cxr_result_count(self._require(), ctypes.byref(count)))
        return count.value

    def last_distinct(self) -> bool:
        """Whether the last generate returned max_results results whose normalized texts (case, whitespace
        and punctuation ignored; docs/DECODING.md, rule 7) are pairwise distinct (False after a failed one)."""
        distinct = ctypes.c_int32()
        check(library().cxr_result_distinct(self._require(), ctypes.byref(distinct)))
        return bool(distinct.value)

    def _result(self, index: int) -> Result:
        lib, h = library(), self._require()
        text, score, log_prob = ctypes.c_char_p(), ctypes.c_double(), ctypes.c_double()
        truncated, count = ctypes.c_int32(), ctypes.c_int32()
        tokens, attention = ctypes.POINTER(ctypes.c_int32)(), ctypes.POINTER(ctypes.c_float)()
        check(lib.cxr_result_text(h, index, ctypes.byref(text)))
        check(lib.cxr_result_score(h, index, ctypes.byref(score)))
        check(lib.cxr_result_log_prob(h, index, ctypes.byref(log_prob)))
        check(lib.cxr_result_truncated(h, index, ctypes.byref(truncated)))
        check(lib.cxr_result_token_count(h, index, ctypes.byref(count)))
        check(lib.cxr_result_tokens(h, index, ctypes.byref(tokens)))
        check(lib.cxr_result_attention(h, index, ctypes.byref(attention)))
        n, grid = count.value, self.model.info.attention_grid
        token_list = np.ctypeslib.as_array(tokens, shape=(n,)).tolist() if tokens and n else []
        maps = None
        if attention and n:
            maps = np.ctypeslib.as_array(attention, shape=(n * grid * grid,)).astype(np.float32, copy=True)
            maps = maps.reshape(n, grid, grid)
        return Result(text=(text.value or b"").decode("utf-8"), score=score.value, log_prob=log_prob.value,
                      truncated=bool(truncated.value), tokens=token_list, attention=maps,
                      words=self.model.tokens(token_list))

    def preprocess(self, pixels: ImageInput, *, width: Optional[int] = None, height: Optional[int] = None,
                   format: Union[PixelFormat, int, str, None] = None, row_bytes: Optional[int] = None,
                   bits_stored: Optional[int] = None, photometric: Union[Photometric, int, str, None] = None,
                   rescale: Optional[NumberPair] = None, window: Optional[NumberPair] = None,
                   use_window: bool = True, max_pixels: Optional[int] = MAX_IMAGE_PIXELS) -> np.ndarray:
        """What the model saw: the input_size x input_size equalized uint8 image (docs/INTAKE.md). `pixels` and
        the image keywords as for generate (see Session). Does not touch the session's results."""
        described, owner = describe(pixels, width=width, height=height, format=format, row_bytes=row_bytes,
                                    bits_stored=bits_stored, photometric=photometric, rescale=rescale,
                                    window=window, use_window=use_window, max_pixels=max_pixels)
        side = self.model.info.input_size
        out = np.empty((side, side), dtype=np.uint8)
        check(library().cxr_preprocess(self._require(), ctypes.byref(described), out.ctypes.data, out.size))
        del owner
        return out

    def findings(self, pixels: ImageInput, *, width: Optional[int] = None, height: Optional[int] = None,
                 format: Union[PixelFormat, int, str, None] = None, row_bytes: Optional[int] = None,
                 bits_stored: Optional[int] = None, photometric: Union[Photometric, int, str, None] = None,
                 rescale: Optional[NumberPair] = None, window: Optional[NumberPair] = None,
                 use_window: bool = True, max_pixels: Optional[int] = MAX_IMAGE_PIXELS, n_threads: int = 0,
                 should_abort: Optional[AbortCheck] = None) -> Dict[str, float]:
        """{label: probability in 0 ... 1} from the findings head, in Model.labels order. `pixels` and the image
        keywords as for generate (see Session); `n_threads` and `should_abort` as for generate. Raises CXRError
        (INVALID_ARGUMENT) for a model without a findings head. Does not touch the session's results."""
        described, owner = describe(pixels, width=width, height=height, format=format, row_bytes=row_bytes,
                                    bits_stored=bits_stored, photometric=photometric, rescale=rescale,
                                    window=window, use_window=use_window, max_pixels=max_pixels)
        params, callback = self._params(n_threads=n_threads, should_abort=should_abort)
        out = np.zeros(max(len(self.model.labels), 1), dtype=np.float32)
        check(library().cxr_findings(self._require(), ctypes.byref(described), ctypes.byref(params),
                                     out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size))
        del owner, callback
        return {label: float(p) for label, p in zip(self.model.labels, out)}

    def close(self) -> None:
        """Frees the session. Called by `with` and on collection."""
        self._release("cxr_session_free")


__all__ = ["CXRError", "Model", "ModelInfo", "Result", "Session"]
