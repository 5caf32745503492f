"""The committed golden fixtures are what the reference code computes (guards against drift).

Tolerances are loose enough for another machine's float32 kernels; exact token sequences are what matter.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from cxrcaption_ref.beam import BeamParameters, detokenize, distinct_complete, model_beam_search
from cxrcaption_ref.export import load_model

GOLDEN = Path(__file__).resolve().parents[2] / "Tests" / "CXRKitTests" / "Fixtures" / "golden"

pytestmark = pytest.mark.skipif(not (GOLDEN / "cases.json").exists(), reason=f"no fixtures at {GOLDEN}")


@pytest.fixture(scope="module")
def golden():
    doc = json.loads((GOLDEN / "cases.json").read_text())
    model, info = load_model(GOLDEN / doc["models"]["f32"])
    return doc, model, info, load_file(str(GOLDEN / "cases.safetensors"))


def test_fixture_files_are_small_and_models_identical(golden):
    doc, model, _, _ = golden
    assert sum(p.stat().st_size for p in GOLDEN.iterdir()) < 2_000_000
    for key in ("f16", "bf16"):
        other, _ = load_model(GOLDEN / doc["models"][key])
        for name, value in model.state_dict().items():
            assert torch.equal(value, other.state_dict()[name]), (key, name)


def test_tensors_match_the_reference(golden):
    doc, model, info, tensors = golden
    special = info["special"]
    with torch.no_grad():
        for case in doc["cases"]:
            i = case["index"]
            x = tensors[f"input{i}"]
            assert x.shape == (1, 64, 64)
            V = model.encode(x.unsqueeze(0))
            torch.testing.assert_close(V[0], tensors[f"features{i}"], rtol=0, atol=1e-5)
            tokens = tensors[f"tokens{i}"]
            assert tokens.tolist() == case["teacher_tokens"]
            logits, _ = model.teacher_forced(V, tokens.long().unsqueeze(0), special.start)
            assert tensors[f"logits{i}"].shape == (len(tokens), len(info["vocab"]))
            torch.testing.assert_close(logits[0], tensors[f"logits{i}"], rtol=0, atol=1e-5)
            torch.testing.assert_close(model.findings_probabilities(V)[0], tensors[f"findings{i}"], rtol=0, atol=1e-6)


def test_beam_results_match_the_reference(golden):
    doc, model, info, tensors = golden
    with torch.no_grad():
        for case in doc["cases"]:
            V = model.encode(tensors[f"input{case['index']}"].unsqueeze(0))
            for run in case["runs"]:
                params = BeamParameters(**run["params"])
                got = model_beam_search(model, V, info["special"], params, vocab=info["vocab"], join=info["join"])
                want = run["results"]
                assert [r.tokens for r in got] == [w["tokens"] for w in want], run["name"]
                texts = [detokenize(r.tokens, info["vocab"], info["join"]) for r in got]
                assert texts == [w["text"] for w in want], run["name"]
                assert distinct_complete(got, texts, info["join"], params.results) == run["distinct_complete"]
                for r, w in zip(got, want):
                    assert r.truncated == w["truncated"]
                    assert r.log_prob == pytest.approx(w["log_prob"], abs=1e-4)
                    assert r.score == pytest.approx(w["score"], abs=1e-4)
                    regions = doc["grid"] ** 2
                    np.testing.assert_allclose(np.array(r.attention).reshape(len(r.tokens), regions),
                                               np.array(w["attention"]).reshape(len(r.tokens), regions), atol=1e-5)
                    assert all(abs(sum(row) - 1) < 1e-5 for row in w["attention"])
