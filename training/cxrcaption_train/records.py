"""Datasets as lists of image records: one reader per source layout, one record type for the trainer.

A hospital's data comes in many layouts; the trainer sees only :class:`ImageRecord` (one image, the study it
belongs to, its split, the study's report and what the source says about it). :func:`read_dataset` reads

- ``"jsonl"``: the project's manifest (one JSON object per line: ``image``, ``split``, ``impression`` /
  ``findings``, ``labels``, ``id``, ``findings_spec``, ``seed``, ...; the iu-phantom dataset and the tests
  write it);
- ``"csv"``: a plain CSV with a header: ``image``, ``report``, ``split`` and optionally ``id``,
  ``study_id``, ``view``, ``labels`` (``|``-separated), ``impression``, ``findings``;
- ``"r2gen"``: R2Gen's ``annotation.json`` (``{"train": [...], "val": [...], "test": [...]}``), both its
  ``iu_xray`` and its ``mimic_cxr`` layout;
- ``"mimic-cxr-jpg"``: the MIMIC-CXR-JPG folder (``mimic-cxr-2.0.0-split.csv(.gz)``,
  ``mimic-cxr-2.0.0-metadata.csv(.gz)``, optionally ``mimic-cxr-2.0.0-chexpert.csv(.gz)``, images under
  ``files/pXX/pSUBJECT/sSTUDY/DICOM_ID.jpg``) with MIMIC-CXR's report files
  (``files/pXX/pSUBJECT/sSTUDY.txt``). The DICOM release works too: where ``DICOM_ID.jpg`` is absent,
  ``DICOM_ID.dcm`` is used.

Every reader keeps the study id (evaluation scores per study, and two views of one study must never be
merged silently), checks that image ids are unique and that a study is in one split only, and raises
:class:`DatasetError` naming the file, the line or record and the field when the input is wrong. Image files
that do not exist are an error naming the study, or, with ``missing="skip"``, skipped and counted (the
returned list's ``skipped`` attribute and a logged warning).

:func:`select_views` keeps the frontal images (and those of unknown view) for training on one view, and
counts what it saw.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Sequence

__all__ = [
    "ImageRecord",
    "Records",
    "DatasetError",
    "FRONTAL_VIEWS",
    "LATERAL_VIEWS",
    "FORMATS",
    "SPLITS",
    "normalize_view",
    "normalize_split",
    "read_dataset",
    "select_views",
]

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")

#: Formats :func:`read_dataset` reads ("auto" chooses one from the path).
FORMATS = ("jsonl", "csv", "r2gen", "mimic-cxr-jpg")

#: Normalized view positions that are frontal projections: PA and AP, MIMIC-CXR's ViewPosition values for
#: frontal variants (AP AXIAL; the decubitus films PA LLD, AP LLD, PA RLD, AP RLD, taken with a horizontal
#: beam through the front of the chest), DICOM's decubitus terms (LLD, RLD) and "FRONTAL" (a frontal image
#: whose PA/AP projection the source does not say: R2Gen's iu_xray image 0).
FRONTAL_VIEWS: frozenset[str] = frozenset(
    {"PA", "AP", "FRONTAL", "AP AXIAL", "PA AXIAL", "PA LLD", "AP LLD", "PA RLD", "AP RLD", "LLD", "RLD"})

#: Normalized view positions that are lateral projections (MIMIC-CXR: LATERAL, LL, XTABLE LATERAL,
#: SWIMMERS; DICOM: LL, RL). Obliques (LAO, RAO, LPO, RPO, ...) are neither frontal nor lateral.
LATERAL_VIEWS: frozenset[str] = frozenset({"LATERAL", "LL", "RL", "XTABLE LATERAL", "SWIMMERS"})

_VIEW_SYNONYMS = {
    "POSTERO-ANTERIOR": "PA", "POSTEROANTERIOR": "PA", "POSTERO ANTERIOR": "PA", "P-A": "PA",
    "ANTERO-POSTERIOR": "AP", "ANTEROPOSTERIOR": "AP", "ANTERO POSTERIOR": "AP", "A-P": "AP",
    "LAT": "LATERAL", "L": "LATERAL", "LEFT LATERAL": "LL", "RIGHT LATERAL": "RL",
    "X-TABLE LATERAL": "XTABLE LATERAL", "CROSS-TABLE LATERAL": "XTABLE LATERAL", "SWIMMER": "SWIMMERS",
    "SWIMMER'S": "SWIMMERS",
}
_UNKNOWN_VIEWS = {"", "UNKNOWN", "NONE", "NAN", "NULL", "N/A", "?"}

_SPLIT_SYNONYMS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validate": "val",
                   "validation": "val", "dev": "val", "test": "test", "testing": "test"}


class DatasetError(ValueError):
    """A dataset that cannot be read as given; the message names the file, the line or record and the field."""


@dataclass(frozen=True)
class ImageRecord:
    """One image of a dataset, with its study and what the source says about the study.

    ``report`` is the study's raw report text ("" when the source gives only ``sections``); ``sections``
    holds the sections a source already separates (``{"impression": ..., "findings": ...}``);
    ``labels`` the finding labels the source gives (None when it gives none: a missing label list is not
    "no findings"); ``extra`` the source-specific fields, kept as they are.
    """

    image_id: str
    study_id: str
    path: str
    split: str
    report: str = ""
    sections: Mapping[str, str] | None = None
    view: str | None = None
    labels: tuple[str, ...] | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


class Records(list):
    """The list :func:`read_dataset` returns: ImageRecords, plus what was read and what was skipped.

    ``format``: the format that was read; ``source``: the path; ``skipped``: ``{reason: count}`` of the
    images left out with ``missing="skip"`` (empty otherwise); ``skipped_examples``: the first few of them,
    as messages naming the study and the file.
    """

    def __init__(self, records: Iterable[ImageRecord] = (), *, format: str = "", source: str = "",
                 skipped: Mapping[str, int] | None = None, skipped_examples: Sequence[str] = ()):
        super().__init__(records)
        self.format = format
        self.source = source
        self.skipped: dict[str, int] = dict(skipped or {})
        self.skipped_examples: list[str] = list(skipped_examples)


# ---------------------------------------------------------------------------------------------------- helpers

def normalize_view(value: Any) -> str | None:
    """A view position as the records store it: upper case, single spaces, synonyms mapped ("lat" ->
    "LATERAL", "postero-anterior" -> "PA"), None for blank or unknown values."""
    if value is None:
        return None
    text = " ".join(str(value).replace("_", " ").split()).upper()
    if text in _UNKNOWN_VIEWS:
        return None
    return _VIEW_SYNONYMS.get(text, text)


def normalize_split(value: Any) -> str | None:
    """"train" / "val" / "test" for a split name (MIMIC-CXR's "validate", "valid", "validation", "dev" are
    "val"), None for anything else."""
    return _SPLIT_SYNONYMS.get(str(value).strip().lower()) if value is not None else None


class _Checks:
    """Unique image ids and one split per study, with the place of each first occurrence for the errors."""

    def __init__(self):
        self.ids: dict[str, str] = {}
        self.study_split: dict[str, tuple[str, str]] = {}

    def add(self, record: ImageRecord, where: str) -> None:
        if record.image_id in self.ids:
            raise DatasetError(f"{where}: duplicate image id {record.image_id!r} (first at {self.ids[record.image_id]})")
        self.ids[record.image_id] = where
        seen = self.study_split.get(record.study_id)
        if seen is None:
            self.study_split[record.study_id] = (record.split, where)
        elif seen[0] != record.split:
            raise DatasetError(f"{where}: study {record.study_id!r} is in split {record.split!r} here and in "
                               f"{seen[0]!r} at {seen[1]}; a study's images must be in one split")


class _Missing:
    """missing="error": raise; missing="skip": count and keep going."""

    def __init__(self, policy: str):
        if policy not in ("error", "skip"):
            raise ValueError(f"missing must be 'error' or 'skip', got {policy!r}")
        self.policy = policy
        self.counts: Counter = Counter()
        self.examples: list[str] = []

    def __call__(self, reason: str, message: str) -> None:
        if self.policy == "error":
            raise DatasetError(message + " (pass missing='skip' to skip and count such images)")
        self.counts[reason] += 1
        if len(self.examples) < 10:
            self.examples.append(message)

    def result(self, records: list[ImageRecord], fmt: str, source: str) -> Records:
        out = Records(records, format=fmt, source=source, skipped=self.counts, skipped_examples=self.examples)
        if self.counts:
            total = sum(self.counts.values())
            log.warning("%s: skipped %d image(s) (%s); first: %s", source, total,
                        ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items())), self.examples[0])
        return out


def _absolute(base: str, path: str) -> str:
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(base, path))


def _split_or_error(value: Any, where: str, field_name: str = "split") -> str:
    split = normalize_split(value)
    if split is None:
        raise DatasetError(f"{where}: {field_name} {value!r} is not one of train/val/test "
                           "(validate, valid, validation and dev are read as val)")
    return split


def _text(value: Any, where: str, field_name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DatasetError(f"{where}: field {field_name!r} must be a string, got {type(value).__name__}")
    return value


def _label_tuple(value: Any, where: str, field_name: str = "labels") -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split("|") if p.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise DatasetError(f"{where}: field {field_name!r} must be a list of strings (or a '|'-separated string), "
                       f"got {value!r}")


def _open_text(path: str) -> io.TextIOBase:
    """A text file, gunzipped when its name ends in .gz."""
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def _csv_rows(path: str, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number where the record starts, row) for each record of a CSV whose header holds `required`."""
    try:
        fh = _open_text(path)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    with fh:
        reader = csv.DictReader(fh, strict=True)
        try:
            header = reader.fieldnames or []
        except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
            raise DatasetError(f"{path}:1: cannot read the CSV header: {exc}") from exc
        missing = [c for c in required if c not in header]
        if missing:
            raise DatasetError(f"{path}:1: the header lacks column(s) {', '.join(map(repr, missing))} "
                               f"(it has {', '.join(map(repr, header))})")
        last = reader.line_num
        try:
            for row in reader:
                # a record can span lines (a report with line breaks, quoted): name the line it starts on
                start, last = last + 1, reader.line_num
                if None in row:
                    raise DatasetError(f"{path}:{start}: more fields than the header's {len(header)}")
                if any(v is None for v in row.values()):
                    raise DatasetError(f"{path}:{start}: fewer fields than the header's {len(header)}")
                yield start, row
        except (csv.Error, UnicodeDecodeError, OSError, EOFError) as exc:
            # line_num counts the lines of the records read so far: the broken one starts on the next
            raise DatasetError(f"{path}:{reader.line_num + 1}: {exc} (in the record starting on this line)") from exc


