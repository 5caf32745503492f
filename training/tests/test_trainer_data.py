"""The trainer's data side: targets from raw reports (counted by origin, empty ones skipped, long ones cut and
counted), stage-1 labels (dataset or labeler, uncertain mentions, no labels is an error), the streaming
dataset against the old in-RAM cache, and per-study evaluation with two views of one study."""
import json
import os

import numpy as np
import pytest
import torch
from PIL import Image

from cxrcaption_ref import preprocess
from cxrcaption_ref.model import ModelConfig
from cxrcaption_train import evaluate as E
from cxrcaption_train import train as T
from cxrcaption_train.caches import ShardedArray
from cxrcaption_train.dataset import (ImageDataset, LabelSpec, build_split, candidate_per_study, collect_targets,
                                      equalized_cache, label_matrix, make_collate, to_model_input)
from cxrcaption_train.labeler import CHEXPERT_OBSERVATIONS, label_report
from cxrcaption_train.records import ImageRecord, read_dataset

from .helpers import learnable_image, write_tiny_manifest

REPORTS = {
    # (report text, what target_text makes of it for the impression)
    "section": "FINDINGS: The heart is enlarged. No effusion.\nIMPRESSION: Cardiomegaly.",
    "whole": "Heart size normal. Lungs are clear. No pneumothorax.",
    "empty": "FINDINGS: Lungs are clear.\nCOMPARISON: None.",  # headings, but no impression: nothing to train on
    "long": "IMPRESSION: " + " ".join(["small right pleural effusion and basilar atelectasis"] * 6) + ".",
}


def _image(path, kind, rng):
    Image.fromarray(learnable_image(kind, rng)).save(path)


def write_report_manifest(root, per_kind=3, with_labels=True):
    """A JSONL dataset whose lines carry raw reports (no impression field): per_kind images of each REPORTS
    kind in train, two of each in val, one in test."""
    rng = np.random.default_rng(1)
    os.makedirs(root / "images", exist_ok=True)
    lines = []
    for split, n in (("train", per_kind), ("val", 2), ("test", 1)):
        for kind, text in REPORTS.items():
            for i in range(n):
                name = f"images/{split}_{kind}_{i}.png"
                _image(root / name, "cardiomegaly" if kind == "section" else "", rng)
                line = {"id": f"{split}-{kind}-{i}", "image": name, "split": split, "report": text}
                if with_labels:
                    line["labels"] = ["cardiomegaly"] if kind == "section" else []
                lines.append(line)
    path = root / "manifest.jsonl"
    path.write_text("\n".join(json.dumps(l) for l in lines) + "\n")
    return str(path)


def _data_event(out):
    return next(r for r in map(json.loads, open(os.path.join(out, "log.jsonl"))) if r.get("event") == "data")


def test_targets_are_counted_by_origin_empty_ones_skipped_long_ones_cut(tmp_path):
    manifest = write_report_manifest(tmp_path / "data")
    out = tmp_path / "run"
    T.main(["--smoke", "--manifest", manifest, "--out", str(out), "--max-len", "12", "--epochs1", "1",
            "--epochs2", "1", "--image-cache", "none", "--no-export", "--min-count", "1"])
    train = _data_event(out)["splits"]["train"]
    assert train["targets"] == {"from": {"section": 6, "whole report": 3}, "empty_skipped": 3,
                                "cut_by_max_len": 3,
                                "empty_examples": [f"train-empty-{i} (study train-empty-{i})" for i in range(3)]}
    assert train["images"] == 9  # the three empty targets are not trained on
    vocab = json.load(open(out / "vocab.json"))
    assert "cardiomegaly" in vocab and "comparison" not in vocab and "none" not in vocab
    epochs = [r for r in map(json.loads, open(out / "log.jsonl")) if "train_loss" in r]
    assert [r["images"] for r in epochs] == [9, 9]


def test_empty_targets_and_cut_counts_at_the_source():
    records = [ImageRecord(f"i{k}", f"s{k}", f"/x/{k}.png", "train", report=text)
               for k, text in enumerate(REPORTS.values())]
    kept, counts = collect_targets(records, "en", "impression")
    assert [r.image_id for r, _ in kept] == ["i0", "i1", "i3"]
    assert counts.empty == 1 and counts.empty_examples == ["i2 (study s2)"]
    data, cut = build_split("train", kept, ["<pad>", "<start>", "<end>", "<nou>", "cardiomegaly"], "en", 5, [],
                            LabelSpec())
    # "cardiomegaly ." fits in 5 ids with <end>; the whole report (10 tokens) and the long impression are cut
    assert cut == 2
    assert [len(data.targets.tokens(i)) for i in range(3)] == [3, 5, 5]
    assert all(data.targets.tokens(i)[-1] == 2 for i in range(3))  # <end> kept after the cut


