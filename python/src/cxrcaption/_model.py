"""Model, Session and their results over the C handles."""

import ctypes
import os
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import numpy as np

from . import _capi
from ._capi import CXRError, JoinRule, Photometric, check, library
from ._image import describe


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
    """One ranked impression (best first in Session.generate's list)."""
    text: str                   #: the tokens joined by the model's join rule
    score: float                #: log_prob / ((5 + n) / 6) ** length_penalty; the list is sorted by it
    log_prob: float             #: sum of the emitted tokens' log-probabilities (<end> included if emitted)
    truncated: bool             #: max_tokens was reached before <end>
    tokens: List[int]           #: emitted token ids (Model.token names them), without <start>/<end>
    #: float32 array (len(tokens), grid, grid): where the model looked for each token (rows sum to 1);
    #: None when return_attention was off or there are no tokens.
    attention: Optional[np.ndarray] = field(default=None, repr=False)


class _Handle:
    """Owner of one library handle: released by close(), by `with`, or when collected."""

    def _release(self, free_function):
        if getattr(self, "_handle", None):
            getattr(library(), free_function)(self._handle)
            self._handle = ctypes.c_void_p()

    def close(self):
        raise NotImplementedError

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: module globals may already be gone
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Model(_Handle):
    """A loaded, validated model. Immutable: share one Model between threads, give each thread a Session.

        with cxrcaption.Model("model.safetensors") as model, model.session() as session:
            for result in session.generate(pixels):
                print(result.score, result.text)
    """

    def __init__(self, path=None, *, data=None):
        """Loads a `.safetensors` file from `path`, or from the bytes `data`. Raises CXRError."""
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
        values = {name: getattr(raw, name) for name in _capi.MODEL_INFO_FIELDS}
        values["has_findings_head"] = bool(values["has_findings_head"])
        if values["join_rule"] in JoinRule.__members__.values():
            values["join_rule"] = JoinRule(values["join_rule"])
        self.info = ModelInfo(**values)
        #: The findings labels, in the order Session.findings reports them ([] without a findings head).
        self.labels = [self._string(lib.cxr_model_label, i) for i in range(raw.label_count)]

    def _string(self, function, index):
        out = ctypes.c_char_p()
        check(function(self._require(), index, ctypes.byref(out)))
        return out.value.decode("utf-8")

    def _require(self):
        if not self._handle:
            raise ValueError("the model is closed")
        return self._handle

    def token(self, token_id) -> str:
        """The string of vocabulary token `token_id` (0 ..< info.vocab_size). Raises CXRError."""
        return self._string(library().cxr_model_token, token_id)

    def tokens(self, token_ids) -> List[str]:
        """The strings of several token ids (e.g. Result.tokens, to label attention maps)."""
        return [self.token(t) for t in token_ids]

    def session(self) -> "Session":
        """A new Session on this model."""
        return Session(self)

    def close(self):
        """Releases the model (sessions keep what they need alive). Called by `with` and on collection."""
        self._release("cxr_model_free")


