"""The documented command of training/README.md ("From the fixture, on this machine"): one epoch of each stage on
the R2Gen iu_xray fixture (PNG, JPEG and DICOM images, raw reports, labels from the labeler), the export, and
the per-study evaluation manifest; then `cxrcaption-cli eval` on it when the CLI is at hand."""
import json
import os
import subprocess
from pathlib import Path

import pytest

from cxrcaption_ref.export import load_model
from cxrcaption_train import evaluate as E
from cxrcaption_train import train as T
from cxrcaption_train.labeler import CHEXPERT_OBSERVATIONS

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "r2gen_iu_xray" / "annotation.json"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("iu") / "run"
    # the README's command, with --threads 1 and the test's folder
    T.main(["--dataset", str(FIXTURE), "--format", "r2gen", "--out", str(run), "--config", "tiny",
            "--input-size", "64", "--labels-from", "labeler", "--epochs1", "1", "--epochs2", "1",
            "--threads", "1", "--dtype", "f32", "--disclaimer", "Not for clinical use."])
    E.main(["--dataset", str(FIXTURE), "--format", "r2gen", "--out", str(run / "eval"),
            "--model", str(run / "model.safetensors")])
    return run


def _log(run):
    return [json.loads(line) for line in open(run / "log.jsonl")]


def test_trains_both_stages_on_png_jpeg_and_dicom_and_exports(trained):
    log = _log(trained)
    data = next(r for r in log if r.get("event") == "data")
    assert data["format"] == "r2gen" and data["views_seen"] == {"FRONTAL": 30, "LATERAL": 30}
    assert data["images_kept"] == 30  # frontal views only
    assert {s: data["splits"][s]["studies"] for s in ("train", "val", "test")} == {"train": 18, "val": 6, "test": 6}
    assert data["splits"]["train"]["targets"]["from"] == {"whole report": 18}  # R2Gen's reports have no headings
    assert data["labels_from"] == "labeler" and sum(data["train_label_positives"].values()) > 0
    assert [(r["stage"], r["epoch"]) for r in log if "train_loss" in r] == [(1, 0), (2, 0)]
    assert all(r["images"] == 18 for r in log if "train_loss" in r)
    model, info = load_model(trained / "model.safetensors")
    assert info["labels"] == list(CHEXPERT_OBSERVATIONS) and info["config"].input_size == 64
    assert info["raw"]["disclaimer"] == "Not for clinical use."  # shown by viewers (cxr_model_metadata)
    from cxrcaption_train.records import read_dataset, select_views
    trained_on, _ = select_views([r for r in read_dataset(str(FIXTURE)) if r.split == "train"])
    assert {os.path.splitext(r.path)[1] for r in trained_on} == {".png", ".jpg", ".dcm"}


def test_writes_the_per_study_eval_manifest(trained):
    lines = [json.loads(line) for line in open(trained / "eval" / "eval_manifest.jsonl")]
    assert len(lines) == 6 and len({l["id"] for l in lines}) == 6 and len({l["study"] for l in lines}) == 6
    assert all(l["view"] == "FRONTAL" and l["split"] == "test" and l["report"] for l in lines)
    refs = json.load(open(trained / "eval" / "references.json"))
    assert set(refs) == {l["study"] for l in lines}
    reference = json.load(open(trained / "eval" / "reference.json"))  # the PyTorch reference's captions
    assert set(reference) == set(refs) and all(len(v) == 3 for v in reference.values())


def test_cli_scores_it_per_study(trained):
    cli = os.environ.get("CXRCAPTION_CLI")
    if not cli or not os.access(cli, os.X_OK):
        pytest.skip("set CXRCAPTION_CLI to a built cxrcaption-cli to score the manifest (scripts/test sets it "
                    "for the CLI tests)")
    done = subprocess.run([cli, "eval", "--model", str(trained / "model.safetensors"), "--manifest",
                           str(trained / "eval" / "eval_manifest.jsonl"), "--json", "--threads", "1",
                           "--output", str(trained / "eval" / "eval_output.jsonl")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout)
    assert summary["images"] == 6 and summary.get("studies", 6) == 6


def test_two_views_of_one_study_train_and_validate_per_study(tmp_path):
    out = tmp_path / "all-views"
    T.main(["--dataset", str(FIXTURE), "--out", str(out), "--config", "tiny", "--input-size", "64",
            "--views", "all", "--stages", "2", "--epochs2", "1", "--max-steps", "2", "--no-export",
            "--image-cache", "none"])
    log = _log(out)
    data = next(r for r in log if r.get("event") == "data")
    assert data["splits"]["val"] == {**data["splits"]["val"], "images": 12, "studies": 6}
    epoch = next(r for r in log if "train_loss" in r)
    assert epoch["val_studies_decoded"] == 6  # one caption per study, from its frontal image