def _find_csv(folder: str, stem: str) -> str | None:
    for name in (stem + ".csv.gz", stem + ".csv"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


# ---------------------------------------------------------------------------------------------------- jsonl

# Manifest keys mapped to ImageRecord fields; every other key is kept in `extra`.
_JSONL_MAPPED = {"image", "split", "id", "study", "study_id", "report", "impression", "findings", "labels",
                 "view"}


def _read_jsonl(path: str, missing: _Missing) -> Records:
    base = os.path.dirname(os.path.abspath(path))
    records, checks = [], _Checks()
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{where}: not valid JSON: {exc.msg} (column {exc.colno})") from exc
            if not isinstance(entry, dict):
                raise DatasetError(f"{where}: expected a JSON object, got {type(entry).__name__}")
            for key in ("image", "split"):
                if key not in entry:
                    raise DatasetError(f"{where}: manifest line lacks {key!r}")
            image = _text(entry["image"], where, "image")
            image_id = str(entry["id"]) if entry.get("id") is not None else image
            study = entry.get("study", entry.get("study_id"))
            if study is None:
                study = image_id
            # cxrcaption-phantoms --per-study-train N writes N phantoms of one study under one id, told apart
            # by `copy`: they are images of that study.
            if entry.get("copy"):
                image_id = f"{image_id}#copy{entry['copy']}"
            sections = {k: _text(entry[k], where, k) for k in ("impression", "findings") if k in entry}
            record = ImageRecord(
                image_id=image_id,
                study_id=str(study),
                path=_absolute(base, image),
                split=_split_or_error(entry["split"], where),
                report=_text(entry.get("report"), where, "report"),
                sections=sections or None,
                view=normalize_view(entry.get("view")),
                labels=_label_tuple(entry["labels"], where) if entry.get("labels") is not None else None,
                extra={k: v for k, v in entry.items() if k not in _JSONL_MAPPED},
            )
            if not os.path.isfile(record.path):
                missing("image", f"{where}: image {record.path} of study {record.study_id!r} does not exist")
                continue
            checks.add(record, where)
            records.append(record)
    return missing.result(records, "jsonl", path)


# ---------------------------------------------------------------------------------------------------- csv

def _read_csv(path: str, missing: _Missing) -> Records:
    base = os.path.dirname(os.path.abspath(path))
    records, checks = [], _Checks()
    for line, row in _csv_rows(path, ("image", "report", "split")):
        where = f"{path}:{line}"
        image = row["image"].strip()
        if not image:
            raise DatasetError(f"{where}: field 'image' is empty")
        image_id = row.get("id", "").strip() or image
        sections = {k: row[k] for k in ("impression", "findings") if row.get(k, "").strip()}
        labels = row.get("labels")
        record = ImageRecord(
            image_id=image_id,
            study_id=row.get("study_id", "").strip() or image_id,
            path=_absolute(base, image),
            split=_split_or_error(row["split"], where),
            report=row["report"],
            sections=sections or None,
            view=normalize_view(row.get("view")),
            # An absent column gives no labels (None); a present, empty cell says "no findings" (()).
            labels=_label_tuple(labels, where) if labels is not None else None,
            extra={k: v for k, v in row.items()
                   if k not in {"image", "report", "split", "id", "study_id", "view", "labels", "impression",
                                "findings"}},
        )
        if not os.path.isfile(record.path):
            missing("image", f"{where}: image {record.path} of study {record.study_id!r} does not exist")
            continue
        checks.add(record, where)
        records.append(record)
    return missing.result(records, "csv", path)


# ---------------------------------------------------------------------------------------------------- r2gen

def _read_r2gen(path: str, images_root: str | None, missing: _Missing) -> Records:
    """R2Gen's annotation.json.

    iu_xray entries (``id``, ``report``, ``image_path``: two paths, ``split``) become two records of one
    study. R2Gen's iu_xray has no view field: by its construction image 0 is the frontal view and image 1
    the lateral one, so the records get views "FRONTAL" and "LATERAL" (its PA/AP projection is not given).
    mimic_cxr entries (``id`` = dicom_id, ``study_id``, ``subject_id``, ``report``, ``image_path``: one path)
    become one record each, with no view (the annotation has none; MIMIC's metadata CSV does). ``report``
    is R2Gen's cleaned findings text.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text: {exc}") from exc
    if not isinstance(data, dict) or not any(k in data for k in ("train", "val", "test")):
        raise DatasetError(f"{path}: expected R2Gen's annotation object {{\"train\": [...], \"val\": [...], "
                           f"\"test\": [...]}}, got {type(data).__name__}"
                           + (f" with keys {sorted(data)[:5]}" if isinstance(data, dict) else ""))
    root = os.path.abspath(images_root) if images_root else os.path.join(os.path.dirname(os.path.abspath(path)),
                                                                          "images")
    records, checks = [], _Checks()
    for split_key, entries in data.items():
        split = _split_or_error(split_key, f"{path}: top-level key {split_key!r}", "key")
        if not isinstance(entries, list):
            raise DatasetError(f"{path}: {split_key!r} must be a list of entries, got {type(entries).__name__}")
        for n, entry in enumerate(entries):
            where = f"{path}: {split_key}[{n}]"
            if not isinstance(entry, dict):
                raise DatasetError(f"{where}: expected an object, got {type(entry).__name__}")
            for key in ("id", "report", "image_path"):
                if key not in entry:
                    raise DatasetError(f"{where}: entry lacks {key!r}")
            where = f"{where} (id {entry['id']!r})"
            paths = entry["image_path"]
            if not isinstance(paths, list) or not paths or not all(isinstance(p, str) for p in paths):
                raise DatasetError(f"{where}: 'image_path' must be a non-empty list of paths, got {paths!r}")
            if "split" in entry and normalize_split(entry["split"]) != split:
                raise DatasetError(f"{where}: field 'split' {entry['split']!r} contradicts the list "
                                   f"{split_key!r} it is in")
            report = _text(entry["report"], where, "report")
            mimic = "study_id" in entry
            if mimic:
                if len(paths) != 1:
                    raise DatasetError(f"{where}: a mimic_cxr entry has one image_path, got {len(paths)}")
                extra = {"layout": "mimic_cxr"}
                if "subject_id" in entry:
                    extra["subject_id"] = str(entry["subject_id"])
                items = [(str(entry["id"]), paths[0], None, extra)]
                study = str(entry["study_id"])
            else:
                if len(paths) > 2:
                    raise DatasetError(f"{where}: an iu_xray entry has two image_paths, got {len(paths)}")
                views = ("FRONTAL", "LATERAL")
                study = str(entry["id"])
                items = [(f"{study}/{i}", p, views[i], {"layout": "iu_xray", "image_index": i})
                         for i, p in enumerate(paths)]
            for image_id, rel, view, extra in items:
                record = ImageRecord(image_id=image_id, study_id=study, path=_absolute(root, rel), split=split,
                                     report=report, view=view, extra=extra)
                if not os.path.isfile(record.path):
                    missing("image", f"{where}: image {record.path} of study {study!r} does not exist "
                                     f"(images_root {root})")
                    continue
                checks.add(record, where)
                records.append(record)
    return missing.result(records, "r2gen", path)


# ---------------------------------------------------------------------------------------------------- mimic

#: CheXpert's 14 observations, as the columns of mimic-cxr-2.0.0-chexpert.csv spell them.
_CHEXPERT_COLUMNS = ("Atelectasis", "Cardiomegaly", "Consolidation", "Edema", "Enlarged Cardiomediastinum",
                     "Fracture", "Lung Lesion", "Lung Opacity", "No Finding", "Pleural Effusion", "Pleural Other",
                     "Pneumonia", "Pneumothorax", "Support Devices")


def _mimic_value(value: str, where: str, column: str) -> float | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise DatasetError(f"{where}: column {column!r}: {value!r} is not 1.0, 0.0, -1.0 or blank") from None
    if number not in (1.0, 0.0, -1.0):
        raise DatasetError(f"{where}: column {column!r}: {value!r} is not 1.0, 0.0, -1.0 or blank")
    return number


def _read_mimic_cxr_jpg(folder: str, images_root: str | None, reports_root: str | None,
                        missing: _Missing) -> Records:
    """The MIMIC-CXR-JPG folder (see the module docstring).

    Labels: the positives (1.0) of mimic-cxr-2.0.0-chexpert.csv, None for a study it does not list or when
    the file is absent; its uncertain observations (-1.0) are kept in ``extra["uncertain_labels"]``.
    ``images_root`` (default: the folder) holds ``files/``; ``reports_root`` (default: the folder) holds
    MIMIC-CXR's ``files/pXX/pSUBJECT/sSTUDY.txt`` reports (they are a separate download, mimic-cxr-reports).
    """
    split_path = _find_csv(folder, "mimic-cxr-2.0.0-split")
    meta_path = _find_csv(folder, "mimic-cxr-2.0.0-metadata")
    if split_path is None:
        raise DatasetError(f"{folder}: no mimic-cxr-2.0.0-split.csv.gz (or .csv): not a MIMIC-CXR-JPG folder")
    if meta_path is None:
        raise DatasetError(f"{folder}: no mimic-cxr-2.0.0-metadata.csv.gz (or .csv): the view positions are "
                           "read from it")
    chexpert_path = _find_csv(folder, "mimic-cxr-2.0.0-chexpert")
    images_root = os.path.abspath(images_root or folder)
    reports_root = os.path.abspath(reports_root or folder)

    views: dict[str, str | None] = {}
    for line, row in _csv_rows(meta_path, ("dicom_id", "ViewPosition")):
        views[row["dicom_id"].strip()] = normalize_view(row["ViewPosition"])

    labels: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    if chexpert_path is not None:
        for line, row in _csv_rows(chexpert_path, ("subject_id", "study_id") + _CHEXPERT_COLUMNS):
            where = f"{chexpert_path}:{line}"
            values = {c: _mimic_value(row[c], where, c) for c in _CHEXPERT_COLUMNS}
            labels[row["study_id"].strip()] = (tuple(c for c, v in values.items() if v == 1.0),
                                               tuple(c for c, v in values.items() if v == -1.0))

    records, checks = [], _Checks()
    reports: dict[str, str | None] = {}
    for line, row in _csv_rows(split_path, ("dicom_id", "study_id", "subject_id", "split")):
        where = f"{split_path}:{line}"
        dicom_id, study, subject = row["dicom_id"].strip(), row["study_id"].strip(), row["subject_id"].strip()
        for name, value in (("dicom_id", dicom_id), ("study_id", study), ("subject_id", subject)):
            if not value:
                raise DatasetError(f"{where}: field {name!r} is empty")
        if not subject.isdigit() or len(subject) < 2:
            raise DatasetError(f"{where}: subject_id {subject!r} is not a MIMIC subject number")
        split = _split_or_error(row["split"], where)
        if dicom_id not in views:
            raise DatasetError(f"{where}: dicom_id {dicom_id!r} (study {study}) is not in {meta_path}")
        relative_study = os.path.join("files", f"p{subject[:2]}", f"p{subject}", f"s{study}")
        if study not in reports:
            report_path = os.path.join(reports_root, relative_study + ".txt")
            try:
                with open(report_path, encoding="utf-8") as fh:
                    reports[study] = fh.read()
            except FileNotFoundError:
                reports[study] = None
            except (OSError, UnicodeDecodeError) as exc:
                raise DatasetError(f"{report_path}: cannot read the report of study {study}: {exc}") from exc
        if reports[study] is None:
            missing("report", f"{where}: the report of study {study} (subject {subject}), "
                              f"{os.path.join(reports_root, relative_study + '.txt')}, does not exist")
            continue
        image_path = os.path.join(images_root, relative_study, dicom_id + ".jpg")
        if not os.path.isfile(image_path):
            dicom_path = image_path[:-4] + ".dcm"
            if not os.path.isfile(dicom_path):
                missing("image", f"{where}: image {image_path} (or .dcm) of study {study} (subject {subject}) "
                                 "does not exist")
                continue
            image_path = dicom_path
        positives, uncertain = labels.get(study, (None, ()))
        extra: dict[str, Any] = {"subject_id": subject}
        if uncertain:
            extra["uncertain_labels"] = uncertain
        record = ImageRecord(image_id=dicom_id, study_id=study, path=image_path, split=split,
                             report=reports[study], view=views[dicom_id], labels=positives, extra=extra)
        checks.add(record, where)
        records.append(record)
    return missing.result(records, "mimic-cxr-jpg", folder)


# ---------------------------------------------------------------------------------------------------- entry

def _detect(path: str) -> str:
    if os.path.isdir(path):
        if _find_csv(path, "mimic-cxr-2.0.0-split"):
            return "mimic-cxr-jpg"
        if os.path.isfile(os.path.join(path, "annotation.json")):
            return "r2gen"
        if os.path.isfile(os.path.join(path, "manifest.jsonl")):
            return "jsonl"
        raise DatasetError(f"{path}: cannot tell the dataset format: the folder has no "
                           "mimic-cxr-2.0.0-split.csv(.gz), annotation.json or manifest.jsonl (pass format=...)")
    name = os.path.basename(path).lower()
    if name.startswith("mimic-cxr-2.0.0-") and (name.endswith(".csv") or name.endswith(".csv.gz")):
        return "mimic-cxr-jpg"
    if name.endswith(".jsonl"):
        return "jsonl"
    if name.endswith(".csv") or name.endswith(".csv.gz"):
        return "csv"
    if name.endswith(".json"):
        return "r2gen"
    raise DatasetError(f"{path}: cannot tell the dataset format from the name (.jsonl, .csv, R2Gen's .json, "
                       "or a MIMIC-CXR-JPG folder); pass format=...")


def read_dataset(path: str, format: str = "auto", *, images_root: str | None = None,
                 reports_root: str | None = None, missing: str = "error") -> Records:
    """The image records of a dataset, in the source's order.

    ``format``: one of :data:`FORMATS` or "auto" (a folder with mimic-cxr-2.0.0-split.csv(.gz) is
    MIMIC-CXR-JPG, one with annotation.json R2Gen, one with manifest.jsonl a manifest; a file by its name:
    .jsonl, .csv(.gz), .json). ``images_root``: the folder image paths are relative to for "r2gen" (R2Gen's
    ``--image_dir``; default: the annotation file's folder + "/images") and the folder holding ``files/``
    for "mimic-cxr-jpg" (default: the dataset folder); JSONL and CSV paths are relative to their file's folder.
    ``reports_root``: where MIMIC-CXR's ``files/pXX/pSUBJECT/sSTUDY.txt`` reports are (default: the
    dataset folder). ``missing``: "error" (a missing image or report raises, naming the study) or "skip"
    (skipped, counted in the result's ``skipped``, and logged).

    Raises :class:`DatasetError` (a ValueError) naming the file, line or record, and field.
    """
    policy = _Missing(missing)
    path = os.fspath(path)
    if format == "auto":
        if not os.path.exists(path):
            raise DatasetError(f"{path}: no such file or folder")
        format = _detect(path)
    if format == "jsonl":
        if os.path.isdir(path):
            path = os.path.join(path, "manifest.jsonl")
        return _read_jsonl(path, policy)
    if format == "csv":
        return _read_csv(path, policy)
    if format == "r2gen":
        if os.path.isdir(path):
            path = os.path.join(path, "annotation.json")
        return _read_r2gen(path, images_root, policy)
    if format == "mimic-cxr-jpg":
        folder = path if os.path.isdir(path) else os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise DatasetError(f"{path}: no such folder")
        return _read_mimic_cxr_jpg(folder, images_root, reports_root, policy)
    raise ValueError(f"format must be 'auto' or one of {', '.join(FORMATS)}; got {format!r}")


def select_views(records: Iterable[ImageRecord], policy: str = "frontal") -> tuple[list[ImageRecord], dict[str, int]]:
    """(kept records, counts per view seen) for a view policy.

    "frontal": keeps the views in :data:`FRONTAL_VIEWS` and the images of unknown view (None: a source
    without views, or a PACS export that left ViewPosition blank: dropping them would drop whole datasets);
    drops laterals and obliques. "all": keeps everything. The counts are over all input records, keyed by
    normalized view, with "unknown" for None, so the trainer can log what it kept and what it left out.
    """
    if policy not in ("frontal", "all"):
        raise ValueError(f"view policy must be 'frontal' or 'all', got {policy!r}")
    kept, counts = [], Counter()
    for record in records:
        counts[record.view if record.view is not None else "unknown"] += 1
        if policy == "all" or record.view is None or record.view in FRONTAL_VIEWS:
            kept.append(record)
    return kept, dict(sorted(counts.items()))
