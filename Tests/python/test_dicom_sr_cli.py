"""Tests of `cxrcaption-cli caption --dicom-sr DIR`: the Enhanced SR written for each DICOM image, read back
with pydicom (and with DCMTK's dsrdump when it is installed: the `dcmtk` apt package).

Checks the text (ranked impressions, their probabilities, the findings head's probabilities, the model's name,
version, file hash and disclaimer), the references (the source's Study, Series and SOP Instance UIDs in the
evidence sequence and the IMAGE item), the UIDs (new Series and SOP Instance UIDs, the source's study), the
copied patient and study attributes, the messages for non-DICOM inputs and bad sources, and the Secondary
Capture of the heat-map overview that --heatmaps adds.

Uses the golden model (no disclaimer in its metadata), the demo model in models/ (metadata: "Not for clinical
use"), and the DICOM fixtures of Tests/integrations/fixtures (PROVENANCE.md there).

Needs: pytest, pydicom, numpy, Pillow; the CLI binary (env CXRCAPTION_CLI, else `swift build --show-bin-path`).

    python -m pytest Tests/python/test_dicom_sr_cli.py -v
"""

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from cli_support import run_cli

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "Tests" / "CXRKitTests" / "Fixtures"
GOLDEN = FIXTURES / "golden" / "model.safetensors"
DEMO = REPO / "models" / "cxrcaption-demo-en.safetensors"
DICOMS = REPO / "Tests" / "integrations" / "fixtures"
SOURCES = [DICOMS / "rg1_small.dcm", DICOMS / "rg1_small_jpeg_baseline.dcm"]
PNG = FIXTURES / "intake" / "png_gray8.png"
ENHANCED_SR = "1.2.840.10008.5.1.4.1.1.88.22"
UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")
COPIED = ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyDate", "StudyTime",
          "StudyID", "AccessionNumber", "ReferringPhysicianName", "StudyDescription"]


def caption_sr(out, *images, model=GOLDEN, extra=()):
    return run_cli("caption", "--model", model, "--max-tokens", 8, "--dicom-sr", out, "--json", *extra, *images)


def items(sequence):
    """(concept meaning, item) for each content item of a ContentSequence."""
    return [(item.ConceptNameCodeSequence[0].CodeMeaning, item) for item in sequence]


def child(item, meaning):
    found = [i for m, i in items(item.ContentSequence) if m == meaning]
    assert len(found) == 1, (meaning, [m for m, _ in items(item.ContentSequence)])
    return found[0]


def number(item):
    return float(item.MeasuredValueSequence[0].NumericValue)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("sr")
    done = caption_sr(out / "sr", *SOURCES, PNG)
    assert done.returncode == 0, done.stderr
    return out / "sr", json.loads(done.stdout), done.stderr


def test_one_sr_per_dicom_image_and_a_message_for_the_others(written):
    root, reports, stderr = written
    assert [Path(r["dicom_sr"]).name if r["dicom_sr"] else None for r in reports] == [
        "rg1_small.sr.dcm", "rg1_small_jpeg_baseline.sr.dcm", None]
    assert sorted(p.name for p in root.iterdir()) == ["rg1_small.sr.dcm", "rg1_small_jpeg_baseline.sr.dcm"]
    assert "%s: note: no DICOM SR: this is a PNG file" % PNG in stderr
    assert "1 captioned image is not DICOM and got no SR" in stderr


