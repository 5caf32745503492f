"""Raw radiology reports -> the sections a captioning model is trained on.

Hospitals export reports as free text. MIMIC-CXR's look like::

                                     FINAL REPORT
     EXAMINATION:  CHEST (PA AND LAT)
     INDICATION:  ___ with cough
     TECHNIQUE:  Chest PA and lateral
     COMPARISON:  None.
     FINDINGS:
     The lungs are clear. ...
     IMPRESSION:
     No acute cardiopulmonary process.

:func:`extract_sections` finds such headings, case-insensitive, written on their own line (with or
without a colon) or followed by a colon and the text (at the start of a line or after a sentence; in upper
case anywhere), and returns the impression and the findings. Headings recognized:

- impression: IMPRESSION(S), CONCLUSION(S), SUMMARY, OPINION, DIAGNOSIS, ASSESSMENT, FINAL IMPRESSION;
  Chinese 诊断意见, 影像诊断, 诊断, 印象, 结论, 意见;
- findings: FINDINGS, FINDING, REPORT, DESCRIPTION; Chinese 检查所见, 影像所见, 影像表现, 所见, 表现;
- both (a combined section): FINDINGS AND IMPRESSION, IMPRESSION AND FINDINGS, FINDINGS/IMPRESSION;
- other sections, whose text is never a target: EXAMINATION, EXAM, STUDY, PROCEDURE, TYPE OF EXAMINATION,
  INDICATION(S), HISTORY, CLINICAL HISTORY, CLINICAL INFORMATION, CLINICAL INDICATION, REASON FOR
  EXAM(INATION), TECHNIQUE, COMPARISON(S), PRIOR, NOTIFICATION, RECOMMENDATION(S), ADDENDUM, WET READ,
  REFERENCE EXAM, PROVISIONAL FINDINGS IMPRESSION (PFI), ...; Chinese 检查方法, 检查部位, 检查项目, 临床诊断,
  临床资料, 临床病史, 病史, 对比, 比较;
- titles, dropped: FINAL REPORT, PRELIMINARY REPORT, RADIOLOGY REPORT (on their own line).

Section text is returned with its whitespace collapsed (reports wrap lines at a fixed width); several
sections of one kind are joined. IU X-Ray's XML reports have their sections separated already: their
readers put them in :attr:`ImageRecord.sections`, which :func:`target_text` prefers.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .records import ImageRecord

__all__ = ["Sections", "extract_sections", "target_text", "TARGET_FIELDS", "HOW"]

#: Fields a target can be taken from.
TARGET_FIELDS = ("impression", "findings")

#: The values of target_text's `how`.
HOW = ("source", "section", "whole report", "none")


@dataclass(frozen=True)
class Sections:
    """What :func:`extract_sections` found: the impression and findings text ("" when absent) and whether
    the report has any recognized section heading at all (False: a free-text report, the whole of which is
    the only target there is)."""

    impression: str
    findings: str
    heading_found: bool


_IMPRESSION = ["final impression", "impressions", "impression", "conclusions", "conclusion", "summary",
               "opinion", "diagnosis", "assessment"]
_FINDINGS = ["findings", "finding", "report", "description"]
_BOTH = ["findings and impression", "impression and findings", "findings/impression", "impression/findings",
         "findings / impression", "findings and impressions"]
_OTHER = ["type of examination", "reason for examination", "reason for exam", "reason for study",
          "clinical history", "clinical information", "clinical indication", "clinical indications",
          "clinical data", "clinical details", "history", "indications", "indication", "examination", "exam",
          "study", "procedure", "technique", "comparisons", "comparison", "prior", "priors", "notification",
          "recommendations", "recommendation", "addendum", "wet read", "reference exam", "exam date",
          "provisional findings impression", "provisional findings impression (pfi)", "pfi", "dictated by",
          "signed by", "attending", "physician"]
_TITLES = ["final report", "preliminary report", "radiology report", "report final", "final addendum"]

_ZH_IMPRESSION = ["诊断意见", "影像诊断", "检查结论", "诊断", "印象", "结论", "意见"]
_ZH_FINDINGS = ["检查所见", "影像所见", "影像表现", "所见", "表现"]
_ZH_OTHER = ["检查方法", "检查部位", "检查项目", "临床诊断", "临床资料", "临床病史", "病史", "对比", "比较"]

_KIND = {**{h: "impression" for h in _IMPRESSION + _ZH_IMPRESSION},
         **{h: "findings" for h in _FINDINGS + _ZH_FINDINGS},
         **{h: "both" for h in _BOTH},
         **{h: "other" for h in _OTHER + _ZH_OTHER},
         **{h: "title" for h in _TITLES}}


def _alternation(names) -> str:
    # Longest first, so that "findings and impression" wins over "findings", 诊断意见 over 意见.
    return "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in sorted(names, key=len, reverse=True))


_EN_HEADS = _alternation(_IMPRESSION + _FINDINGS + _BOTH + _OTHER)
_ZH_HEADS = _alternation(_ZH_IMPRESSION + _ZH_FINDINGS + _ZH_OTHER)
_COLON = r"[:：]"

# A heading alone on its line (optional colon), e.g. "FINDINGS" / " IMPRESSION: " / "FINAL REPORT". Without
# a colon an English heading must start with a capital: a wrapped sentence can end a line with "findings".
_OWN_LINE = re.compile(rf"^[ \t]*(?P<h>{_EN_HEADS}|{_ZH_HEADS}|{_alternation(_TITLES)})[ \t]*(?P<c>{_COLON})?[ \t]*$",
                       re.IGNORECASE | re.MULTILINE)
# A heading with a colon followed by text: at the start of a line, or after a sentence's end. English
# headings need a word boundary before them; Chinese ones follow 。；, whitespace or the line start.
_INLINE_EN = re.compile(rf"(?:^|(?<=[.;!?])|(?<=[.;!?]\s)|(?<=[.;!?]\s\s))[ \t]*(?P<h>{_EN_HEADS})[ \t]*{_COLON}",
                        re.IGNORECASE | re.MULTILINE)
_INLINE_ZH = re.compile(rf"(?:^|(?<=[。；;.!?！？\s]))[ \t]*(?P<h>{_ZH_HEADS})[ \t]*{_COLON}", re.MULTILINE)
# An upper-case heading with a colon anywhere after a word boundary ("... of the spine IMPRESSION: ..."):
# exports that lost the line breaks, or a sentence without its full stop.
_INLINE_UPPER = re.compile(rf"\b(?P<h>{_alternation([h.upper() for h in _IMPRESSION + _FINDINGS + _BOTH + _OTHER])})"
                           rf"[ \t]*{_COLON}")


def _kind(heading: str) -> str:
    return _KIND[" ".join(heading.lower().split())]


def _headings(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every heading, in order, without overlaps."""
    found = []
    for pattern in (_OWN_LINE, _INLINE_EN, _INLINE_ZH, _INLINE_UPPER):
        for m in pattern.finditer(text):
            if pattern is _OWN_LINE and m.group("c") is None and m.group("h")[0].islower():
                continue
            found.append((m.start("h"), m.end(), _kind(m.group("h"))))
    found.sort()
    out: list[tuple[int, int, str]] = []
    for start, end, kind in found:
        if out and start < out[-1][1]:
            continue  # the same heading matched twice (own line and inline)
        out.append((start, end, kind))
    return out


