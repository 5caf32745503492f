"""cxrcaption_train.reports: sections of raw reports (MIMIC-style headings, IU text, Chinese) and the trainer's
target text with its `how`."""
from __future__ import annotations

import json

import pytest

from cxrcaption_train.records import ImageRecord, read_dataset
from cxrcaption_train.reports import Sections, extract_sections, target_text

from .data_fixtures import MIMIC_JPG, R2GEN_IU, shared

# Hand-written reports in MIMIC-CXR's style (invented text: no MIMIC report is copied).
MIMIC_LIKE = {
    "canonical": ("""                                 FINAL REPORT
 EXAMINATION:  CHEST (PA AND LAT)

 INDICATION:  ___ year old woman with fever and cough  // ? pneumonia

 TECHNIQUE:  Chest PA and lateral

 COMPARISON:  Radiograph from ___.

 FINDINGS:

 The lungs are well expanded. There is a new patchy opacity in the right lower
 lobe. No pleural effusion or pneumothorax. The cardiomediastinal silhouette
 is within normal limits.

 IMPRESSION:

 Right lower lobe opacity, concerning for pneumonia in the appropriate
 clinical setting.
""", "The lungs are well expanded. There is a new patchy opacity in the right lower lobe. No pleural effusion or "
     "pneumothorax. The cardiomediastinal silhouette is within normal limits.",
     "Right lower lobe opacity, concerning for pneumonia in the appropriate clinical setting."),
    "lower case, colon inline, no blank lines": ("""Final Report
Examination: Chest portable AP.
History: Intubated patient, assess tube position.
Findings: Endotracheal tube terminates 4 cm above the carina. Enteric tube
courses below the diaphragm. Bibasilar atelectasis.
Impression: Lines and tubes in standard position. Bibasilar atelectasis.
""", "Endotracheal tube terminates 4 cm above the carina. Enteric tube courses below the diaphragm. Bibasilar "
     "atelectasis.", "Lines and tubes in standard position. Bibasilar atelectasis."),
    "headings without colons on their own lines, CONCLUSION, NOTIFICATION after": ("""FINDINGS
Moderate cardiomegaly. Mild interstitial edema.
CONCLUSION
Mild pulmonary edema, worse than before.
NOTIFICATION
Dr. ___ was paged at 9:40 AM.
""", "Moderate cardiomegaly. Mild interstitial edema.", "Mild pulmonary edema, worse than before."),
    "wet read, two impressions joined": ("""WET READ: ___ ___ 3:12 AM
  No pneumothorax.
______________________________________________________________________________
                                 FINAL REPORT
 REASON FOR EXAMINATION:  Status post chest tube removal.

 IMPRESSION:  No pneumothorax after chest tube removal.

 ADDENDUM:  Comparison was made to the study of ___.
 IMPRESSION:  Unchanged small left apical pneumothorax, not seen before.
""", "", "No pneumothorax after chest tube removal. Unchanged small left apical pneumothorax, not seen before."),
    "one line, headings after sentences": (
        "EXAM: CHEST 2 VIEWS. COMPARISON: None. FINDINGS: Heart size is normal. Lungs are clear. "
        "IMPRESSION: No acute cardiopulmonary process.",
        "Heart size is normal. Lungs are clear.", "No acute cardiopulmonary process."),
    "combined section": ("""TECHNIQUE: Single frontal view.
FINDINGS AND IMPRESSION:
Right PICC terminates in the lower SVC. No pneumothorax.
""", "Right PICC terminates in the lower SVC. No pneumothorax.",
     "Right PICC terminates in the lower SVC. No pneumothorax."),
}


@pytest.mark.parametrize("name", sorted(MIMIC_LIKE))
def test_mimic_style_headings(name):
    text, findings, impression = MIMIC_LIKE[name]
    assert extract_sections(text) == Sections(impression=impression, findings=findings, heading_found=True)


def test_no_heading_and_false_headings():
    report = ("Heart size is normal and the lungs are clear. There is no change compared to the prior\n"
              "findings\nof the last study. Impression of a small effusion is not confirmed.")
    # "findings" in lower case alone on a wrapped line, and "Impression of" without a colon, are text
    assert extract_sections(report) == Sections("", "", False)
    assert extract_sections("") == Sections("", "", False)
    assert extract_sections("FINAL REPORT\nThe lungs are clear.") == Sections("", "", False)  # a title only


