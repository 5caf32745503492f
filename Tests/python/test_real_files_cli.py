"""Every CLI command on the real files of ../shared/data/real-cxr (DICOM, JPEG, PNG; ../shared/data/SOURCES.md).

Skipped, with a message, when ../shared is absent (a fresh clone). With the golden model (input 64) it runs in
seconds; the captions are nonsense, what is tested is that every real file is read, captioned, preprocessed
exactly as the Python definitions read it (pydicom + cxrcaption.dicom.dicom_image, Pillow; then the numpy
intake) and evaluated per study.

    python -m pytest Tests/python/test_real_files_cli.py -v
"""
import csv
import json
from pathlib import Path

import numpy as np
import pytest
from cli_support import run_cli

from test_preprocess_cli import MODEL, SIZE, pp, python_dicom

REPO = Path(__file__).resolve().parents[2]
REAL = REPO.parent / "shared" / "data" / "real-cxr"

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"{REAL} is absent: the real-file CLI tests are skipped")

KINDS = {".dcm": "DICOM", ".jpg": "JPEG", ".png": "PNG"}


def real_files():
    if not REAL.is_dir():
        return []
    return sorted(p for p in REAL.rglob("*") if p.suffix.lower() in KINDS)


def pillow_array(path):
    """What Pillow gives for a real PNG or JPEG, as intake takes it (scripts/intake_parity.py's rule)."""
    from PIL import Image
    with Image.open(path) as image:
        if image.mode in ("P", "PA"):
            image = image.convert("RGBA" if "transparency" in image.info or image.mode == "PA" else "RGB")
        array = np.asarray(image)
    if array.ndim == 3 and array.shape[2] == 2:
        array = np.ascontiguousarray(array[:, :, 0])
    if array.dtype == np.int32:
        array = array.astype(np.uint16)
    return array


def test_every_kind_is_there():
    kinds = {KINDS[p.suffix.lower()] for p in real_files()}
    assert kinds == {"DICOM", "JPEG", "PNG"}, kinds


def test_caption_reads_every_real_file(tmp_path):
    done = run_cli("caption", "--model", MODEL, "--max-tokens", 6, "--json", "--recursive", "--quiet", REAL,
                   timeout=600)
    assert done.returncode == 0, done.stderr
    reports = {Path(r["image"]): r for r in json.loads(done.stdout)}
    assert set(reports) == set(real_files())
    for path, report in reports.items():
        assert report["error"] is None and report["skipped"] is None and report["results"], (path, report)
        assert report["view"] == ("PA" if path.suffix == ".dcm" else None), path
    assert str(REAL / "iu" / "pairs.csv") in done.stderr  # the one non-image, listed


@pytest.mark.parametrize("path", real_files(), ids=[str(p.relative_to(REAL)) for p in real_files()])
def test_preprocess_equals_the_python_definitions(path, tmp_path):
    out = tmp_path / "out.raw"
    done = run_cli("preprocess", path, "--model", MODEL, "-o", out, timeout=300)
    assert done.returncode == 0, done.stderr
    actual = np.fromfile(out, dtype=np.uint8)
    if path.suffix == ".dcm":
        expected = python_dicom(path)
    else:
        expected = pp.equalized_image(pillow_array(path), size=SIZE)
    assert np.array_equal(actual, expected.ravel()), path


def test_eval_per_study_on_real_files(tmp_path):
    rows = []
    with open(REAL / "iu" / "pairs.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):  # two studies have two views each
            rows.append({"id": r["image"], "study": "iu" + r["report_id"], "image": str(REAL / "iu" / r["image"]),
                         "report": r["impression"], "split": "test"})
    report = "No acute cardiopulmonary abnormality identified."  # a made-up reference for the others
    for path in sorted((REAL / "dicom").glob("*.dcm")) + sorted((REAL / "misc").glob("*.jpg")):
        rows.append({"id": path.name, "image": str(path), "report": report, "split": "test"})
    manifest = tmp_path / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    output = tmp_path / "out.jsonl"
    done = run_cli("eval", "--model", MODEL, "--manifest", manifest, "--json", "--output", output,
                   "--max-tokens", 8, "--quiet", timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    studies = len({r.get("study", r["id"]) for r in rows})
    assert (summary["images"], summary["studies"], summary["scored"], summary["failures"]) == \
        (len(rows), studies, studies, 0)
    assert summary["views"]["frontal"] == 2  # the DICOMs' ViewPosition PA
    records = [json.loads(line) for line in output.read_text().splitlines()]
    assert sum(r["scored"] for r in records) == studies