class Session(_Handle):
    """Scratch memory and the results of one caller: use it from one thread at a time.

    Images are numpy arrays: uint8 H x W (gray), H x W x 3 (RGB), H x W x 4 (RGBA), uint16 H x W (gray, with
    `bits_stored`), float32 H x W (gray, finite). Arrays whose rows are internally contiguous are read in
    place (any positive row stride); others are copied. Or bytes with width, height and format.
    Image keywords, with the DICOM attributes they stand for:
        photometric=Photometric.MONOCHROME1  (PhotometricInterpretation)
        bits_stored=12                        (BitsStored; uint16 only)
        rescale=(slope, intercept)            (RescaleSlope, RescaleIntercept)
        window=(center, width)                (WindowCenter, WindowWidth; width > 1) or None
    """

    def __init__(self, model: Model):
        self.model = model
        self._handle = ctypes.c_void_p()
        check(library().cxr_session_create(model._require(), ctypes.byref(self._handle)))

    def _require(self):
        if not self._handle:
            raise ValueError("the session is closed")
        return self._handle

    @staticmethod
    def _params(beam_width=3, max_results=None, max_tokens=60, length_penalty=0.0, suppress_unknown=False,
                return_attention=True, n_threads=0, should_abort=None):
        params = _capi.GenerateParams()
        check(library().cxr_generate_params_init(ctypes.byref(params), ctypes.sizeof(_capi.GenerateParams)))
        params.beam_width = beam_width
        params.max_results = beam_width if max_results is None else max_results
        params.max_tokens, params.length_penalty = max_tokens, length_penalty
        params.suppress_unknown, params.return_attention = int(suppress_unknown), int(return_attention)
        params.n_threads = n_threads
        callback = None
        if should_abort is not None:
            def poll(_user_data):
                try:
                    return 1 if should_abort() else 0
                except BaseException:  # an exception cannot cross the C library: it stops the call
                    return 1
            callback = _capi.ABORT_CALLBACK(poll)
            params.abort_callback = callback
        return params, callback

    def generate(self, pixels, *, width=None, height=None, format=None, row_bytes=0, bits_stored=16,
                 photometric=Photometric.MONOCHROME2, rescale=(1.0, 0.0), window=None, beam_width=3,
                 max_results=None, max_tokens=60, length_penalty=0.0, suppress_unknown=False,
                 return_attention=True, n_threads=0,
                 should_abort: Optional[Callable[[], bool]] = None) -> List[Result]:
        """Captions an image: up to `max_results` (default `beam_width`) results, best first.

        `should_abort` is polled during the call; returning True stops it with CXRError(Status.ABORTED).
        Raises CXRError (with the library's message) for bad images or parameters, ValueError for arrays of
        an unsupported dtype or shape.
        """
        image, owner = describe(pixels, width=width, height=height, format=format, row_bytes=row_bytes,
                                bits_stored=bits_stored, photometric=photometric, rescale=rescale,
                                window=window)
        params, callback = self._params(beam_width, max_results, max_tokens, length_penalty, suppress_unknown,
                                        return_attention, n_threads, should_abort)
        check(library().cxr_generate(self._require(), ctypes.byref(image), ctypes.byref(params)))
        del owner, callback
        return [self._result(i) for i in range(self.result_count())]

    def result_count(self) -> int:
        """Results held from the last generate (0 after a failed one)."""
        count = ctypes.c_int32()
        check(library().cxr_result_count(self._require(), ctypes.byref(count)))
        return count.value

    def _result(self, index) -> Result:
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
        return Result(text.value.decode("utf-8"), score.value, log_prob.value, bool(truncated.value),
                      token_list, maps)

    def preprocess(self, pixels, **image) -> np.ndarray:
        """What the model saw: the input_size x input_size equalized uint8 image. Image keywords as for
        generate."""
        described, owner = describe(pixels, **image)
        side = self.model.info.input_size
        out = np.empty((side, side), dtype=np.uint8)
        check(library().cxr_preprocess(self._require(), ctypes.byref(described), out.ctypes.data, out.size))
        del owner
        return out

    def findings(self, pixels, *, n_threads=0, should_abort=None, **image) -> Dict[str, float]:
        """{label: probability} from the findings head, in Model.labels order. Raises CXRError
        (INVALID_ARGUMENT) for a model without a findings head."""
        described, owner = describe(pixels, **image)
        params, callback = self._params(n_threads=n_threads, should_abort=should_abort)
        out = np.zeros(max(len(self.model.labels), 1), dtype=np.float32)
        check(library().cxr_findings(self._require(), ctypes.byref(described), ctypes.byref(params),
                                     out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out.size))
        del owner, callback
        return {label: float(p) for label, p in zip(self.model.labels, out)}

    def close(self):
        """Frees the session. Called by `with` and on collection."""
        self._release("cxr_session_free")


__all__ = ["CXRError", "Model", "ModelInfo", "Result", "Session"]
