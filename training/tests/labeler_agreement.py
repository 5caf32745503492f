#!/usr/bin/env python3
"""Agreement of the rule-based labeler (cxrcaption_train.labeler) with the IU collection's MeSH labels.

    ~/.cache/cxrcaption/venv-train/bin/python training/tests/labeler_agreement.py [--reports DIR]

For every one of the 3,955 Indiana University reports (../shared/data/iu-reports/iu_reports_parsed.json,
CC BY-NC-ND 4.0) the labeler reads findings + impression; the reference is the report's `mesh_major` terms
mapped to CheXpert observations (MESH_MAP: a term counts when its heading, and where given one of its
qualifiers, matches). Printed per observation: reference positives, labeler positives, precision and recall,
"strict" (labeler 1 = positive) and "lenient" (1 or -1 = positive). This is a measurement, not a test bound:
MeSH indexing and CheXpert's conventions differ (e.g. MeSH indexes a "borderline" heart as Cardiomegaly, the
labeler calls it uncertain; MeSH "normal" studies may mention devices or old granulomas).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass

from cxrcaption_ref.checkout import shared_data
from cxrcaption_train.labeler import label_report

# observation -> [(MeSH heading, qualifiers one of which must appear, or None for any)]
MESH_MAP: dict[str, list[tuple[str, tuple[str, ...] | None]]] = {
    "No Finding": [("normal", None)],
    "Enlarged Cardiomediastinum": [("Mediastinum", ("prominent", "enlarged", "widened"))],
    "Cardiomegaly": [("Cardiomegaly", None), ("Cardiac Shadow", ("enlarged",))],
    "Lung Opacity": [("Opacity", None), ("Airspace Disease", None), ("Infiltrate", None), ("Density", ("lung",))],
    "Lung Lesion": [("Nodule", None), ("Mass", ("lung",))],
    "Edema": [("Pulmonary Edema", None)],
    "Consolidation": [("Consolidation", None)],
    "Pneumonia": [("Pneumonia", None)],
    "Atelectasis": [("Pulmonary Atelectasis", None)],
    "Pneumothorax": [("Pneumothorax", None), ("Hydropneumothorax", None), ("Hemopneumothorax", None)],
    "Pleural Effusion": [("Pleural Effusion", None), ("Hydropneumothorax", None)],
    "Pleural Other": [("Thickening", ("pleura",))],
    "Fracture": [("Fractures, Bone", None)],
    "Support Devices": [("Medical Device", None), ("Implanted Medical Device", None),
                        ("Catheters, Indwelling", None), ("Tube, Inserted", None), ("Stents", None),
                        ("Surgical Instruments", None)],
}


def mesh_observations(terms: list[str]) -> set[str]:
    """The CheXpert observations a report's MeSH terms name (MESH_MAP)."""
    found = set()
    for term in terms:
        parts = [p.strip() for p in term.split("/")]
        for observation, rules in MESH_MAP.items():
            for heading, qualifiers in rules:
                if parts[0] == heading and (qualifiers is None or any(q in parts[1:] for q in qualifiers)):
                    found.add(observation)
    return found


@dataclass
class Row:
    observation: str
    reference: int
    strict_predicted: int
    strict_tp: int
    lenient_predicted: int
    lenient_tp: int

    @staticmethod
    def ratio(a: int, b: int) -> float | None:
        return a / b if b else None

    @property
    def strict_precision(self):
        return self.ratio(self.strict_tp, self.strict_predicted)

    @property
    def strict_recall(self):
        return self.ratio(self.strict_tp, self.reference)

    @property
    def lenient_precision(self):
        return self.ratio(self.lenient_tp, self.lenient_predicted)

    @property
    def lenient_recall(self):
        return self.ratio(self.lenient_tp, self.reference)


def agreement(reports: list[dict]) -> list[Row]:
    """Per observation: reference positives and the labeler's strict / lenient predictions and hits."""
    rows = {o: Row(o, 0, 0, 0, 0, 0) for o in MESH_MAP}
    for report in reports:
        reference = mesh_observations(report.get("mesh_major", []))
        text = " ".join(t for t in (report.get("findings"), report.get("impression")) if t)
        labels = label_report(text)
        for observation, row in rows.items():
            truth = observation in reference
            value = labels.get(observation)
            row.reference += truth
            row.strict_predicted += value == 1
            row.strict_tp += truth and value == 1
            row.lenient_predicted += value in (1, -1)
            row.lenient_tp += truth and value in (1, -1)
    return list(rows.values())


def table(rows: list[Row], n_reports: int) -> str:
    def f(x):
        return "-" if x is None else f"{x:.2f}"
    lines = [f"Labeler vs IU MeSH on {n_reports} reports (strict: 1 is positive; lenient: 1 or -1)", "",
             "| observation | MeSH positives | labeler 1 | precision | recall | labeler 1/-1 | precision | recall |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.observation} | {r.reference} | {r.strict_predicted} | {f(r.strict_precision)} | "
                     f"{f(r.strict_recall)} | {r.lenient_predicted} | {f(r.lenient_precision)} | "
                     f"{f(r.lenient_recall)} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    default = shared_data()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reports", default=str(default / "iu-reports") if default else "",
                    help="folder with iu_reports_parsed.json")
    args = ap.parse_args(argv)
    path = os.path.join(args.reports, "iu_reports_parsed.json")
    if not os.path.isfile(path):
        ap.error(f"{path} not found (give --reports DIR)")
    with open(path, encoding="utf-8") as fh:
        reports = json.load(fh)
    print(table(agreement(reports), len(reports)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
