"""cxrcaption_train.records: each dataset reader on its fixture (fixtures/<format>/, PROVENANCE.md there),
the view selection, and the error messages for broken inputs."""
from __future__ import annotations

import collections
import csv
import gzip
import json
import os

import pytest

from cxrcaption_train.records import (FRONTAL_VIEWS, DatasetError, ImageRecord, normalize_view, read_dataset,
                                      select_views)

from .data_fixtures import CSV, MIMIC_JPG, R2GEN_IU, R2GEN_MIMIC, copy_fixture
from .helpers import write_tiny_manifest


def by_study(records):
    studies = collections.defaultdict(list)
    for r in records:
        studies[r.study_id].append(r)
    return studies


# ---------------------------------------------------------------------------------------------------- r2gen

def test_r2gen_iu_xray_two_images_per_study():
    records = read_dataset(R2GEN_IU)  # auto: the folder holds annotation.json
    assert records.format == "r2gen" and records.skipped == {}
    with open(os.path.join(R2GEN_IU, "annotation.json"), encoding="utf-8") as fh:
        annotation = json.load(fh)
    assert len(records) == 2 * sum(len(v) for v in annotation.values()) == 60
    studies = by_study(records)
    assert len(studies) == 30
    splits = collections.Counter(r.split for r in records if r.view == "FRONTAL")
    assert splits == {"train": 18, "val": 6, "test": 6}
    first = annotation["train"][0]
    frontal, lateral = studies[first["id"]]
    assert (frontal.image_id, lateral.image_id) == (f"{first['id']}/0", f"{first['id']}/1")
    assert (frontal.view, lateral.view) == ("FRONTAL", "LATERAL")
    assert frontal.report == lateral.report == first["report"] and frontal.sections is None
    assert frontal.path == os.path.join(R2GEN_IU, "images", first["image_path"][0])
    assert frontal.labels is None and frontal.extra["layout"] == "iu_xray"
    # every image of the fixture is found, in PNG, JPEG and DICOM
    assert {os.path.splitext(r.path)[1] for r in records} == {".png", ".jpg", ".dcm"}
    assert all(os.path.isfile(r.path) for r in records)


def test_r2gen_images_root_and_missing_images(tmp_path):
    annotation = os.path.join(R2GEN_IU, "annotation.json")
    # R2Gen's --image_dir: paths are relative to it, not to the annotation file
    with pytest.raises(DatasetError, match=r"train\[0\] \(id 'CXR3638_IM-1804'\): image .* does not exist"):
        read_dataset(annotation, images_root=str(tmp_path))
    records = read_dataset(annotation, images_root=os.path.join(R2GEN_IU, "images"))
    assert len(records) == 60


def test_r2gen_mimic_cxr_layout():
    records = read_dataset(os.path.join(R2GEN_MIMIC, "annotation.json"), "r2gen")
    assert len(records) == 7
    studies = by_study(records)
    assert sorted(studies) == ["50000001", "50000002", "50000003", "50000004", "50000005"]
    assert [len(studies[s]) for s in sorted(studies)] == [2, 1, 1, 2, 1]
    r = studies["50000001"][0]
    assert r.split == "train" and r.view is None and r.extra == {"layout": "mimic_cxr", "subject_id": "10000032"}
    assert r.image_id == "e50a02d2-4398d021-a6164438-5aabb062-50344b79"
    assert r.report.startswith("Normal cardiac contour. Right sided pleural effusion.")
    assert r.path.endswith("images/p10/p10000032/s50000001/e50a02d2-4398d021-a6164438-5aabb062-50344b79.jpg")
    assert {r.split for r in studies["50000004"]} == {"val"}


