"""A rule-based labeler of CheXpert's 14 observations in chest X-ray report text.

Stage 1 of the trainer learns finding labels; a hospital's raw reports come without them. This labeler
gives each report CheXpert's labels: 1 (positive), 0 (negative), -1 (uncertain), and no entry when the
report does not mention the observation, with CheXpert's conventions:

- an observation is positive if any mention of it is, else uncertain if any mention is, else negative;
- "No Finding" is 1 when no observation other than Support Devices is positive or uncertain and no other
  abnormality (emphysema, scoliosis, granuloma, hernia, calcification, ...) is mentioned as present or
  possible; otherwise it is absent (never 0);
- "congestive heart failure" / "CHF" mentioned as present or possible also makes Cardiomegaly uncertain;
- a stable or unchanged heart or mediastinal silhouette is uncertain for Cardiomegaly / Enlarged
  Cardiomediastinum (stable does not say normal), a borderline one too;
- "X or Y" / "X versus Y" makes both uncertain; "no new X" is uncertain.

How: a report with headings is labeled on its FINDINGS and IMPRESSION sections (not its INDICATION or
HISTORY); the text is split into sentences (at ". ", "! ", ": ", ";" and blank lines; not at the line breaks
of wrapped text); in each, keyword rules find the
mentions of each observation (the keyword lists below, written for this project; the mention vocabulary
follows CheXpert's published phrase lists in spirit) and the heart and mediastinum descriptions ("the heart
is normal in size", "mildly enlarged cardiac silhouette"). A mention is negated by a trigger before it in
the same clause ("no", "not", "without", "free of", "negative for", "absence of", "resolved", "removal of",
...) or just after it ("... is not seen", "has resolved", "has been removed", ...), and uncertain after
"may", "might", "could", "possible", "probable", "likely", "suspected", "suspicious for", "concern for",
"questionable", "suggestive of", "cannot exclude", "not excluded", "differential", "versus", "borderline",
... or before "... cannot be excluded", "... is suspected", .... A clause ends at "but", "however",
"although", "except", "there is", ... so "no effusion, but there is atelectasis" keeps the atelectasis.
Pseudo-negations ("no change in the pneumothorax", "no significant interval change") do not negate.

It is a keyword labeler, not a parser: its agreement with a reference is measured, not assumed
(``python training/tests/labeler_agreement.py`` against the IU collection's MeSH labels).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from .reports import extract_sections

__all__ = ["CHEXPERT_OBSERVATIONS", "label_report", "findings_text", "Mention", "mentions"]

#: CheXpert's 14 observations, CheXpert's spelling and order.
CHEXPERT_OBSERVATIONS: tuple[str, ...] = (
    "No Finding", "Enlarged Cardiomediastinum", "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema",
    "Consolidation", "Pneumonia", "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other",
    "Fracture", "Support Devices")

_OTHER = "other abnormality"  # mentions that only block "No Finding"


def _rx(*alternatives: str) -> re.Pattern:
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\b")


# -------------------------------------------------------------------------------------------- mention rules

# observation -> (mention pattern, exclusion pattern or None: a mention overlapping an exclusion is dropped)
_MENTIONS: dict[str, tuple[re.Pattern, re.Pattern | None]] = {
    "Enlarged Cardiomediastinum": (
        _rx(r"widen(?:ed|ing) (?:of the )?(?:superior )?mediastin\w*", r"mediastinal (?:widening|enlargement)",
            r"enlarged cardio[\s-]?mediastin\w*"), None),
    "Cardiomegaly": (
        _rx(r"cardiomegaly", r"cardiac enlargement", r"enlargement of the (?:heart|cardiac silhouette)",
            r"cardiac hypertrophy"), None),
    "Lung Opacity": (
        _rx(r"opacit(?:y|ies)", r"opacification", r"opacified", r"densit(?:y|ies)", r"infiltrat\w*",
            r"air[\s-]?space (?:disease|process|opacit\w*|consolidation|filling)", r"haziness", r"hazy",
            r"ground[\s-]glass", r"interstitial (?:markings?|pattern|opacit\w*|lung|disease|changes?|"
            r"prominence|thickening|infiltrat\w*)", r"reticula\w*", r"reticulonodular",
            r"decreased translucency", r"peribronchial (?:thickening|cuffing)", r"(?:bronchial )?wall thickening",
            r"parenchymal scar\w*", r"scar(?:s|ring|red)?"),
        _rx(r"pleural[\s-]?(?:based )?(?:parenchymal )?scar\w*",
            r"pleural (?:thickening|plaques?)(?:/| or | and |, )scar\w*", r"(?:bone|breast|bony|osseous|soft[\s-]tissue|"
            r"metallic|calcific|calcified) densit(?:y|ies)")),
    "Lung Lesion": (
        _rx(r"nodul(?:e|es|ar (?:densit(?:y|ies)|opacit(?:y|ies)|opacification))", r"masse?s?",
            r"lump", r"(?:cavitary|cavitating|lung|pulmonary|parenchymal|spiculated) lesions?",
            r"tumou?rs?", r"neoplasms?", r"carcinoma", r"malignan\w*", r"metasta\w*"),
        _rx(r"mass effect", r"(?:soft tissue|breast) mass(?:es)?")),
    "Edema": (
        _rx(r"edema", r"oedema", r"(?:pulmonary |vascular |venous |interstitial )congestion",
            r"congestive heart failure", r"heart failure", r"chf", r"vascular (?:prominence|engorgement)",
            r"(?:pulmonary )?venous engorgement",
            r"engorge(?:d|ment) (?:of the )?(?:pulmonary )?(?:vessels|vasculature|vascularity)",
            r"indistinct(?:ness)? (?:of the )?(?:pulmonary )?(?:vessels|vasculature|vascular markings)",
            r"kerley b?(?: lines)?"),
        _rx(r"(?:soft tissue|subcutaneous|facial|extremity|peripheral) edema")),
    "Consolidation": (_rx(r"consolidat\w*"), None),
    "Pneumonia": (_rx(r"pneumoni\w*", r"bronchopneumonia", r"infect\w*"),
                  _rx(r"granulomatous (?:\w+ )?infection", r"(?:old|prior|remote|previous|healed|chronic) "
                      r"(?:\w+ )?infection", r"tuberculous infection", r"infection control")),
    "Atelectasis": (_rx(r"atelecta\w*", r"collapsed?"),
                    _rx(r"(?:vertebral|vertebra|compression|disc|disk|height) (?:body )?collapse")),
    "Pneumothorax": (_rx(r"pneumothora(?:x|ces)", r"hydropneumothora(?:x|ces)", r"hemopneumothorax", r"ptx"),
                     None),
    "Pleural Effusion": (
        _rx(r"effusions?", r"pleural fluid", r"hydrothorax", r"hydropneumothora(?:x|ces)",
            r"fluid (?:in|within|tracking along) the (?:major |minor |right |left )*fissures?"),
        _rx(r"pericardial effusions?", r"joint effusions?")),
    "Pleural Other": (
        _rx(r"pleural (?:thickening|plaques?|calcifications?|fibrosis)", r"pleural[\s-]?(?:based )?"
            r"(?:parenchymal )?scar\w*", r"pleuro[\s-]?parenchymal (?:scar\w*|thickening|opacit\w*)",
            r"fibrothorax", r"apical (?:pleural )?(?:cap|capping|thickening)",
            r"thickening of the pleura", r"calcified pleura\w*"), None),
    "Fracture": (_rx(r"fractur\w*", r"fx"), None),
    "Support Devices": (
        _rx(r"pacemakers?", r"pacers?", r"pacing (?:wires?|leads?|device)", r"defibrillators?", r"a?icd",
            r"(?:medical|cardiac|implanted|implantable|support) devices?", r"devices?", r"catheters?",
            r"picc(?: line)?", r"(?:central|venous|arterial|jugular|subclavian|dialysis|swan[\s-]ganz|"
            r"picc|cvp|catheter|ij) lines?", r"lines and tubes", r"tubes and lines", r"port[\s-]?a[\s-]?cath",
            r"portacath", r"mediport", r"(?:chest|power|infusion|venous|right|left|subcutaneous) port",
            r"tubes?", r"ett", r"ngt?", r"ogt?", r"drains?", r"stents?", r"(?:ivc )?filter",
            r"(?:valve (?:replacement|prosthesis)|prosthetic (?:\w+ )?valve|valves? replacement|"
            r"(?:aortic|mitral|pulmonic|tricuspid|cardiac) valve)", r"sternotomy(?: wires?| sutures?)?",
            r"(?:surgical|vascular|metallic|surgery|mediastinal|cabg) clips?", r"hardware", r"stimulators?",
            # a line or tube whose name is redacted or left out: "XXXX with tip projecting over the SVC"
            r"tip (?:projects?|projecting|overlies|overlying|is|in|at|near|termin\w*|extends?|within|over)", r"(?:fixation )?plates?",
            r"screws?", r"(?:spinal |fusion |harrington )rods?", r"wires?", r"coils?", r"electrodes?",
            r"(?:ekg|ecg|monitoring|cardiac|lead|pacemaker|icd) leads?", r"cannula", r"arthroplast\w*",
            r"(?:balloon pump|iabp|lvad|impella)", r"tracheostomy"),
        _rx(r"nasogastric tube placement", r"tuberculosis", r"trachea is midline")),
    _OTHER: (
        _rx(r"emphysema\w*", r"emphysematous", r"blunt(?:ed|ing)", r"elevat(?:ed|ion)", r"eventration",
            r"scolio\w*", r"dextroscolio\w*", r"levoscolio\w*", r"kypho\w*", r"degenerat\w*", r"calcifi\w*",
            r"hyperinfla\w*", r"hyperexpan\w*", r"hyperlucen\w*", r"overinflat\w*", r"hypoinflat\w*",
            r"low lung volumes?", r"low volumes?", r"copd", r"chronic obstructive", r"bronchospasm", r"asthma",
            r"hernias?", r"plaques?", r"osteophyt\w*", r"spondylo\w*", r"deformit(?:y|ies)", r"granulom\w*",
            r"atheroscler\w*", r"tortu\w*", r"ectasia", r"ectatic", r"unfold(?:ed|ing)", r"aneurysm\w*",
            r"osteopenia", r"osteoporo\w*", r"pneumomediastinum", r"pneumoperitoneum", r"free air",
            r"bronchiectasis", r"bronchitis", r"airways? disease", r"thickening", r"bullae", r"bullous",
            r"blebs?", r"cysts?", r"cavit\w*", r"fibros\w*", r"fibrotic", r"volume loss", r"prominen\w*",
            r"(?:adenopathy|lymphadenopathy)", r"hyperostosis", r"dish", r"sclero\w*", r"lucenc(?:y|ies)",
            r"aspiration", r"contusions?", r"hemorrhage", r"hematoma", r"inflam\w*", r"cephalization",
            r"hypertension", r"arthri\w*", r"arthropathy", r"foreign bod(?:y|ies)", r"radiopaque",
            r"mastectomy", r"postsurgical", r"post-surgical", r"surgical changes", r"pectus", r"lobectomy",
            r"pneumonectomy", r"spinal fusion", r"shift", r"dilat(?:ed|ation)", r"enlarged", r"widen\w*"),
        None),
}

# Heart and mediastinum descriptions: an entity, then (or just before it) a state. "Stable" is uncertain
# (it does not say normal) unless the description also says normal or enlarged ("stable and within normal
# limits").
_STABLE = -2
_HEART = _rx(r"heart(?: size)?", r"cardiac (?:silhouette|size|shadow|contours?|outline|borders?)", r"cardiac")
_MEDIASTINUM = _rx(r"cardio[\s-]?mediastin\w*(?: (?:silhouettes?|contours?|shadows?|size|structures|width))?",
                   r"mediastin(?:um|al)(?: (?:silhouettes?|contours?|shadows?|size|structures|width|borders?))?")
_ENTITY_STATES = {
    "Cardiomegaly": (_HEART, [
        (-1, r"upper limits? of normal|upper normal|top(?:-| of )?normal|high(?:-| )normal|borderline"
             r"(?: enlarged| in size)?|mildly prominent|prominen(?:t|ce)"),
        (_STABLE, r"stable|unchanged|similar"),
        (1, r"(?:(?:mildly|moderately|markedly|severely|slightly|minimally|massively|significantly|"
            r"substantially|again|remains?|is|are) )*(?:enlarged|enlargement|large|increased(?: in size)?|big)"),
        (0, r"normal(?:-sized| sized| in size| size)?|within normal limits|unremarkable|small")]),
    "Enlarged Cardiomediastinum": (_MEDIASTINUM, [
        (-1, r"upper limits? of normal|borderline|prominen(?:t|ce)"),
        (_STABLE, r"stable|unchanged|similar"),
        (1, r"widen(?:ed|ing)|wide|enlarged|enlargement|increased|large"),
        (0, r"normal(?:-sized| sized| in size| size)?|within normal limits|unremarkable")]),
}
# Mentions that are uncertain by themselves (CheXpert's convention): signs that suggest edema.
_UNCERTAIN_BY_ITSELF = {"Edema": re.compile(
    r"(?:pulmonary |vascular |venous |interstitial )congestion|vascular (?:prominence|engorgement)|"
    r"(?:pulmonary )?venous engorgement|engorge(?:d|ment)\b.*|indistinct.*|kerley.*")}
_STATE_PATTERNS = {obs: [(value, re.compile(r"\b(?:" + p + r")\b")) for value, p in states]
                   for obs, (_, states) in _ENTITY_STATES.items()}

# -------------------------------------------------------------------------------------------- context rules

_UNCERTAIN_PRE = _rx(
    r"may", r"might", r"could", r"would", r"possibl[ey]", r"probabl[ey]", r"likely", r"unlikely",
    r"presumabl[ey]", r"presumed", r"suspect(?:ed|s)?", r"suspicious(?: for| of)?", r"suspicion(?: of| for)?",
    r"concern(?:ing)?(?: for)?", r"worrisome(?: for)?", r"question(?:able|ably|ed)?", r"cannot (?:be )?exclude[sd]?",
    r"can ?not (?:be )?(?:excluded|ruled out)", r"cannot rule out", r"not (?:be )?(?:entirely )?(?:excluded|ruled out)",
    r"rule out", r"r/o", r"differential(?: diagnosis)?(?: includes?| of| considerations include)?", r"versus", r"vs",
    r"borderline", r"equivocal", r"indeterminate", r"uncertain", r"consider(?:ed|ation)?",
    r"suggest(?:s|ed|ing|ive)?(?: of)?", r"favou?r(?:s|ed|ing)?", r"no new", r"not (?:well|clearly) (?:seen|visualized|evaluated)",
    r"poorly (?:seen|visualized|evaluated)", r"obscur\w*")
# Words that look like uncertainty but are not about the finding's presence ("age-indeterminate fracture").
_NOT_UNCERTAIN = _rx(r"age[\s-]indeterminate", r"indeterminate age", r"of uncertain (?:age|acuity|chronicity)")
_UNCERTAIN_POST = re.compile(
    r"^\W*(?:\w+\W+){0,3}?(?:(?:is|are|was|were) )?(?:not (?:entirely |completely )?excluded|"
    r"cannot be (?:excluded|ruled out)|can ?not be (?:excluded|ruled out)|not ruled out|"
    r"(?:is|are|was|were|be) (?:possible|suspected|questioned|likely|unlikely|considered|favou?red)|"
    r"not (?:well|clearly) (?:seen|visualized|evaluated)|poorly (?:seen|visualized|evaluated)|"
    r"(?:may|might|could) (?:also )?be (?:present|seen|noted|developing))\b|"
    r"^\W*(?:\w+\W+){0,2}?(?:or|and/or|versus|vs)\b")
_NEGATION_PRE = _rx(
    r"no", r"not", r"without", r"free of", r"negative for", r"absence of", r"absent", r"resolution of",
    r"resolved", r"clear of", r"clearing of", r"removal of", r"removed", r"nor", r"neither", r"none", r"rather than",
    r"instead of", r"denies")
_PSEUDO_NEGATION = _rx(
    r"no (?:significant |substantial |interval |appreciable |definite |definitive |major |further )*"
    r"(?:change|increase|decrease|improvement|worsening|progression|difference|enlargement)s?",
    r"not (?:only|significantly changed|changed)", r"without (?:significant |interval |substantial )*change",
    r"not (?:significantly |appreciably )?(?:increased|decreased|improved|worsened)")
_NEGATION_POST = re.compile(
    r"^\W*(?:\w+\W+){0,4}?(?:(?:is|are|was|were|has been|have been) )?(?:not (?:seen|identified|present|"
    r"visualized|appreciated|demonstrated|detected|evident|noted|visible|apparent|definitely seen|definitely "
    r"identified)|(?:has|have) (?:resolved|cleared|been removed|been withdrawn|been discontinued)|resolved|absent|"
    r"removed|no longer (?:seen|present|visualized|evident|identified|visible|noted|apparent|demonstrated)|"
    r"(?:is|are|appears?|remains?) (?:within (?:the )?(?:normal limits|limits of normal)|normal))\b")
# Where a trigger's scope ends: these words, and a comma followed by a word that starts a new statement
# ("no effusion, small pneumothorax") rather than the next item of a list ("no effusion, pneumothorax or ...").
_CLAUSE_END = re.compile(
    r"\b(?:but|however|although|though|yet|except|apart from|aside from|other than|with the exception of|which|"
    r"whereas|while|there (?:is|are|has been|have been)|(?:is|are) (?:present|seen|noted|identified)|otherwise)\b|"
    r"[()]|"
    r",\s*(?=(?:the|a|an|there|stable|unchanged|persistent|mild|mildly|moderate|moderately|severe|again|likely|"
    r"probable|probably|possible|possibly|may|questionable|heart|lungs?)\b)")
# Where a heart / mediastinum description ends (its state is looked for before this).
_STATE_END = _rx(r"but", r"however", r"although", r"though", r"whereas", r"while", r"which", r"with", r"without")
_DISJUNCTION = re.compile(r"^\W*(?:or|and/or|versus|vs\.?)\W+(?:\w+\W+){0,2}?$")
_UNCERTAIN_REACH = 8  # words from an uncertainty trigger to the mention it makes uncertain
# ... and not past these: "question congestion in a patient with prosthetic valve" (the valve is certain)
_UNCERTAINTY_STOP = _rx(r"in (?:a|the|this) patient", r"status post", r"s/p", r"given", r"with (?:a )?history")
_SENTENCE_END = re.compile(r"(?<=[.!:])\s+|;")


@dataclass(frozen=True)
class Mention:
    """One mention: the observation (or "other abnormality"), its value and the text that was matched."""

    observation: str
    value: int
    text: str
    sentence: str


def _normalize(text: str) -> str:
    text = re.sub(r"X{2,}", "xxxx", text or "")
    return " ".join(text.lower().split())


def _sentences(text: str) -> list[str]:
    """Sentences: split at ". ", "! ", ": " and ";" and at blank lines, not at single line breaks (reports
    wrap sentences across lines: "no effusion or\\n pneumothorax")."""
    out = []
    for paragraph in re.split(r"\n[ \t]*\n", text or ""):
        out += [s.strip() for s in _SENTENCE_END.split(_normalize(paragraph)) if s and s.strip()]
    return out


def _spans(pattern: re.Pattern, text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def _overlaps(span: tuple[int, int], spans: Iterable[tuple[int, int]]) -> bool:
    return any(a < span[1] and span[0] < b for a, b in spans)


class _Context:
    """The triggers of one sentence: uncertainty, negation (pseudo-negations and uncertainty phrases that
    contain "not" removed) and clause ends."""

    def __init__(self, sentence: str):
        self.sentence = sentence
        self.uncertain = [s for s in _spans(_UNCERTAIN_PRE, sentence)
                          if not _overlaps(s, _spans(_NOT_UNCERTAIN, sentence))]
        self.pseudo = _spans(_PSEUDO_NEGATION, sentence)
        masked = self.uncertain + self.pseudo
        self.negation = [s for s in _spans(_NEGATION_PRE, sentence) if not _overlaps(s, masked)]
        self.ends = _spans(_CLAUSE_END, sentence)
        self.state_ends = _spans(_STATE_END, sentence)

    def _clause_start(self, position: int) -> int:
        """Where the clause holding `position` starts (after the last clause end before it)."""
        starts = [b for a, b in self.ends if b <= position]
        return max(starts, default=0)

    def before(self, start: int, lower: int | None = None) -> int | None:
        """The value the triggers before `start` in its clause give: 0 when there is a negation (it wins:
        "no opacity to suggest pneumonia"), else -1 when there is an uncertainty trigger at most
        _UNCERTAIN_REACH words before (an adjective such as "borderline": 2), else None."""
        lower = self._clause_start(start) if lower is None else lower
        if any(lower <= a and b <= start for a, b in self.negation):
            return 0
        for a, b in self.uncertain:
            if lower <= a and b <= start:
                reach = 2 if self.sentence[a:b].startswith("borderline") else _UNCERTAIN_REACH
                gap = self.sentence[b:start]
                if len(re.findall(r"\w+", gap)) <= reach and not _UNCERTAINTY_STOP.search(gap):
                    return -1
        return None

    def after_pseudo(self, start: int) -> bool:
        """Whether a pseudo-negation ("no change in") comes before `start` in its clause."""
        lower = self._clause_start(start)
        return any(lower <= a and b <= start for a, b in self.pseudo)

    def after(self, end: int) -> int | None:
        """0 or -1 from a trigger right after a mention ("... is not seen", "... cannot be excluded"), looked
        for up to the clause's end or the next comma."""
        rest = self.sentence[end:]
        for a, b in self.ends:  # not past the clause
            if a >= end:
                rest = self.sentence[end:a]
                break
        rest = rest.split(",", 1)[0]
        if _UNCERTAIN_POST.match(rest):
            return -1
        if _NEGATION_POST.match(rest):
            return 0
        return None


