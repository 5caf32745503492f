"""Tests of the cxrcaption package over libcxrcaption.so (the golden test model: input 64, 2 x 2 attention)."""
import ctypes
import json
import math
import os
import re
import threading

import numpy as np
import pytest

import cxrcaption
from cxrcaption import CXRError, Model, ModelInfo, Photometric, PixelFormat, Result, Status
from comparisons import run_python, same


def test_version_and_library():
    assert cxrcaption.library().cxr_abi_version() == cxrcaption.ABI_VERSION
    assert cxrcaption.version() == cxrcaption.__version__
    assert os.path.exists(cxrcaption.library_path())


def test_model_info_labels_tokens(model):
    info = model.info
    assert isinstance(info, ModelInfo)
    assert info.vocab_size == 30 and info.input_size == 64 and info.input_channels == 1
    assert info.attention_grid == 2 and info.region_count == 4
    assert info.has_findings_head is True and info.label_count == 3
    assert info.join_rule == 1 and info.format_version == 1 and info.preprocessing_version == 1
    assert info.join_rule is cxrcaption.JoinRule.SPACE_SEPARATED
    assert model.token(info.unknown_token_id) == "<nou>"
    assert model.labels == ["cardiomegaly", "effusion", "pneumothorax"]
    assert model.token(2) == "<end>"
    with pytest.raises(CXRError) as caught:
        model.token(info.vocab_size)
    assert caught.value.status == Status.OUT_OF_RANGE and str(info.vocab_size) in caught.value.message


def test_results_are_dataclasses_with_attention_maps(session, model, gray, rgb):
    for pixels in (gray, rgb):
        results = session.generate(pixels, beam_width=4, max_results=4)
        assert 1 <= len(results) <= 4 and all(isinstance(r, Result) for r in results)
        assert all(a.score >= b.score for a, b in zip(results, results[1:]))
        for r in results:
            assert r.log_prob <= 0 and math.isfinite(r.score) and isinstance(r.truncated, bool)
            assert all(0 <= t < model.info.vocab_size for t in r.tokens)
            assert " ".join(model.tokens(r.tokens)).replace(" ,", ",").replace(" .", ".") == r.text
            grid = model.info.attention_grid
            assert r.attention.shape == (len(r.tokens), grid, grid) and r.attention.dtype == np.float32
            assert np.allclose(r.attention.sum(axis=(1, 2)), 1, atol=1e-4)


def test_attention_is_the_c_row_major_layout(session, model, gray):
    """Region r = y * grid + x: the map of token t, flattened, is row t of cxr_result_attention."""
    result = session.generate(gray, beam_width=1)[0]
    pointer = ctypes.POINTER(ctypes.c_float)()
    assert cxrcaption.library().cxr_result_attention(session._handle, 0, ctypes.byref(pointer)) == 0
    n, regions = len(result.tokens), model.info.region_count
    flat = np.ctypeslib.as_array(pointer, shape=(n * regions,))
    assert np.array_equal(result.attention.reshape(n, regions), flat.reshape(n, regions))
    assert session.generate(gray, return_attention=False)[0].attention is None


def test_dtypes(session, gray):
    reference = session.generate(gray)
    # uint16 with bits_stored: the high bits are masked off; 8 -> 12 bits with a matching window.
    wide = (gray.astype(np.uint16) << 4) | np.uint16(0xF000)
    assert len(session.generate(wide, bits_stored=12, window=(2048, 4096))) >= 1
    # The same 8-bit levels as uint16 without a window and as float32 (own range) agree with each other.
    as16 = session.generate(gray.astype(np.uint16))
    as32 = session.generate(gray.astype(np.float32))
    assert same(as16, as32)
    # RGB, RGBA and H x W x 1.
    assert same(reference, session.generate(gray[:, :, None]))
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    assert same(reference, session.generate(rgb))
    rgba = np.concatenate([rgb, np.full(gray.shape + (1,), 9, np.uint8)], axis=2)
    assert same(reference, session.generate(rgba))
    # Big-endian uint16 is converted.
    assert same(as16, session.generate(gray.astype(">u2")))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint32, np.uint64, bool, np.complex64,
                                   object])