def test_stage_1_without_labels_is_an_error_and_the_labeler_gives_them(tmp_path):
    manifest = write_report_manifest(tmp_path / "data", with_labels=False)
    common = ["--smoke", "--manifest", manifest, "--epochs1", "1", "--epochs2", "1", "--image-cache", "none",
              "--no-export", "--min-count", "1"]
    with pytest.raises(SystemExit, match="stage 1 needs finding labels and the dataset gives no finding labels"):
        T.main(common + ["--out", str(tmp_path / "none")])
    T.main(common + ["--out", str(tmp_path / "stage2"), "--stages", "2"])  # no stage 1, no labels: fine
    out = tmp_path / "labeler"
    T.main(common + ["--out", str(out), "--labels-from", "labeler"])
    event = _data_event(out)
    assert event["labels"] == 14 and json.load(open(out / "labels.json")) == list(CHEXPERT_OBSERVATIONS)
    assert event["train_label_positives"]["Cardiomegaly"] == 3 and event["train_label_positives"]["No Finding"] == 3
    assert [r["stage"] for r in map(json.loads, open(out / "log.jsonl")) if "train_loss" in r] == [1, 2]


def test_uncertain_mentions_follow_the_policy():
    text = "Heart size is enlarged. Small left pleural effusion cannot be excluded."
    found = label_report(text)
    assert found.get("Cardiomegaly") == 1 and found.get("Pleural Effusion") == -1
    records = [ImageRecord("a", "s", "/x.png", "train", report=text),
               ImageRecord("b", "s", "/y.png", "train", report=text)]  # one study: labeled once, both images
    names = list(CHEXPERT_OBSERVATIONS)
    cardio, effusion = names.index("Cardiomegaly"), names.index("Pleural Effusion")
    for policy, value, weight in (("positive", 1, 1), ("negative", 0, 1), ("ignore", 0, 0)):
        y, mask = label_matrix(records, names, LabelSpec("labeler", policy))
        assert (y[:, cardio] == 1).all() and (mask[:, cardio] == 1).all()
        assert (y[:, effusion] == value).all() and (mask[:, effusion] == weight).all(), policy
        assert y.sum() == 2 * (1 + value)  # nothing else was said
    # dataset labels: a record without a label list is unknown (masked), not "no findings"
    recs = [ImageRecord("a", "s1", "/x.png", "train", labels=("Edema",)),
            ImageRecord("b", "s2", "/y.png", "train", labels=None)]
    y, mask = label_matrix(recs, ["Edema", "Fracture"], LabelSpec("dataset"))
    assert y.tolist() == [[1, 0], [0, 0]] and mask.tolist() == [[1, 1], [0, 0]]


# ------------------------------------------------------------------------------------------- streaming

def _old_equalized(path, size):
    """The in-RAM cache the trainer had before (dataset.EqualizedCache): Pillow's array, 16 bits when the
    PNG is 16-bit, then the intake."""
    with Image.open(path) as im:
        if im.mode in ("I;16", "I;16B", "I;16L"):
            a = np.array(im, dtype=np.uint16)
        elif im.mode == "I":
            a = np.clip(np.array(im), 0, 65535).astype(np.uint16)
        elif im.mode == "L":
            a = np.array(im, dtype=np.uint8)
        else:
            a = np.array(im.convert("RGB"), dtype=np.uint8)
    return preprocess.equalized_image(a, bits_stored=16 if a.dtype == np.uint16 else 8, size=size)


@pytest.fixture(scope="module")
def phantom_manifest(tmp_path_factory):
    """A few real phantoms (cxrcaption_phantoms.render, 512 px, 16-bit) and the tiny learnable images, in one
    JSONL manifest."""
    from cxrcaption_phantoms.findings import Finding
    from cxrcaption_phantoms.render import render, save_png16
    root = tmp_path_factory.mktemp("phantoms")
    manifest = write_tiny_manifest(root)
    lines = [json.loads(l) for l in open(manifest)]
    for k, findings in enumerate(([], [Finding("cardiomegaly", severity="moderate")],
                                  [Finding("pleural_effusion", "right", severity="large")])):
        name = f"images/phantom_{k}.png"
        save_png16(str(root / name), render(findings, seed=k).image)
        lines.append({"id": f"ph{k}", "image": name, "split": "train", "impression": "no acute disease.",
                      "labels": [f.kind for f in findings]})
    open(manifest, "w").write("\n".join(json.dumps(l) for l in lines) + "\n")
    return manifest