def _clean(text: str) -> str:
    return " ".join(text.split())


def extract_sections(text: str) -> Sections:
    """The impression and findings of a raw report (see the module docstring for the headings)."""
    text = text or ""
    heads = _headings(text)
    parts: dict[str, list[str]] = {"impression": [], "findings": []}
    heading_found = False
    for i, (start, end, kind) in enumerate(heads):
        if kind == "title":
            continue
        heading_found = True
        body = _clean(text[end: heads[i + 1][0] if i + 1 < len(heads) else len(text)])
        if not body:
            continue
        if kind in ("impression", "both"):
            parts["impression"].append(body)
        if kind in ("findings", "both"):
            parts["findings"].append(body)
    return Sections(impression=" ".join(parts["impression"]), findings=" ".join(parts["findings"]),
                    heading_found=heading_found)


def _without_titles(text: str) -> str:
    """The report with its title lines ("FINAL REPORT") removed, whitespace collapsed."""
    def is_title(line: str) -> bool:
        m = _OWN_LINE.fullmatch(line)
        return m is not None and _kind(m.group("h")) == "title" and not m.group("h")[0].islower()
    kept = [line for line in (text or "").splitlines() if not is_title(line)]
    return _clean("\n".join(kept))


def target_text(record: ImageRecord, field: str = "impression") -> tuple[str, str]:
    """(text, how) of a record's training target.

    how = "source": the source separated the sections (``record.sections[field]``, e.g. IU's impression);
    "section": parsed from ``record.report`` by :func:`extract_sections`; "whole report": the report has
    no section heading at all, so the whole report (title lines dropped) is the target; the trainer counts
    these. "none": there is no text for this field (the report has headings but no such section, or there
    is no report): the text is "" and the trainer skips the record (and counts it).
    """
    if field not in TARGET_FIELDS:
        raise ValueError(f"target field must be one of {', '.join(TARGET_FIELDS)}, got {field!r}")
    if record.sections and _clean(record.sections.get(field) or ""):
        return _clean(record.sections[field]), "source"
    if not _clean(record.report):
        return "", "none"
    sections = extract_sections(record.report)
    text = getattr(sections, field)
    if text:
        return text, "section"
    if not sections.heading_found:
        return _without_titles(record.report), "whole report"
    return "", "none"