def test_unsupported_dtypes_raise_value_error(session, gray, dtype):
    with pytest.raises(ValueError, match="unsupported array") as caught:
        session.generate(gray.astype(dtype))
    assert f"dtype {np.dtype(dtype)} and shape {gray.shape}" in str(caught.value)


def test_strided_arrays(session, gray, rgb, monkeypatch):
    reference = session.generate(gray)
    padded = np.zeros((gray.shape[0], gray.shape[1] + 40), dtype=np.uint8)
    padded[:, 20:20 + gray.shape[1]] = gray
    view = padded[:, 20:20 + gray.shape[1]]
    assert not view.flags.c_contiguous
    # Read in place (row_bytes = the padded stride): no copy is made.
    copies = []
    original = np.ascontiguousarray
    monkeypatch.setattr(np, "ascontiguousarray", lambda a, *k, **kw: copies.append(a.shape) or original(a, *k, **kw))
    assert same(reference, session.generate(view))
    assert copies == []
    # Fortran order, column steps and flipped rows are copied, with the same results as a packed copy.
    for strided in (np.asfortranarray(gray), gray[:, ::-1], gray[::-1], padded[:, 20:20 + gray.shape[1]:1]):
        assert same(session.generate(original(strided)), session.generate(strided))
    assert len(copies) == 3
    assert same(session.generate(rgb), session.generate(np.asfortranarray(rgb)))
    # Every other row: a positive stride of 2 rows, read in place.
    assert same(session.generate(original(gray[::2])), session.generate(gray[::2]))


def test_bytes_input(session, gray):
    assert same(session.generate(gray), session.generate(gray.tobytes(), width=gray.shape[1], height=gray.shape[0],
                                                         format=PixelFormat.GRAY8))
    with pytest.raises(ValueError, match="100 bytes of pixels, but width 512, height 512, format GRAY8, row_bytes "
                                         "512 need 262144"):
        session.generate(b"\0" * 100, width=512, height=512, format=PixelFormat.GRAY8)
    # Any buffer-protocol object, read in place; the format by name too.
    data = bytearray(gray.tobytes())
    assert same(session.generate(gray), session.generate(memoryview(data), width=gray.shape[1], height=gray.shape[0],
                                                         format="gray8"))


def test_preprocess_and_findings(session, model, gray):
    seen = session.preprocess(gray)
    assert seen.shape == (64, 64) and seen.dtype == np.uint8 and seen.max() == 255
    assert np.array_equal(seen, session.preprocess(gray.astype(np.uint16) * 257))
    inverted = session.preprocess(gray, photometric=Photometric.MONOCHROME1)
    assert not np.array_equal(seen, inverted)
    findings = session.findings(gray)
    assert list(findings) == model.labels and all(0 <= p <= 1 for p in findings.values())


def test_determinism_and_windows(session, gray):
    assert same(session.generate(gray), session.generate(gray))
    narrow = session.preprocess(gray, window=(128, 16))
    assert not np.array_equal(narrow, session.preprocess(gray))


