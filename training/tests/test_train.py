"""Trainer: data intake, losses, frozen stem, loss going down, checkpoints/resume, export."""
import json
import os

import numpy as np
import torch

from cxrcaption_ref import preprocess
from cxrcaption_ref.export import load_model
from cxrcaption_ref.model import CaptionModel
from cxrcaption_train import train as T
from cxrcaption_train.dataset import target_for
from cxrcaption_train.images import equalized_image, read_image
from cxrcaption_train.records import read_dataset
from .helpers import TEXTS

def _args(manifest, out, *extra):
    return ["--smoke", "--manifest", manifest, "--out", str(out), "--image-cache", "none", *extra]


def _log(out):
    return [json.loads(l) for l in open(os.path.join(out, "log.jsonl"))]


def test_manifest_and_intake(manifest):
    records = read_dataset(manifest)
    assert len(records) == 21 and os.path.isabs(records[0].path)
    a, keywords = read_image(records[0].path)
    assert a.dtype == np.uint16 and a.shape == (96, 96) and keywords == {"bits_stored": 16}
    eq = equalized_image(records[0].path, 64)
    assert np.array_equal(eq, preprocess.equalized_image(a, bits_stored=16, size=64))
    assert target_for(records[1]) == (TEXTS["cardiomegaly"], "source")
    zh, how = target_for(records[2], "zh")
    assert "胸腔积液" in zh and how == "phantom findings" and target_for(records[2], "zh") == (zh, how)


def test_token_loss_ignores_padding():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 7)
    tokens = torch.tensor([[4, 5, 2], [6, 2, 0]])
    padded_logits = torch.cat([logits, torch.randn(2, 2, 7)], 1)
    padded_tokens = torch.cat([tokens, torch.zeros(2, 2, dtype=torch.long)], 1)
    a = T.token_loss(logits, tokens, 0)
    b = T.token_loss(padded_logits, padded_tokens, 0)
    assert torch.allclose(a, b)
    manual = torch.nn.functional.cross_entropy(logits[tokens != 0], tokens[tokens != 0])
    assert torch.allclose(a, manual)


def test_split_stem_freezes_exactly_the_first_blocks():
    model = CaptionModel(T.PRESETS["tiny"], 10, 2)
    stem, rest = T.split_stem(model)
    assert [n for n, _ in stem.named_children()] == list(T.FROZEN_STEM)
    assert [n for n, _ in rest.named_children()] == ["transition2", "denseblock3", "transition3", "denseblock4",
                                                     "norm5"]
    x = torch.randn(2, 1, 64, 64)
    model.eval()
    assert torch.allclose(torch.relu(rest(stem(x))), model.encode(x), atol=1e-6)


def test_smoke_run_learns_freezes_and_exports(manifest, tmp_path):
    out = tmp_path / "run"
    T.main(_args(manifest, out, "--epochs1", "3", "--epochs2", "3", "--lr-decoder", "3e-3"))
    log = _log(out)
    s1 = [r["train_loss"] for r in log if r.get("stage") == 1 and "train_loss" in r]
    s2 = [r["train_loss"] for r in log if r.get("stage") == 2 and "train_loss" in r]
    assert len(s1) == 3 and len(s2) == 3
    assert s2[-1] < s2[0], f"stage 2 loss did not go down: {s2}"
    # frozen stem: stage-2 best weights keep the stage-1 stem exactly, the rest moved
    w1 = torch.load(out / "best_stage1.pt", weights_only=False)["model"]
    w2 = torch.load(out / "best_stage2.pt", weights_only=False)["model"]
    for k in w1:
        if k.startswith("encoder.features.") and k.split(".")[2] in T.FROZEN_STEM:
            assert torch.equal(w1[k], w2[k]), k
    assert not torch.equal(w1["encoder.features.denseblock4.denselayer1.conv1.weight"],
                           w2["encoder.features.denseblock4.denselayer1.conv1.weight"])
    assert not torch.equal(w1["decoder.out_h.weight"], w2["decoder.out_h.weight"])
    # export
    model, info = load_model(out / "model.safetensors")
    vocab = json.load(open(out / "vocab.json"))
    assert info["vocab"] == vocab and info["join"] == " " and info["raw"]["tokenizer"] == "en"
    assert info["labels"][:2] == ["cardiomegaly", "pleural_effusion"]
    assert "cardiomegaly" in vocab and "effusion" in vocab


def test_decoder_overfits_a_tiny_set(manifest, tmp_path):
    """Many stage-2 steps on 12 images: the token loss must fall well below its start."""
    out = tmp_path / "fit"
    T.main(_args(manifest, out, "--stages", "2", "--epochs2", "3", "--lr-decoder", "1e-2", "--batch-size", "4",
                 "--no-export"))
    s2 = [r["train_loss"] for r in _log(out) if r.get("stage") == 2 and "train_loss" in r]
    assert s2[-1] < 0.7 * s2[0], s2