def test_streaming_dataset_equals_the_old_cached_one(phantom_manifest, tmp_path):
    config = ModelConfig(input_size=64)
    records = [r for r in read_dataset(phantom_manifest) if r.split == "train"]
    kept, _ = collect_targets(records, "en", "impression")
    data, _ = build_split("train", kept, ["<pad>", "<start>", "<end>", "<nou>"], "en", 40, ["cardiomegaly"],
                          LabelSpec())
    streaming = ImageDataset(data.paths, data.targets, 64, config)
    cache = equalized_cache(data.paths, 64, str(tmp_path / "cache"), workers=0)
    cached = ImageDataset(data.paths, data.targets, 64, config, cache=cache)
    assert len(streaming) == 15 and isinstance(cache, ShardedArray) and cache.item_bytes == 64 * 64
    for i in range(len(streaming)):
        old = torch.from_numpy(to_model_input(_old_equalized(data.path(i), 64), config))
        x, tokens, labels, mask, index = streaming[i]
        assert index == i and x.dtype == torch.float32 and torch.equal(x, old), data.path(i)
        assert torch.equal(cached[i][0], old)
        assert tokens[-1].item() == 2 and labels.shape == mask.shape == (1,)
    # through a DataLoader with 2 workers (each reads its own images): the same batches
    loader = torch.utils.data.DataLoader(streaming, batch_size=4, num_workers=2, collate_fn=make_collate(0))
    batches = list(loader)
    assert torch.equal(torch.cat([b[0] for b in batches]), torch.stack([streaming[i][0] for i in range(15)]))


def test_candidate_is_the_first_frontal_image_of_a_study():
    studies = ["a", "a", "b", "b", "c", "c", "d"]
    views = ["LATERAL", "PA", "AP", "PA", None, "LL", "LATERAL"]
    assert candidate_per_study(studies, views) == [1, 2, 4, 6]


def test_evaluation_scores_per_study_with_two_views(tmp_path):
    rng = np.random.default_rng(2)
    os.makedirs(tmp_path / "images")
    rows = [("train", "t1", "t1-pa", "PA", "Cardiomegaly."), ("train", "t2", "t2-pa", "PA", "No acute disease."),
            ("test", "s1", "s1-lat", "LATERAL", "Small effusion."), ("test", "s1", "s1-pa", "PA", "Small effusion."),
            ("test", "s2", "s2-ap", "AP", "Clear lungs."), ("test", "s2", "s2-pa", "PA", "Clear lungs."),
            ("test", "s3", "s3-only", None, "Normal heart.")]
    lines = []
    for split, study, image_id, view, impression in rows:
        _image(tmp_path / "images" / f"{image_id}.png", "", rng)
        line = {"id": image_id, "study": study, "image": f"images/{image_id}.png", "split": split,
                "impression": impression, "labels": []}
        if view:
            line["view"] = view
        lines.append(line)
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("\n".join(json.dumps(l) for l in lines) + "\n")
    for views, images in (("frontal", 4), ("all", 5)):
        out = tmp_path / f"eval-{views}"
        E.main(["--manifest", str(manifest), "--out", str(out), "--views", views])
        refs = json.load(open(out / "references.json"))
        assert refs == {"s1": ["Small effusion."], "s2": ["Clear lungs."], "s3": ["Normal heart."]}
        studies = json.load(open(out / "studies.json"))
        assert {k: v["candidate"] for k, v in studies.items()} == {"s1": "s1-pa", "s2": "s2-ap", "s3": "s3-only"}
        assert json.load(open(out / "images.json"))["s1"].endswith("s1-pa.png")
        manifest_lines = [json.loads(l) for l in open(out / "eval_manifest.jsonl")]
        assert len(manifest_lines) == images and len({l["id"] for l in manifest_lines}) == images
        assert [l["study"] for l in manifest_lines] == ["s1"] * (images - 3) + ["s2", "s2", "s3"]
        assert {l["id"]: l.get("view") for l in manifest_lines}["s2-ap"] == "AP"
        assert set(json.load(open(out / "constant.json"))) == {"s1", "s2", "s3"}