def test_uids_references_and_copied_attributes(written):
    root, reports, _ = written
    sop_instances = set()
    for source_path, report in zip(SOURCES, reports):
        source = pydicom.dcmread(source_path, stop_before_pixels=True)
        sr = pydicom.dcmread(report["dicom_sr"])
        assert sr.SOPClassUID == ENHANCED_SR and sr.Modality == "SR"
        assert sr.file_meta.MediaStorageSOPClassUID == ENHANCED_SR
        assert sr.file_meta.MediaStorageSOPInstanceUID == sr.SOPInstanceUID
        for uid in (sr.SOPInstanceUID, sr.SeriesInstanceUID):
            assert UID.match(uid) and len(uid) <= 64
        assert sr.StudyInstanceUID == source.StudyInstanceUID  # the source's study ...
        assert sr.SeriesInstanceUID != source.SeriesInstanceUID  # ... in a new series
        assert sr.SOPInstanceUID != source.SOPInstanceUID
        sop_instances.add(sr.SOPInstanceUID)
        for keyword in COPIED:
            if keyword in source:
                assert sr[keyword].value == source[keyword].value, keyword
        assert sr.SpecificCharacterSet == "ISO_IR 192"
        assert sr.PreliminaryFlag == "PRELIMINARY" and sr.VerificationFlag == "UNVERIFIED"
        (study,) = sr.CurrentRequestedProcedureEvidenceSequence
        assert study.StudyInstanceUID == source.StudyInstanceUID
        (series,) = study.ReferencedSeriesSequence
        assert series.SeriesInstanceUID == source.SeriesInstanceUID
        (instance,) = series.ReferencedSOPSequence
        assert instance.ReferencedSOPInstanceUID == source.SOPInstanceUID
        assert instance.ReferencedSOPClassUID == source.SOPClassUID
        image = [i for m, i in items(sr.ContentSequence) if i.ValueType == "IMAGE"]
        assert len(image) == 1
        assert image[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    assert len(sop_instances) == 2


def test_text_impressions_findings_and_model(written):
    root, reports, _ = written
    metadata = json.loads(run_cli("inspect", "--json", GOLDEN).stdout)["metadata"]
    digest = hashlib.sha256(GOLDEN.read_bytes()).hexdigest()
    for report in reports[:2]:
        sr = pydicom.dcmread(report["dicom_sr"])
        assert sr.ConceptNameCodeSequence[0].CodeValue == "18748-4"
        impressions = child(sr, "Impressions")
        listed = items(impressions.ContentSequence)
        assert [m for m, _ in listed] == ["Impression"] * len(report["results"])
        for rank, ((_, item), result) in enumerate(zip(listed, report["results"]), 1):
            assert item.TextValue == result["text"]
            assert number(child(item, "Rank")) == rank
            assert number(child(item, "Probability")) == pytest.approx(result["probability"], rel=1e-5)
        findings = dict((m, number(i)) for m, i in items(child(sr, "Findings").ContentSequence))
        assert findings.keys() == report["findings"].keys()
        for label, probability in report["findings"].items():
            assert findings[label] == pytest.approx(probability, rel=1e-5, abs=1e-6)
        algorithm = child(sr, "Algorithm")
        assert child(algorithm, "Algorithm Name").TextValue == metadata["name"]
        assert child(algorithm, "Model file SHA-256").TextValue == digest
        assert child(algorithm, "Software").TextValue.startswith("cxrcaption ")
        # The golden model's metadata has no disclaimer: no "not for clinical use" item, and no made-up text.
        assert "Not for clinical use" not in [m for m, _ in items(sr.ContentSequence)]
        assert "Disclaimer" not in [m for m, _ in items(algorithm.ContentSequence)]
        assert "NOT FOR CLINICAL USE" not in sr.SeriesDescription


def test_not_for_clinical_use_from_the_model_metadata(tmp_path):
    done = caption_sr(tmp_path, SOURCES[0], model=DEMO, extra=("--results", 2))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)[0]
    metadata = json.loads(run_cli("inspect", "--json", DEMO).stdout)["metadata"]
    sr = pydicom.dcmread(report["dicom_sr"])
    first_meaning, first = items(sr.ContentSequence)[0]
    assert first_meaning == "Not for clinical use" and first.TextValue.startswith("NOT FOR CLINICAL USE.")
    assert metadata["disclaimer"] in first.TextValue
    assert "NOT FOR CLINICAL USE" in sr.SeriesDescription
    algorithm = child(sr, "Algorithm")
    assert child(algorithm, "Algorithm Name").TextValue == metadata["name"] == sr.ManufacturerModelName
    assert child(algorithm, "Algorithm Version").TextValue == metadata["version"]
    assert child(algorithm, "Disclaimer").TextValue == metadata["disclaimer"]
    assert child(algorithm, "Intended use").TextValue == metadata["intended_use"]
    assert child(algorithm, "Model file SHA-256").TextValue == hashlib.sha256(DEMO.read_bytes()).hexdigest()
    assert len(items(child(sr, "Impressions").ContentSequence)) == 2


