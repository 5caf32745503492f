"""Tests of the ctypes binding over libcxrcaption.so (CXRCAPTION_LIBRARY points at the built library)."""
import math
import os
import threading

import numpy as np
import pytest
from PIL import Image

import cxrcaption_ctypes as cxr
from cxrcaption_ctypes import CXRError, Model, PixelFormat, Status

GRAY = "nih_txv_00000001_000.png"
RGB = "iu_CXR3_IM-1384-1001.png"


@pytest.fixture(scope="module")
def model(model_path):
    with Model(model_path) as m:
        yield m


@pytest.fixture
def session(model):
    with model.session() as s:
        yield s


@pytest.fixture(scope="module")
def gray(fixtures):
    return np.asarray(Image.open(os.path.join(fixtures, GRAY)))


@pytest.fixture(scope="module")
def rgb(fixtures):
    return np.asarray(Image.open(os.path.join(fixtures, RGB)))


def same(a, b):
    return [(r.text, r.score, r.log_prob, r.truncated, r.tokens) for r in a] == \
        [(r.text, r.score, r.log_prob, r.truncated, r.tokens) for r in b] and \
        all(np.array_equal(x.attention, y.attention) for x, y in zip(a, b))


def test_version_and_model_info(model):
    assert cxr.library().cxr_abi_version() == cxr.ABI_VERSION
    assert cxr.version().count(".") == 2
    assert model.info["vocab_size"] == 30 and model.info["input_size"] == 64
    assert model.info["region_count"] == model.info["attention_grid"] ** 2
    assert model.labels == ["cardiomegaly", "effusion", "pneumothorax"]
    assert model.token(2) == "<end>"


def test_generate_ranks_results(session, model, gray, rgb):
    for pixels in (gray, rgb):
        results = session.generate(pixels, beam_width=4, max_results=4)
        assert 1 <= len(results) <= 4
        assert all(a.score >= b.score for a, b in zip(results, results[1:]))
        for r in results:
            assert r.log_prob <= 0 and math.isfinite(r.score)
            assert all(0 <= t < model.info["vocab_size"] for t in r.tokens)
            assert r.attention is None or r.attention.shape == (len(r.tokens), model.info["region_count"])
            if len(r.tokens):
                assert np.allclose(r.attention.sum(axis=1), 1, atol=1e-4)


def test_numpy_bytes_and_strided_views_agree(session, gray, rgb):
    from_array = session.generate(gray)
    from_bytes = session.generate(gray.tobytes(), width=gray.shape[1], height=gray.shape[0],
                                  format=PixelFormat.GRAY8)
    assert same(from_array, from_bytes)
    padded = np.zeros((gray.shape[0], gray.shape[1] + 40), dtype=np.uint8)
    padded[:, :gray.shape[1]] = gray
    assert same(from_array, session.generate(padded[:, :gray.shape[1]]))  # strided rows, no copy
    rgba = np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 7, np.uint8)], axis=2)
    assert same(session.generate(rgb), session.generate(rgba))
    assert same(session.generate(rgb), session.generate(np.asfortranarray(rgb)))  # copied to rows


def test_generate_is_deterministic_and_matches_preprocess(session, model, gray):
    assert same(session.generate(gray), session.generate(gray))
    seen = session.preprocess(gray)
    assert seen.shape == (model.info["input_size"],) * 2 and seen.dtype == np.uint8 and seen.max() == 255


def test_findings(session, gray):
    findings = session.findings(gray)
    assert list(findings) == ["cardiomegaly", "effusion", "pneumothorax"]
    assert all(0 <= p <= 1 for p in findings.values())


def test_16_bit_and_float_input(session, gray):
    as16 = gray.astype(np.uint16) * 257
    assert len(session.generate(as16, window=(32768, 65535))) >= 1
    assert len(session.generate(gray.astype(np.float32) / 255)) >= 1


@pytest.mark.parametrize("call, status, words", [
    (lambda s, g: s.generate(g[:10]), Status.INVALID_IMAGE, "image height 10"),
    (lambda s, g: s.generate(g.tobytes(), width=0, height=512, format=PixelFormat.GRAY8),
     Status.INVALID_IMAGE, "image width 0"),
    (lambda s, g: s.generate(g, format=9), Status.INVALID_IMAGE, "format 9"),
    (lambda s, g: s.generate(g.tobytes(), width=512, height=512, format=PixelFormat.GRAY8, row_bytes=100),
     Status.INVALID_IMAGE, "row_bytes 100 is less than width 512"),
    (lambda s, g: s.generate(g.astype(np.uint16), bits_stored=0), Status.INVALID_IMAGE, "bits_stored 0"),
    (lambda s, g: s.generate(g, window=(100, 0)), Status.INVALID_IMAGE, "window_width 0"),
    (lambda s, g: s.generate(np.full((32, 32), np.nan, np.float32)), Status.INVALID_IMAGE, "nan"),
    (lambda s, g: s.generate(g, beam_width=0), Status.INVALID_ARGUMENT, "beam_width 0"),
    (lambda s, g: s.generate(g, beam_width=65), Status.INVALID_ARGUMENT, "beam_width 65"),
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
    assert caught.value.message == cxr.library().cxr_last_error().decode()


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
    assert Model(data=data).info["vocab_size"] == 30


def test_result_index_out_of_range(session, gray):
    session.generate(gray)
    with pytest.raises(CXRError) as caught:
        session._result(session.result_count())
    assert caught.value.status == Status.OUT_OF_RANGE and "result index" in caught.value.message


def test_abort_raises_and_session_stays_usable(session, gray):
    before = session.generate(gray)
    polls = []
    with pytest.raises(CXRError) as caught:
        session.generate(gray, should_abort=lambda: polls.append(1) or len(polls) >= 3)
    assert caught.value.status == Status.ABORTED and len(polls) == 3
    assert session.result_count() == 0
    assert same(before, session.generate(gray))


def test_threads_share_one_model(model, gray, rgb):
    inputs = [gray, rgb, gray[::-1].copy(), rgb[:, ::-1].copy()]
    with model.session() as s:
        expected = [s.generate(x) for x in inputs]
    errors = []

    def work(k):
        with model.session() as s:
            for round in range(3):
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