def test_r2gen_broken_inputs(tmp_path):
    root = copy_fixture(R2GEN_IU, tmp_path)
    path = os.path.join(root, "annotation.json")
    with open(path, encoding="utf-8") as fh:
        good = json.load(fh)

    def write(data):
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(data if isinstance(data, str) else json.dumps(data))

    write('{"train": [\n  {"id": "x",]\n}')
    with pytest.raises(DatasetError, match=r"annotation.json:2: not valid JSON"):
        read_dataset(path)
    write(["not", "an", "object"])
    with pytest.raises(DatasetError, match=r"expected R2Gen's annotation object"):
        read_dataset(path)
    broken = json.loads(json.dumps(good))
    del broken["val"][1]["report"]
    write(broken)
    with pytest.raises(DatasetError, match=r"val\[1\]: entry lacks 'report'"):
        read_dataset(path)
    broken = json.loads(json.dumps(good))
    broken["test"].append({k: v for k, v in broken["train"][2].items() if k != "split"})  # listed twice
    write(broken)
    with pytest.raises(DatasetError, match=r"duplicate image id 'CXR2702_IM-1170/0' \(first at .*train\[2\]"):
        read_dataset(path)
    broken = json.loads(json.dumps(good))
    broken["train"][0]["split"] = "test"
    write(broken)
    with pytest.raises(DatasetError, match=r"field 'split' 'test' contradicts the list 'train'"):
        read_dataset(path)
    write(good)
    os.remove(os.path.join(root, "images", good["val"][0]["image_path"][1]))
    with pytest.raises(DatasetError, match=rf"val\[0\] \(id '{good['val'][0]['id']}'\): image .*1\.png of study "
                                           rf"'{good['val'][0]['id']}' does not exist"):
        read_dataset(path)
    records = read_dataset(path, missing="skip")
    assert len(records) == 59 and records.skipped == {"image": 1}
    assert good["val"][0]["id"] in records.skipped_examples[0]


# ---------------------------------------------------------------------------------------------------- mimic

def test_mimic_cxr_jpg_folder():
    records = read_dataset(MIMIC_JPG)  # auto: the split CSV is there
    assert records.format == "mimic-cxr-jpg" and len(records) == 13
    studies = by_study(records)
    assert len(studies) == 8
    assert collections.Counter(r.split for r in records) == {"train": 6, "val": 3, "test": 4}  # "validate"
    two = studies["50414267"]
    assert [r.view for r in two] == ["PA", "LATERAL"] and {r.extra["subject_id"] for r in two} == {"10000032"}
    assert two[0].labels == ("No Finding",) and two[0].report == two[1].report
    assert "FINDINGS:" in two[0].report and "Positive TB test" in two[0].report
    assert two[0].path.endswith(f"files/p10/p10000032/s50414267/{two[0].image_id}.jpg")
    assert [r.view for r in studies["57375967"]] == ["PA", "LL"]
    assert [r.view for r in studies["58224503"]] == [None]  # a blank ViewPosition
    # CheXpert CSV: positives are labels, uncertain ones kept aside, 0.0 and blanks are neither
    assert studies["57375967"][0].labels == ("Pleural Effusion", "Pneumothorax")
    assert studies["58224503"][0].labels == ("Lung Opacity",)
    assert studies["58224503"][0].extra["uncertain_labels"] == ("Atelectasis",)
    assert studies["51178377"][0].labels == ("Cardiomegaly", "Edema")
    # the DICOM release's file where the JPEG is absent
    assert studies["50771383"][0].path.endswith(".dcm")
    assert [r.view for r in studies["54684191"]] == ["PA", "LATERAL", "AP"]


def _rewrite_gz(path, transform):
    with gzip.open(path, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    rows = transform(rows)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def test_mimic_missing_report_names_the_study(tmp_path):
    root = copy_fixture(MIMIC_JPG, tmp_path)
    os.remove(os.path.join(root, "files", "p10", "p10000935", "s51178377.txt"))
    with pytest.raises(DatasetError, match=r"split\.csv\.gz:8: the report of study 51178377 \(subject 10000935\), "
                                           r".*s51178377\.txt, does not exist"):
        read_dataset(root)
    records = read_dataset(root, missing="skip")
    assert len(records) == 11 and records.skipped == {"report": 2}
    assert "51178377" not in {r.study_id for r in records}


def test_mimic_missing_image_and_reports_root(tmp_path):
    root = copy_fixture(MIMIC_JPG, tmp_path)
    image = next(os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, "files", "p10", "p10001122"))
                 for f in fs if f.endswith(".jpg"))
    os.remove(image)
    with pytest.raises(DatasetError, match=r"image .*\.jpg \(or \.dcm\) of study 59307512 \(subject 10001122\) "
                                           r"does not exist"):
        read_dataset(root)
    assert read_dataset(root, missing="skip").skipped == {"image": 1}
    # reports in another folder (MIMIC-CXR's reports are a separate download)
    with pytest.raises(DatasetError, match=r"report of study 50414267"):
        read_dataset(root, reports_root=str(tmp_path / "elsewhere"), missing="error")