@pytest.mark.parametrize("call, status, words", [
    (lambda s, g: s.generate(g[:10]), Status.INVALID_IMAGE, "image height 10"),
    (lambda s, g: s.generate(g.tobytes(), width=0, height=512, format=PixelFormat.GRAY8),
     Status.INVALID_IMAGE, "image width 0"),
    (lambda s, g: s.generate(g.tobytes(), width=512, height=512, format=9), Status.INVALID_IMAGE, "format 9"),
    (lambda s, g: s.generate(g, rescale=(0, 0)), Status.INVALID_IMAGE, "rescale_slope is 0"),
    (lambda s, g: s.generate(np.full((32, 32), 7, np.uint8)), Status.INVALID_IMAGE, "constant"),
    (lambda s, g: s.generate(g, window=(10**6, 10)), Status.INVALID_IMAGE, "constant"),
    (lambda s, g: s.generate(g.tobytes(), width=512, height=512, format=PixelFormat.GRAY8, row_bytes=100),
     Status.INVALID_IMAGE, "row_bytes 100 is less than width 512"),
    (lambda s, g: s.generate(g.astype(np.uint16), bits_stored=0), Status.INVALID_IMAGE, "bits_stored 0"),
    (lambda s, g: s.generate(g, window=(100, 0)), Status.INVALID_IMAGE, "window_width 0"),
    (lambda s, g: s.generate(np.full((32, 32), np.nan, np.float32)), Status.INVALID_IMAGE, "nan"),
    (lambda s, g: s.generate(g, rescale=(float("inf"), 0)), Status.INVALID_IMAGE, "rescale"),
    (lambda s, g: s.generate(g, beam_width=0), Status.INVALID_ARGUMENT, "beam_width 0"),
    (lambda s, g: s.generate(g, beam_width=cxrcaption.MAX_BEAM_WIDTH + 1), Status.INVALID_ARGUMENT,
     f"beam_width {cxrcaption.MAX_BEAM_WIDTH + 1}"),
    (lambda s, g: s.generate(g, beam_width=2, max_results=3), Status.INVALID_ARGUMENT, "max_results 3"),
    (lambda s, g: s.generate(g, max_tokens=0), Status.INVALID_ARGUMENT, "max_tokens 0"),
    (lambda s, g: s.generate(g, length_penalty=float("nan")), Status.INVALID_ARGUMENT, "length_penalty"),
    (lambda s, g: s.generate(g, n_threads=-1), Status.INVALID_ARGUMENT, "n_threads -1"),
])
def test_bad_inputs_raise_the_library_message(session, gray, call, status, words):
    with pytest.raises(CXRError) as caught:
        call(session, gray)
    assert caught.value.status == status
    assert words.lower() in caught.value.message.lower()
    assert caught.value.message == cxrcaption.last_error()
    assert caught.value.message in str(caught.value)
    assert session.result_count() == 0 and len(session.generate(gray)) >= 1  # still usable


def test_bad_models_raise(model_path, tmp_path):
    with pytest.raises(CXRError) as caught:
        Model(str(tmp_path / "missing.safetensors"))
    assert caught.value.status == Status.IO and "missing.safetensors" in caught.value.message
    data = open(model_path, "rb").read()
    with pytest.raises(CXRError) as caught:
        Model(data=data[:-10])
    assert caught.value.status == Status.INVALID_MODEL and caught.value.message
    with pytest.raises(CXRError) as caught:
        Model(data=b"\x05\x00\x00\x00\x00\x00\x00\x00hello")
    assert caught.value.status == Status.INVALID_MODEL and caught.value.message
    with Model(data=data) as from_memory:
        assert from_memory.info == Model(model_path).info


def test_closed_handles_raise(model_path, gray):
    model = Model(model_path)
    session = model.session()
    model.close()  # the session keeps what it needs
    assert len(session.generate(gray)) >= 1
    session.close()
    with pytest.raises(ValueError, match="closed"):
        session.generate(gray)
    with pytest.raises(ValueError, match="closed"):
        model.session()


def test_abort(session, gray):
    before = session.generate(gray)
    polls = []
    with pytest.raises(CXRError) as caught:
        session.generate(gray, should_abort=lambda: polls.append(1) or len(polls) >= 3)
    assert caught.value.status == Status.ABORTED and len(polls) == 3
    assert session.result_count() == 0
    with pytest.raises(CXRError) as caught:
        session.generate(gray, should_abort=lambda: 1 / 0)  # an exception stops the call
    assert caught.value.status == Status.ABORTED
    assert same(before, session.generate(gray))


def test_threads_share_one_model(model, gray, rgb):
    inputs = [gray, rgb, gray[::-1].copy(), rgb[:, ::-1].copy()]
    with model.session() as s:
        expected = [s.generate(x) for x in inputs]
    errors = []

    def work(k):
        with model.session() as s:
            for _ in range(2):
                for j in range(len(inputs)):
                    i = (j + k) % len(inputs)
                    if not same(s.generate(inputs[i]), expected[i]):
                        errors.append((k, i))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