def _keyword_mentions(sentence: str, context: _Context) -> list[tuple[str, int, tuple[int, int]]]:
    found = []
    for observation, (pattern, exclude) in _MENTIONS.items():
        excluded = _spans(exclude, sentence) if exclude is not None else []
        for m in pattern.finditer(sentence):
            span = (m.start(), m.end())
            if _overlaps(span, excluded):
                continue
            value = context.before(span[0])
            if value is None and not context.after_pseudo(span[0]):
                value = context.after(span[1])
            if value is None:
                uncertain = _UNCERTAIN_BY_ITSELF.get(observation)
                value = -1 if uncertain is not None and uncertain.fullmatch(m.group(0)) else 1
            found.append((observation, value, span))
    return found


def _state_mentions(sentence: str, context: _Context) -> list[tuple[str, int, tuple[int, int]]]:
    """Heart / mediastinum descriptions: "the heart is mildly enlarged", "normal heart size", ..."""
    found = []
    for observation, (entity, _) in _ENTITY_STATES.items():
        states = _STATE_PATTERNS[observation]
        for m in entity.finditer(sentence):
            choice = None
            # a state just before the entity ("normal heart size", "enlarged cardiac silhouette")
            head = sentence[max(0, m.start() - 40): m.start()]
            for value, pattern in states:
                for s in pattern.finditer(head):
                    if re.fullmatch(r"[\s,-]*(?:(?:the|a|an|mildly|moderately|markedly|slightly|\w+ly)\s+)*",
                                    head[s.end():]):
                        choice = (value, m.start() - len(head) + s.start(), m.start() - len(head) + s.end(), True)
            if choice is None:
                # the first state after it, within 10 words and the clause
                limit = len(sentence)
                for a, b in context.state_ends:
                    if a >= m.end():
                        limit = a
                        break
                tail = sentence[m.end(): limit]
                words = list(re.finditer(r"\w+", tail))
                if len(words) > 10:
                    tail = tail[: words[10].start()]
                best = None
                for value, pattern in states:
                    s = pattern.search(tail)
                    if s and (best is None or s.start() < best[1] - m.end()):
                        best = (value, m.end() + s.start(), m.end() + s.end(), False)
                if best is not None and best[0] == _STABLE:
                    later = [(m.end() + s.start(), value, m.end() + s.end()) for value, pattern in states
                             if value != _STABLE for s in [pattern.search(tail)] if s]
                    if later:
                        start, value, end = min(later)
                        best = (value, start, end, False)
                choice = best
            if choice is None:
                continue
            value, start, end, _ = choice
            if value == _STABLE:
                value = -1
            if value == 1:
                # "the heart is not enlarged", "no mediastinal widening", "possibly enlarged heart": a trigger
                # in the clause before the state
                trigger = context.before(start)
                if trigger is not None:
                    value = trigger
            found.append((observation, value, (min(start, m.start()), max(end, m.end()))))
    return found


