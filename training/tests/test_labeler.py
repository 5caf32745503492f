"""cxrcaption_train.labeler: real IU sentences with hand-assigned labels (fixtures/labeler/, PROVENANCE.md
there), rules the IU text lacks, and the agreement measurement against the IU MeSH labels."""
from __future__ import annotations

import json
import os

import pytest

from cxrcaption_train.labeler import CHEXPERT_OBSERVATIONS, label_report

from .data_fixtures import LABELER, shared
from .labeler_agreement import Row, agreement, mesh_observations, table


def load_sentences():
    with open(os.path.join(LABELER, "iu_sentences.json"), encoding="utf-8") as fh:
        return json.load(fh)


SENTENCES = load_sentences()


def test_the_fixture_covers_every_observation_and_form():
    values: dict[str, set[int]] = {}
    for item in SENTENCES:
        for observation, value in item["expected"].items():
            assert observation in CHEXPERT_OBSERVATIONS, observation
            values.setdefault(observation, set()).add(value)
    assert len(SENTENCES) >= 40 and set(values) == set(CHEXPERT_OBSERVATIONS)
    # positive, negated and uncertain forms of every observation (IU text has no negated "Pleural Other":
    # that one is tested with a written sentence below); "No Finding" is only ever 1
    for observation in CHEXPERT_OBSERVATIONS[1:]:
        wanted = {1, -1} if observation == "Pleural Other" else {1, 0, -1}
        assert wanted <= values[observation], (observation, values[observation])
    assert values["No Finding"] == {1}


@pytest.mark.parametrize("item", SENTENCES, ids=[f"{s['report_id']}:{s['sentence'][:40]}" for s in SENTENCES])
def test_real_iu_sentences(item):
    assert label_report(item["sentence"]) == item["expected"]


def test_the_sentences_are_real_iu_text():
    """Provenance: each sentence occurs verbatim in the findings or impression of its IU report."""
    with open(shared("iu-reports", "iu_reports_parsed.json"), encoding="utf-8") as fh:
        reports = {r["report_id"]: r for r in json.load(fh)}
    for item in SENTENCES:
        report = reports[item["report_id"]]
        assert item["sentence"] in f"{report['findings']} {report['impression']}", item


@pytest.mark.parametrize("text, expected", [
    # written here (not IU text): forms the IU sentences lack
    ("No pleural thickening or plaques.", {"No Finding": 1, "Pleural Other": 0}),
    ("Findings may represent early edema versus atelectasis.", {"Edema": -1, "Atelectasis": -1}),
    ("Pneumonia cannot be excluded.", {"Pneumonia": -1}),
    ("The pneumothorax has resolved.", {"No Finding": 1, "Pneumothorax": 0}),
    ("No new consolidation.", {"Consolidation": -1}),
    ("Heart size is stable and within normal limits.", {"No Finding": 1, "Cardiomegaly": 0}),
    ("Heart size is stable.", {"Cardiomegaly": -1}),
    ("Findings consistent with congestive heart failure.", {"Cardiomegaly": -1, "Edema": 1}),
    ("No pneumothorax, but there is a small left pleural effusion.", {"Pneumothorax": 0, "Pleural Effusion": 1}),
    ("Pacemaker leads in the right atrium and ventricle. Lungs are clear.", {"No Finding": 1, "Support Devices": 1}),
    ("Mild scoliosis of the thoracic spine.", {}),  # another abnormality: no CheXpert label, and not No Finding
    ("", {"No Finding": 1}),
    ("FINDINGS: Heart size normal. IMPRESSION: No acute disease.", {"No Finding": 1, "Cardiomegaly": 0}),
    # a raw report: the indication is not a finding; a sentence wrapped across lines keeps its negation
    ("INDICATION: Fever, evaluate for possible pneumonia.\n\nFINDINGS:\n No focal consolidation, effusion or\n"
     " pneumothorax.\n\nIMPRESSION:\n No acute process.", {"No Finding": 1, "Consolidation": 0,
                                                           "Pneumothorax": 0, "Pleural Effusion": 0}),
    ("No pneumothorax\n\nSmall left effusion", {"Pneumothorax": 0, "Pleural Effusion": 1}),  # paragraphs
])
def test_written_cases(text, expected):
    assert label_report(text) == expected


def test_values_and_names():
    labels = label_report("Large right pleural effusion. Possible left lower lobe pneumonia. No pneumothorax.")
    assert labels == {"Pleural Effusion": 1, "Pneumonia": -1, "Pneumothorax": 0}
    assert all(v in (1, 0, -1) for v in labels.values())
    assert CHEXPERT_OBSERVATIONS[0] == "No Finding" and len(CHEXPERT_OBSERVATIONS) == 14


def test_agreement_computation():
    reports = [{"mesh_major": ["Cardiomegaly/mild"], "findings": "Mild cardiomegaly.", "impression": ""},
               {"mesh_major": ["normal"], "findings": "Heart size is borderline.", "impression": ""},
               {"mesh_major": ["Cardiac Shadow/enlarged"], "findings": "", "impression": "No acute disease."}]
    rows = {r.observation: r for r in agreement(reports)}
    c = rows["Cardiomegaly"]
    assert (c.reference, c.strict_predicted, c.strict_tp, c.lenient_predicted, c.lenient_tp) == (2, 1, 1, 2, 1)
    assert (c.strict_precision, c.strict_recall, c.lenient_precision) == (1.0, 0.5, 0.5)
    assert mesh_observations(["Thickening/pleura/apex", "Mass/breast/large", "Mass/lung/apex/right"]) == \
        {"Pleural Other", "Lung Lesion"}
    assert Row.ratio(1, 0) is None


def test_agreement_with_iu_mesh_labels(capsys):
    """The measurement on all 3,955 reports (printed; run with -s to see it). Not a bound on the numbers."""
    with open(shared("iu-reports", "iu_reports_parsed.json"), encoding="utf-8") as fh:
        reports = json.load(fh)
    rows = agreement(reports)
    with capsys.disabled():
        print("\n" + table(rows, len(reports)))
    assert len(reports) == 3955 and all(r.reference > 0 for r in rows)