def test_resume_skips_finished_stage_and_continues(manifest, tmp_path):
    out = tmp_path / "resume"
    T.main(_args(manifest, out, "--stages", "1", "--epochs1", "2", "--no-export"))
    assert os.path.exists(out / "last.pt")
    T.main(_args(manifest, out, "--resume", "--epochs1", "2", "--epochs2", "1", "--no-export"))
    log = _log(out)
    stage1_epochs = [r["epoch"] for r in log if r.get("stage") == 1 and "train_loss" in r]
    assert stage1_epochs == [0, 1], "stage 1 must not run again after resume"
    assert [r["epoch"] for r in log if r.get("stage") == 2 and "train_loss" in r] == [0]
    # a longer stage 2 continues at the next epoch
    T.main(_args(manifest, out, "--resume", "--epochs1", "2", "--epochs2", "2", "--no-export"))
    assert [r["epoch"] for r in _log(out) if r.get("stage") == 2 and "train_loss" in r] == [0, 1]


def test_chinese_run_exports_join_empty(manifest, tmp_path):
    out = tmp_path / "zh"
    T.main(_args(manifest, out, "--language", "zh", "--epochs1", "1", "--epochs2", "1", "--min-count", "1"))
    _, info = load_model(out / "model.safetensors")
    assert info["join"] == "" and info["raw"]["tokenizer"] == "zh"
    assert any("积液" in t or "胸腔" in t for t in info["vocab"])


def test_baselines_constant_and_label_oracle():
    from cxrcaption_train.evaluate import constant_baseline, oracle_baseline
    train = [{"impression": "No acute disease.", "labels": []}, {"impression": "No acute  disease.", "labels": []},
             {"impression": "Cardiomegaly.", "labels": ["cardiomegaly"]},
             {"impression": "Cardiomegaly and effusion.", "labels": ["cardiomegaly", "pleural_effusion"]},
             {"impression": "Right effusion.", "labels": ["pleural_effusion"]}]
    assert constant_baseline(train) == "No acute disease."
    test = [{"id": "a", "labels": []}, {"id": "b", "labels": ["cardiomegaly"]},
            {"id": "c", "labels": ["cardiomegaly", "pleural_effusion", "nodule"]}, {"id": "d", "labels": ["mass"]}]
    got = oracle_baseline(train, test)
    assert got["a"] == "No acute disease."
    assert got["b"] == "Cardiomegaly."
    assert got["c"] == "Cardiomegaly and effusion."
    # nothing shares a label with {mass}: every set is at distance 1, the most frequent impression wins
    assert got["d"] == "No acute disease."


def test_time_budget_stops_the_stage_and_resume_keeps_it_finished(manifest, tmp_path):
    out = tmp_path / "budget"
    # a budget of ~0 s: each stage stops after its first optimizer step, validates and keeps that epoch
    T.main(_args(manifest, out, "--epochs1", "3", "--epochs2", "3", "--time-budget1", "1e-6",
                 "--time-budget2", "1e-6", "--no-export"))
    log = _log(out)
    s1 = [r for r in log if r.get("stage") == 1 and "train_loss" in r]
    s2 = [r for r in log if r.get("stage") == 2 and "train_loss" in r]
    assert [r["epoch"] for r in s1] == [0] and [r["epoch"] for r in s2] == [0]
    assert s1[0]["images"] < 12 and s2[0]["images"] < 12  # stopped inside the epoch (12 train images)
    events = [r.get("event") for r in log]
    assert "stage1_time_budget" in events and "stage2_time_budget" in events
    assert os.path.exists(out / "best_stage1.pt") and os.path.exists(out / "best_stage2.pt")
    # resuming does not reopen stages that ended on their budget
    T.main(_args(manifest, out, "--resume", "--epochs1", "3", "--epochs2", "3", "--no-export"))
    assert [r for r in _log(out) if "train_loss" in r] == s1 + s2


def test_select1_auc_keeps_the_best_auc_epoch(manifest, tmp_path):
    out = tmp_path / "auc"
    T.main(_args(manifest, out, "--stages", "1", "--epochs1", "3", "--select1", "auc", "--no-export"))
    s1 = [r for r in _log(out) if r.get("stage") == 1 and "train_loss" in r]
    aucs = [r["val_macro_auc"] for r in s1]
    kept = torch.load(out / "best_stage1.pt", weights_only=False)
    assert kept["epoch"] == int(np.argmax(aucs))  # first epoch with the highest AUC
    assert abs(kept["best"] + max(aucs)) < 1e-9


def test_ceiling_picks_the_impression_that_scores_best_for_the_drawn_findings():
    from cxrcaption_train.evaluate import ceiling_baseline
    effusion = [{"kind": "pleural_effusion", "side": "right", "severity": "large"}]
    cardio = [{"kind": "cardiomegaly", "severity": "mild"}]
    train = ([{"impression": "No acute disease.", "findings_spec": []}] * 5
             + [{"impression": "Large right pleural effusion.", "findings_spec": effusion}] * 2
             + [{"impression": "Right pleural effusion, large.", "findings_spec": effusion}]
             + [{"impression": "Mild cardiomegaly.", "findings_spec": cardio}] * 2)
    test = [{"id": "n", "findings_spec": []}, {"id": "e", "findings_spec": effusion},
            {"id": "c", "findings_spec": cardio}, {"id": "ec", "findings_spec": effusion + cardio}]
    got = ceiling_baseline(train, test)
    assert got["n"] == "No acute disease."
    assert got["e"] == "Large right pleural effusion."  # the phrasing closest to all effusion impressions
    assert got["c"] == "Mild cardiomegaly."
    assert got["ec"] in {"Large right pleural effusion.", "Mild cardiomegaly."}