def test_chinese_headings():
    text = "检查方法：胸部正位片。\n检查所见：双肺纹理清晰，心影不大。\n诊断意见：心肺未见明显异常。"
    assert extract_sections(text) == Sections("心肺未见明显异常。", "双肺纹理清晰，心影不大。", True)
    inline = "临床诊断：咳嗽。影像所见：右下肺见斑片状阴影。印象：右下肺炎。"
    assert extract_sections(inline) == Sections("右下肺炎。", "右下肺见斑片状阴影。", True)
    own_lines = "所见\n左侧少量胸腔积液。\n结论\n左侧胸腔积液。"
    assert extract_sections(own_lines) == Sections("左侧胸腔积液。", "左侧少量胸腔积液。", True)


def test_target_text_how():
    record = ImageRecord("a", "s", "/a.png", "train", report=MIMIC_LIKE["canonical"][0])
    assert target_text(record) == (MIMIC_LIKE["canonical"][2], "section")
    assert target_text(record, "findings") == (MIMIC_LIKE["canonical"][1], "section")
    source = ImageRecord("a", "s", "/a.png", "train", report="IMPRESSION: parsed", sections={"impression": " Given. "})
    assert target_text(source) == ("Given.", "source")
    assert target_text(source, "findings") == ("", "none")  # the report's headings have no findings
    whole = ImageRecord("a", "s", "/a.png", "train", report="FINAL REPORT\n  Lungs are clear.\n No effusion.")
    assert target_text(whole) == ("Lungs are clear. No effusion.", "whole report")
    only_history = ImageRecord("a", "s", "/a.png", "train", report="HISTORY: cough.\nTECHNIQUE: PA view.")
    assert target_text(only_history) == ("", "none")
    assert target_text(ImageRecord("a", "s", "/a.png", "train")) == ("", "none")
    with pytest.raises(ValueError, match="impression, findings"):
        target_text(record, "indication")


def test_targets_of_the_fixtures():
    mimic = {r.study_id: r for r in read_dataset(MIMIC_JPG)}
    how = {s: target_text(r) for s, r in mimic.items()}
    assert how["50414267"] == ("Normal chest x-___.", "section")
    assert how["53189527"] == ("1. Right sided pleural effusion.", "section")  # inline headings
    assert how["57375967"][1] == "section" and how["57375967"][0].startswith("No significant change")
    assert how["51178377"] == ("", "none")  # findings only
    assert target_text(mimic["51178377"], "findings")[0].startswith("Increased interstitial lung changes")
    assert how["58224503"][0].startswith("Small left retrocardiac opacity")  # "Conclusion:"
    assert how["59307512"] == (" ".join(mimic["59307512"].report.split()), "whole report")  # no headings
    # R2Gen's report is its findings text, without headings: the whole report is the target
    iu = read_dataset(R2GEN_IU)
    assert {target_text(r)[1] for r in iu} == {"whole report"}


def test_real_iu_reports_written_as_mimic_text():
    """All 3,955 IU reports, laid out as MIMIC free text in three ways: the sections come back exactly
    (whitespace collapsed), except for the one report whose own findings text contains headings."""
    path = shared("iu-reports", "iu_reports_parsed.json")
    with open(path, encoding="utf-8") as fh:
        reports = json.load(fh)

    def layouts(r):
        """Canonical MIMIC layout (wrapped, headings on their own lines); inline title case; one line. A
        section the IU report lacks is left out, as a radiologist would."""
        indication, comparison = r["indication"] or "None", r["comparison"] or "None."
        findings, impression = r["findings"] or "", r["impression"] or ""
        words = findings.split()
        wrapped = "\n ".join(" ".join(words[i:i + 11]) for i in range(0, len(words), 11))
        yield (f"{' ' * 33}FINAL REPORT\n EXAMINATION:  CHEST (PA AND LAT)\n\n INDICATION:  {indication}\n\n"
               f" COMPARISON:  {comparison}\n\n" + (f" FINDINGS:\n\n {wrapped}\n\n" if findings else "")
               + (f" IMPRESSION:\n\n {impression}\n" if impression else ""))
        yield "\n".join([f"Indication: {indication}", f"Comparison: {comparison}"]
                        + ([f"Findings: {findings}"] if findings else []) + ([f"Impression: {impression}"] if impression else []))
        yield " ".join([f"INDICATION: {indication.rstrip('.')}."] + ([f"FINDINGS: {findings}"] if findings else [])
                       + ([f"IMPRESSION: {impression}"] if impression else []))

    wrong = []
    for r in reports:
        expected = (" ".join((r["impression"] or "").split()), " ".join((r["findings"] or "").split()))
        for text in layouts(r):
            got = extract_sections(text)
            if (got.impression, got.findings) != expected:
                wrong.append(r["report_id"])
    assert len(reports) == 3955
    assert sorted(set(wrong)) == [2415], wrong[:10]  # IU's report 2415 has "IMPRESSION:" inside its findings