def test_mimic_broken_csvs(tmp_path):
    root = copy_fixture(MIMIC_JPG, tmp_path)
    split = os.path.join(root, "mimic-cxr-2.0.0-split.csv.gz")
    _rewrite_gz(split, lambda rows: rows + [rows[1]])
    with pytest.raises(DatasetError, match=r"split\.csv\.gz:15: duplicate image id '39b03140-.*' \(first at "
                                           r".*split\.csv\.gz:2\)"):
        read_dataset(root)
    _rewrite_gz(split, lambda rows: rows[:-1])
    _rewrite_gz(split, lambda rows: rows[:2] + [rows[2][:3] + ["holdout"]] + rows[3:])
    with pytest.raises(DatasetError, match=r"split\.csv\.gz:3: split 'holdout' is not one of train/val/test"):
        read_dataset(root)
    _rewrite_gz(split, lambda rows: [["dicom_id", "study_id", "split"]] + [r[:2] + r[3:] for r in rows[1:]])
    with pytest.raises(DatasetError, match=r"split\.csv\.gz:1: the header lacks column\(s\) 'subject_id'"):
        read_dataset(root)
    copy = copy_fixture(MIMIC_JPG, tmp_path / "second")
    chexpert = os.path.join(copy, "mimic-cxr-2.0.0-chexpert.csv.gz")
    _rewrite_gz(chexpert, lambda rows: rows[:3] + [rows[3][:4] + ["yes"] + rows[3][5:]] + rows[4:])
    with pytest.raises(DatasetError, match=r"chexpert\.csv\.gz:4: column 'Consolidation': 'yes' is not 1\.0"):
        read_dataset(copy)
    os.remove(chexpert)
    assert all(r.labels is None for r in read_dataset(copy))  # no CheXpert file: no labels, not "no findings"


# ---------------------------------------------------------------------------------------------------- csv, jsonl

def test_csv_dataset():
    records = read_dataset(os.path.join(CSV, "dataset.csv"))
    assert records.format == "csv" and len(records) == 6
    studies = by_study(records)
    assert sorted(studies) == ["S001", "S002", "S003", "S004"]
    a = studies["S001"]
    assert [r.view for r in a] == ["PA", "LATERAL"] and a[0].labels == ("Lung Opacity", "Support Devices")
    assert a[0].image_id == "images/a_frontal.png" and a[0].path == os.path.join(CSV, "images", "a_frontal.png")
    assert a[0].report.startswith("INDICATION: ") and "\nFINDINGS: There is a left base opacity." in a[0].report
    assert studies["S003"][0].view is None and studies["S003"][0].split == "val"
    assert [r.view for r in studies["S004"]] == ["PA", "LL"] and studies["S004"][0].split == "test"


def test_csv_errors_name_file_line_and_field(tmp_path):
    (tmp_path / "x.png").write_bytes(b"")
    path = tmp_path / "data.csv"
    path.write_text("image,report,split\nx.png,Clear lungs.,train\nx.png,Clear lungs.,test\n")
    with pytest.raises(DatasetError, match=r"data\.csv:3: duplicate image id 'x\.png' \(first at .*data\.csv:2\)"):
        read_dataset(str(path))
    path.write_text('image,report,split\nx.png,"FINDINGS: clear.\nIMPRESSION: normal.",train\nx.png,"a\nb",val\n')
    with pytest.raises(DatasetError, match=r"data\.csv:4: duplicate image id 'x\.png' \(first at .*data\.csv:2\)"):
        read_dataset(str(path))  # records spanning lines: the line each starts on
    path.write_text("image,split\nx.png,train\n")
    with pytest.raises(DatasetError, match=r"data\.csv:1: the header lacks column\(s\) 'report'"):
        read_dataset(str(path))
    path.write_text("image,report,split\nx.png,Clear lungs.,training\n,No effusion.,val\n")
    with pytest.raises(DatasetError, match=r"data\.csv:3: field 'image' is empty"):
        read_dataset(str(path))
    path.write_text("image,report,split,study_id\nx.png,a,train,S1\ny.png,b,train,S1\n")
    with pytest.raises(DatasetError, match=r"data\.csv:3: image .*y\.png of study 'S1' does not exist"):
        read_dataset(str(path))
    path.write_text("image,report,split,labels\nx.png,a,train,\n")
    assert read_dataset(str(path))[0].labels == ()  # an empty cell: no findings
    (tmp_path / "y.png").write_bytes(b"")
    path.write_text("image,report,split,study_id\nx.png,a,train,S1\ny.png,a,test,S1\n")
    with pytest.raises(DatasetError, match=r"data\.csv:3: study 'S1' is in split 'test' here and in 'train' at "
                                           r".*data\.csv:2; a study's images must be in one split"):
        read_dataset(str(path))
    path.write_text('image,report,split\nx.png,"unterminated\n')
    with pytest.raises(DatasetError, match=r"data\.csv:2: unexpected end of data"):
        read_dataset(str(path))
    path.write_text("image,report,split\nx.png,Clear lungs.\n")
    with pytest.raises(DatasetError, match=r"data\.csv:2: fewer fields than the header's 3"):
        read_dataset(str(path))