@pytest.mark.skipif(shutil.which("dsrdump") is None, reason="DCMTK's dsrdump is not installed (apt: dcmtk)")
def test_dsrdump_reads_it(written):
    root, reports, _ = written
    for report in reports[:2]:
        done = subprocess.run(["dsrdump", "+Pl", "+Pu", report["dicom_sr"]], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "Enhanced SR Document" in done.stdout
        assert 'contains TEXT:(,,"Impression")="%s"' % report["results"][0]["text"] in done.stdout
        source = pydicom.dcmread(SOURCES[reports.index(report)], stop_before_pixels=True)
        assert source.SOPInstanceUID in done.stdout
        assert "E:" not in done.stderr and "error" not in done.stderr.lower(), done.stderr


def test_a_source_without_a_study_uid_fails_clearly(tmp_path):
    source = pydicom.dcmread(SOURCES[0])
    del source.StudyInstanceUID
    path = tmp_path / "no_study.dcm"
    source.save_as(path)
    done = caption_sr(tmp_path / "sr", path)
    assert done.returncode == 1
    report = json.loads(done.stdout)[0]
    assert report["results"] and report["dicom_sr"] is None  # the captions are kept
    assert "StudyInstanceUID" in report["error"] and "StudyInstanceUID" in done.stderr
    assert not list((tmp_path / "sr").iterdir())


def test_latin1_patient_names_become_utf8(tmp_path):
    source = pydicom.dcmread(SOURCES[0])
    source.SpecificCharacterSet = "ISO_IR 100"
    source.PatientName = "Müller^Jürgen"
    path = tmp_path / "latin1.dcm"
    source.save_as(path)
    assert "Müller".encode("latin-1") in path.read_bytes()
    done = caption_sr(tmp_path / "sr", path)
    assert done.returncode == 0, done.stderr
    sr = pydicom.dcmread(json.loads(done.stdout)[0]["dicom_sr"])
    assert sr.SpecificCharacterSet == "ISO_IR 192" and str(sr.PatientName) == "Müller^Jürgen"


def test_an_sr_folder_that_cannot_be_made_is_an_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = caption_sr(blocker, SOURCES[0])
    assert done.returncode != 0 and "--dicom-sr" in done.stderr and str(blocker) in done.stderr


def test_heatmap_overview_as_secondary_capture(tmp_path, written):
    _, sr_only, _ = written
    assert all("dicom_heatmaps" not in report for report in sr_only)  # no --heatmaps: no key, no image
    done = caption_sr(tmp_path / "sr", SOURCES[0], PNG, extra=("--heatmaps", tmp_path / "maps"))
    assert done.returncode == 0, done.stderr
    report, png_report = json.loads(done.stdout)
    assert png_report["dicom_heatmaps"] is None and png_report["dicom_sr"] is None
    assert Path(report["dicom_heatmaps"]).name == "rg1_small.heatmaps.dcm"
    source = pydicom.dcmread(SOURCES[0], stop_before_pixels=True)
    image = pydicom.dcmread(report["dicom_heatmaps"])
    sr = pydicom.dcmread(report["dicom_sr"])
    assert image.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" and image.Modality == "OT"
    assert image.StudyInstanceUID == source.StudyInstanceUID
    assert len({image.SeriesInstanceUID, sr.SeriesInstanceUID, source.SeriesInstanceUID}) == 3
    assert len({image.SOPInstanceUID, sr.SOPInstanceUID, source.SOPInstanceUID}) == 3
    assert image.SourceImageSequence[0].ReferencedSOPInstanceUID == source.SOPInstanceUID
    for keyword in COPIED:
        if keyword in source:
            assert image[keyword].value == source[keyword].value, keyword
    assert image.BurnedInAnnotation == "YES" and image.PhotometricInterpretation == "RGB"
    with Image.open(Path(report["heatmaps"]) / "overview.png") as overview:
        expected = np.asarray(overview.convert("RGB"))
    assert (image.Rows, image.Columns) == expected.shape[:2]
    assert np.array_equal(image.pixel_array, expected)
