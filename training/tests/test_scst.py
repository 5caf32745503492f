"""Stage 3 (SCST): sampling, the mention reward, and a run that raises its reward and exports a valid model."""
import json
import os

import pytest
import torch

from cxrcaption_ref.export import load_model
from cxrcaption_train import scst as S
from cxrcaption_train import train as T


def test_mention_reward_counts_named_findings_against_the_rendered_ones():
    assert S.mention_reward("Cardiomegaly.", {"cardiomegaly"}) == 1.0
    assert S.mention_reward("Cardiomegaly. No pleural effusion.", {"cardiomegaly", "pleural_effusion"}) == 0.5
    assert S.mention_reward("Cardiomegaly and a right pleural effusion.", set()) == -2.0
    assert S.mention_reward("No acute disease.", set()) == 0.0


def _stage2_model(manifest, tmp_path):
    out = tmp_path / "run"
    T.main(["--smoke", "--manifest", manifest, "--out", str(out), "--image-cache", "none", "--epochs1", "1",
            "--epochs2", "3", "--lr-decoder", "3e-3"])
    return out / "model.safetensors"


def test_samples_stop_at_end_and_carry_their_log_probability(manifest, tmp_path):
    model, info = load_model(_stage2_model(manifest, tmp_path))
    sp = info["special"]
    g = info["config"].grid_size
    features = torch.rand(2, info["config"].feature_channels, g, g)
    torch.manual_seed(0)
    tokens, log_prob = S.sample(model, features, 3, sp, max_tokens=12)
    assert tokens.shape[0] == 6 and tokens.shape[1] <= 12
    assert (log_prob <= 0).all() and torch.isfinite(log_prob).all()
    for row in tokens.tolist():
        assert sp.start not in row
        if sp.end in row:  # everything after <end> is padding
            assert all(t == sp.pad for t in row[row.index(sp.end) + 1:])
        else:
            assert sp.pad not in row
    # the log-probability is the teacher-forced one of the sampled tokens up to and including <end>,
    # under the distribution without <pad> and <start>
    with torch.no_grad():
        logits, _ = model.teacher_forced(features.repeat_interleave(3, 0), tokens, sp.start)
        logits[:, :, [sp.pad, sp.start]] = float("-inf")
        per_token = torch.log_softmax(logits, dim=2).gather(2, tokens[:, :, None]).squeeze(2)
    for row, seq in enumerate(tokens.tolist()):
        length = seq.index(sp.end) + 1 if sp.end in seq else len(seq)
        assert float(log_prob[row].detach()) == pytest.approx(float(per_token[row, :length].sum()), abs=1e-4)


def test_run_raises_the_reward_keeps_the_encoder_and_exports(manifest, tmp_path):
    start = _stage2_model(manifest, tmp_path)
    out = tmp_path / "scst"
    S.main(["--model", str(start), "--manifest", manifest, "--out", str(out), "--epochs", "6", "--batch", "4",
            "--samples", "4", "--lr", "3e-3", "--dtype", "f32", "--max-tokens", "12"])
    log = [json.loads(line) for line in open(out / "scst_log.jsonl")]
    rewards = [r["train_reward"] for r in log if "train_reward" in r]
    assert len(rewards) == 6 and max(rewards[-2:]) > rewards[0], rewards
    exported = [r for r in log if r.get("event") == "exported"]
    assert exported and os.path.exists(out / "model.safetensors")
    before, _ = load_model(start)
    after, info = load_model(out / "model.safetensors")
    b, a = before.state_dict(), after.state_dict()
    for k in b:
        if k.startswith("encoder.") or k.startswith("findings."):
            assert torch.allclose(b[k], a[k]), k
    if exported[0]["best_epoch"] >= 0:
        assert any(not torch.equal(b[k], a[k]) for k in b if k.startswith("decoder."))
    assert "SCST" in info["raw"]["description"]