def mentions(text: str) -> list[Mention]:
    """Every mention the rules find in `text`, with its value (1, 0, -1), sentence by sentence."""
    out: list[Mention] = []
    for sentence in _sentences(text):
        context = _Context(sentence)
        found = _keyword_mentions(sentence, context) + _state_mentions(sentence, context)
        found.sort(key=lambda f: f[2])
        # "atelectasis or pneumonia", "effusion versus thickening": both uncertain (unless negated).
        for i, (observation, value, span) in enumerate(found):
            # ... but not after "no change in": "no change in the pneumothorax or effusion" says both are there
            if value != 1 or context.after_pseudo(span[0]):
                continue
            for j, (_, other_value, other) in enumerate(found):
                if j == i:
                    continue
                gap = sentence[span[1]: other[0]] if other[0] >= span[1] else sentence[other[1]: span[0]]
                if (other[0] >= span[1] or other[1] <= span[0]) and _DISJUNCTION.match(gap) and other_value != 0:
                    found[i] = (observation, -1, span)
                    break
        out.extend(Mention(obs, value, sentence[span[0]: span[1]], sentence) for obs, value, span in found)
    return out


def findings_text(report: str) -> str:
    """The part of a report that describes the image: its FINDINGS and IMPRESSION sections when it has
    them (reports.extract_sections), so that an INDICATION ("evaluate for pneumonia") or a HISTORY is not
    read as a finding; the whole text otherwise."""
    sections = extract_sections(report)
    if sections.heading_found and (sections.findings or sections.impression):
        return "\n\n".join(t for t in (sections.findings, sections.impression) if t)
    return report or ""


def label_report(text: str) -> dict[str, int]:
    """CheXpert labels of a report: observation -> 1 (positive), 0 (negative), -1 (uncertain); observations
    the report does not mention are absent. A report with section headings is labeled on its findings and
    impression (:func:`findings_text`). See the module docstring for the rules."""
    values: dict[str, list[int]] = {}
    for m in mentions(findings_text(text)):
        values.setdefault(m.observation, []).append(m.value)
        if m.observation == "Edema" and m.value != 0 and re.fullmatch(r"(?:congestive )?heart failure|chf", m.text):
            values.setdefault("Cardiomegaly", []).append(-1)
    labels: dict[str, int] = {}
    for observation in CHEXPERT_OBSERVATIONS[1:]:
        if observation in values:
            v = values[observation]
            labels[observation] = 1 if 1 in v else (-1 if -1 in v else 0)
    blocking = [o for o in CHEXPERT_OBSERVATIONS[1:-1] if labels.get(o) in (1, -1)]
    if not blocking and not any(v in (1, -1) for v in values.get(_OTHER, [])):
        labels = {"No Finding": 1, **labels}
    return labels