def test_library_lookup_messages(tmp_path, monkeypatch):
    """CXRCAPTION_LIBRARY naming a missing file, and no library anywhere, both say what to do."""
    code = "import cxrcaption\ntry:\n    cxrcaption.library()\nexcept OSError as e:\n    print(e)\n"
    monkeypatch.setenv("CXRCAPTION_LIBRARY", str(tmp_path / "nope.so"))
    out = run_python(code)
    assert out.returncode == 0, out.stderr
    assert "nope.so: no such file" in out.stdout


def test_repetition_control_and_distinct_results(session, gray):
    plain = session.generate(gray)
    assert isinstance(session.last_distinct(), bool)
    # no_repeat_ngram_size: no n-gram occurs twice in a result
    for n in (1, 2, 3):
        for result in session.generate(gray, no_repeat_ngram_size=n):
            grams = [tuple(result.tokens[i:i + n]) for i in range(len(result.tokens) - n + 1)]
            assert len(grams) == len(set(grams)), (n, result.tokens)
    # distinct results: pairwise different texts after normalizing case, whitespace and punctuation
    results = session.generate(gray, distinct_results=True, distinct_extra_beam=9)
    normalized = {" ".join(re.sub(r"[^\w<>]+", " ", r.text.lower()).split()) for r in results}
    assert len(normalized) == len(results)
    assert session.last_distinct() == (len(results) == 3)
    # (the best result may differ from plain search's: a widened beam can find a higher-scoring one)
    for call, words in [(lambda: session.generate(gray, no_repeat_ngram_size=-1), "no_repeat_ngram_size -1"),
                        (lambda: session.generate(gray, distinct_extra_beam=65), "distinct_extra_beam 65")]:
        with pytest.raises(CXRError, match=words):
            call()
    with pytest.raises(CXRError):
        session.generate(gray, beam_width=0)
    assert session.last_distinct() is False  # a failed call holds no results


def with_metadata(path, key, value) -> bytes:
    """The bytes of the safetensors file at `path` with `__metadata__[key] = value` (header rewritten)."""
    data = open(path, "rb").read()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    header["__metadata__"][key] = value
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    return len(encoded).to_bytes(8, "little") + encoded + data[8 + length:]


def test_model_defaults_apply_unless_switched_off_or_overridden(model_path, gray):
    plain_model = Model(model_path)
    assert plain_model.generation == {}
    settings = {"no_repeat_ngram_size": 1, "distinct_results": True, "distinct_extra_beam": 6, "top_k": 4}
    recommending = Model(data=with_metadata(model_path, "generation", json.dumps(settings)))
    assert recommending.generation == {"no_repeat_ngram_size": 1, "distinct_results": True, "distinct_extra_beam": 6}
    def key(results):
        return [(r.text, r.tokens, r.score) for r in results]

    with recommending.session() as session, plain_model.session() as plain:
        applied = session.generate(gray)
        for result in applied:
            assert len(set(result.tokens)) == len(result.tokens)  # n = 1: no token twice
        assert key(applied) == key(plain.generate(gray, no_repeat_ngram_size=1, distinct_results=True,
                                                  distinct_extra_beam=6))
        assert key(session.generate(gray, use_model_defaults=False)) == key(plain.generate(gray))
        overridden = session.generate(gray, no_repeat_ngram_size=0)  # a keyword given wins over the model
        assert key(overridden) == key(plain.generate(gray, distinct_results=True, distinct_extra_beam=6))
        # The C switch itself: use_model_defaults = 1 replaces the fields the model names.
        from cxrcaption import _capi
        from cxrcaption._image import describe
        image, owner = describe(gray)
        params, _ = session._params(no_repeat_ngram_size=0, distinct_results=False)
        params.use_model_defaults = 1
        _capi.check(_capi.library().cxr_generate(session._require(), ctypes.byref(image), ctypes.byref(params)))
        assert key([session._result(i) for i in range(session.result_count())]) == key(applied)
        params.use_model_defaults = 0
        _capi.check(_capi.library().cxr_generate(session._require(), ctypes.byref(image), ctypes.byref(params)))
        assert key([session._result(i) for i in range(session.result_count())]) == key(plain.generate(gray))
        del owner
    with pytest.raises(CXRError, match="generation"):
        Model(data=with_metadata(model_path, "generation", '{"no_repeat_ngram_size": -1}'))