def test_jsonl_manifest_still_reads(tmp_path):
    manifest = write_tiny_manifest(tmp_path)
    records = read_dataset(manifest)
    assert records.format == "jsonl" and len(records) == 21
    first = records[0]
    assert first.image_id == first.study_id == "train0" and first.split == "train"
    assert first.sections == {"impression": "no acute cardiopulmonary abnormality."} and first.labels == ()
    assert first.extra == {"findings_spec": [], "seed": 0}
    assert records[2].labels == ("pleural_effusion",) and records[2].extra["findings_spec"][0]["side"] == "right"
    assert first.path == os.path.join(str(tmp_path), "images", "train_0.png")


def test_jsonl_copies_study_field_and_errors(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    lines = [{"id": "s1", "image": "a.png", "split": "train", "impression": "x", "copy": 0},
             {"id": "s1", "image": "a.png", "split": "train", "impression": "x", "copy": 1},
             {"id": "v1", "image": "a.png", "split": "val", "study": "S9", "view": "lat", "findings": "y"}]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    records = read_dataset(str(path))
    # phantom copies of one study (cxrcaption-phantoms --per-study-train 2) are images of that study
    assert [r.image_id for r in records] == ["s1", "s1#copy1", "v1"]
    assert [r.study_id for r in records] == ["s1", "s1", "S9"] and records[2].view == "LATERAL"
    assert records[2].sections == {"findings": "y"} and records[2].labels is None
    path.write_text(json.dumps(lines[0]) + "\n{not json\n")
    with pytest.raises(DatasetError, match=r"m\.jsonl:2: not valid JSON"):
        read_dataset(str(path))
    path.write_text(json.dumps({"image": "a.png"}) + "\n")
    with pytest.raises(DatasetError, match=r"m\.jsonl:1: manifest line lacks 'split'"):
        read_dataset(str(path))
    path.write_text(json.dumps(dict(lines[0], labels="cardiomegaly")) + "\n" +
                    json.dumps(dict(lines[2], labels=[1])) + "\n")
    with pytest.raises(DatasetError, match=r"m\.jsonl:2: field 'labels' must be a list of strings"):
        read_dataset(str(path))
    with pytest.raises(DatasetError, match=r"no such file or folder"):
        read_dataset(str(tmp_path / "absent.jsonl"))
    with pytest.raises(DatasetError, match=r"cannot tell the dataset format"):
        read_dataset(str(tmp_path / "a.png"))


# ---------------------------------------------------------------------------------------------------- views

def test_select_views_frontal_keeps_unknown_and_counts():
    records = read_dataset(MIMIC_JPG)
    kept, counts = select_views(records, "frontal")
    assert counts == {"AP": 4, "LATERAL": 3, "LL": 1, "PA": 4, "unknown": 1}
    assert [r.view for r in kept].count(None) == 1 and len(kept) == 9
    assert all(r.view is None or r.view in FRONTAL_VIEWS for r in kept)
    everything, same_counts = select_views(records, "all")
    assert everything == list(records) and same_counts == counts
    iu, iu_counts = select_views(read_dataset(R2GEN_IU))
    assert iu_counts == {"FRONTAL": 30, "LATERAL": 30} and {r.view for r in iu} == {"FRONTAL"}
    with pytest.raises(ValueError, match="'frontal' or 'all'"):
        select_views(records, "lateral")


def test_view_names():
    assert {normalize_view(v) for v in ("PA", "pa", " postero-anterior ", "P-A")} == {"PA"}
    assert normalize_view("AP AXIAL") == "AP AXIAL" and "AP AXIAL" in FRONTAL_VIEWS
    assert all(v in FRONTAL_VIEWS for v in ("PA LLD", "AP LLD", "AP RLD", "PA RLD", "LLD", "RLD"))
    assert normalize_view("lat") == "LATERAL" and normalize_view("xtable lateral") == "XTABLE LATERAL"
    assert "XTABLE LATERAL" not in FRONTAL_VIEWS and "LAO" not in FRONTAL_VIEWS
    assert normalize_view("") is None and normalize_view("  ") is None and normalize_view(None) is None
    records = [ImageRecord("a", "s", "/a", "train", view=v) for v in ("PA", "LAO", "SWIMMERS", "LL", None)]
    kept, counts = select_views(records)
    assert [r.view for r in kept] == ["PA", None]
    assert counts == {"LAO": 1, "LL": 1, "PA": 1, "SWIMMERS": 1, "unknown": 1}
