"""Tokenizers, vocabulary and Chinese impression templates for training.

English (`tokenize_en`): lowercase; tokens are decimal numbers ("1.5"), words made of letters and digits
joined by inner hyphens, apostrophes or slashes ("x-ray", "t-spine", "5/6"), and single punctuation
characters. Everything else (whitespace) separates tokens.

`XXXX` redactions are KEPT as one token: every run of two or more X's in the original (the collection's
redaction mark, e.g. "Normal chest x-XXXX.") becomes the word "xxxx" (so "x-XXXX" is the single token
"x-xxxx"). Reason: the reference impressions the model is scored against contain the same marks, the
redaction sits where a real word was (keeping sentences grammatical, e.g. "x-xxxx" for "x-ray"), and the
frequent ones pass the vocabulary threshold. Users who want them gone can pass `drop_redactions=True`,
which removes the redacted words (a hyphenated word with a redacted part is removed whole).

Chinese (`tokenize_zh`): jieba's precise mode without the HMM (deterministic, dictionary words only),
whitespace dropped. The model's join rule is "" (concatenate).

Vocabulary (`build_vocab`): `<pad>`, `<start>`, `<end>`, `<nou>` (ids 0..3), then every token seen at least
`min_count` (3) times in the training texts, most frequent first (ties alphabetical). Rarer tokens encode
as `<nou>`.

Run as `python -m cxrcaption_train.tokenize` (not as a script path: the module name would shadow the
standard library's `tokenize`).
"""
from __future__ import annotations

import collections
import logging
import re
from typing import Iterable, Sequence

SPECIALS = ("<pad>", "<start>", "<end>", "<nou>")
PAD, START, END, NOU = SPECIALS
MIN_COUNT = 3

_REDACTION = re.compile(r"X{2,}")
_EN_TOKEN = re.compile(r"\d+(?:\.\d+)+|[a-z0-9]+(?:['/\-][a-z0-9]+)*|[^\sa-z0-9]")
_REDACTED_WORD = "xxxx"


def tokenize_en(text: str, drop_redactions: bool = False) -> list[str]:
    """English text -> tokens (see the module docstring for the rules)."""
    text = _REDACTION.sub(_REDACTED_WORD.upper(), text or "")
    tokens = _EN_TOKEN.findall(text.lower())
    if drop_redactions:
        tokens = [t for t in tokens if _REDACTED_WORD not in re.split(r"['/\-]", t)]
    return tokens


_jieba = None


def _get_jieba():
    global _jieba
    if _jieba is None:
        import jieba
        jieba.setLogLevel(logging.WARNING)
        _jieba = jieba
    return _jieba


def tokenize_zh(text: str) -> list[str]:
    """Chinese text -> jieba words (precise mode, no HMM), whitespace removed."""
    jieba = _get_jieba()
    return [t for t in jieba.lcut(text or "", HMM=False) if t.strip()]


def tokenizer_for(language: str):
    if language == "en":
        return tokenize_en
    if language == "zh":
        return tokenize_zh
    raise ValueError(f"language must be 'en' or 'zh', got {language!r}")


def join_for(language: str) -> str:
    return {"en": " ", "zh": ""}[language]


def count_tokens(token_lists: Iterable[Sequence[str]]) -> collections.Counter:
    counts = collections.Counter()
    for tokens in token_lists:
        counts.update(tokens)
    return counts


def build_vocab(train_token_lists: Iterable[Sequence[str]], min_count: int = MIN_COUNT) -> list[str]:
    """Specials, then tokens seen >= min_count times in the training texts (most frequent first)."""
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    counts = count_tokens(train_token_lists)
    for s in SPECIALS:
        counts.pop(s, None)
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return list(SPECIALS) + kept


def encode(tokens: Sequence[str], vocab: Sequence[str] | dict, add_end: bool = True) -> list[int]:
    """Tokens -> ids; unknown tokens -> `<nou>`; `<end>` appended unless add_end is False."""
    index = vocab if isinstance(vocab, dict) else {t: i for i, t in enumerate(vocab)}
    nou = index[NOU]
    ids = [index.get(t, nou) for t in tokens]
    if add_end:
        ids.append(index[END])
    return ids


def decode(ids: Sequence[int], vocab: Sequence[str], join: str) -> str:
    """Ids -> text with the join rule of docs/DECODING.md (stops at `<end>`, drops `<pad>`/`<start>`)."""
    from cxrcaption_ref.beam import detokenize
    words = []
    for i in ids:
        if vocab[i] == END:
            break
        words.append(i)
    return detokenize(words, vocab, join)


# --- Chinese impression templates ---------------------------------------------------------------------

ZH_SIDE = {"right": "右", "left": "左", "bilateral": "双", None: ""}
ZH_ZONE = {"upper": "上肺", "middle": "中肺", "lower": "下肺", "base": "肺底", "apex": "肺尖",
           "lingula": "舌段", "hilum": "肺门", "diffuse": "肺野", None: "肺"}

ZH_NORMAL = (
    "心肺未见明显异常。",
    "两肺未见明显异常，心影大小正常。",
    "胸部未见急性病变。",
    "心肺膈未见异常。",
)

#: kind -> phrasings; {side} is 右/左/双, {zone} a lung zone, {sev} a severity word.
ZH_TEMPLATES: dict[str, tuple[str, ...]] = {
    "cardiomegaly": ("心影{sev}增大", "心脏{sev}扩大", "心影增大，{sev}"),
    "pleural_effusion": ("{side}侧{sev}胸腔积液", "{side}侧胸腔{sev}积液", "{side}侧肋膈角变钝，考虑{sev}胸腔积液"),
    "atelectasis": ("{side}{zone}肺不张", "{side}{zone}盘状肺不张", "{side}{zone}条索影，考虑肺不张"),
    "airspace_opacity": ("{side}{zone}斑片状阴影", "{side}{zone}实变影", "{side}{zone}片状密度增高影，考虑炎症"),
    "calcified_granuloma": ("{side}{zone}钙化肉芽肿", "{side}{zone}钙化灶", "{side}{zone}陈旧性钙化结节"),
    "nodule": ("{side}{zone}结节影", "{side}{zone}小结节", "{side}{zone}见一结节"),
    "mass": ("{side}{zone}肿块影", "{side}{zone}团块状阴影", "{side}{zone}占位性病变"),
    "hyperinflation": ("两肺过度充气", "肺气肿表现，膈肌低平", "两肺透亮度增高，膈面低平"),
    "hypoinflation": ("吸气不足，肺容积减小", "两肺容积减低", "低肺容量"),
    "pneumothorax": ("{side}侧{sev}气胸", "{side}侧气胸", "{side}侧胸腔见气胸线"),
    "tortuous_aorta": ("主动脉迂曲", "主动脉{sev}迂曲", "主动脉走行迂曲"),
    "aortic_calcification": ("主动脉硬化", "主动脉结钙化", "主动脉壁钙化"),
    "degenerative_spine": ("胸椎退行性变", "胸椎骨质增生", "脊柱退行性改变"),
    "scoliosis": ("脊柱侧弯", "胸椎侧弯", "脊柱{sev}侧弯"),
    "sternotomy_wires": ("胸骨术后改变，可见胸骨钢丝", "胸骨正中切开术后", "胸骨钢丝固定术后"),
    "pacemaker": ("{side}胸壁起搏器", "起搏器置入术后", "心脏起搏器导线在位"),
    "catheter": ("{side}侧中心静脉导管", "中心静脉导管置入", "{side}侧留置导管"),
    "elevated_hemidiaphragm": ("{side}侧膈肌抬高", "{side}膈面抬高", "{side}侧膈顶升高"),
    "scarring": ("{side}{zone}纤维瘢痕", "{side}{zone}陈旧性纤维灶", "{side}{zone}条索状瘢痕"),
    "congestion": ("肺淤血", "两肺纹理增多，考虑肺淤血", "肺血管纹理增粗"),
    "hiatal_hernia": ("食管裂孔疝", "{sev}食管裂孔疝", "心后区见食管裂孔疝"),
    "endotracheal_tube": ("气管插管在位", "气管内插管", "气管导管置入"),
}

ZH_SEVERITY = {"borderline": "轻度", "mild": "轻度", "moderate": "中度", "severe": "重度", "small": "少量",
               "large": "大量", "single": "", "multiple": "多发", None: ""}


def zh_phrase(finding, rng) -> str:
    """One Chinese phrase for one finding (a cxrcaption_phantoms Finding or dict), template chosen by rng."""
    d = finding if isinstance(finding, dict) else finding.to_dict()
    kind = d["kind"]
    options = ZH_TEMPLATES[kind]
    template = options[int(rng.integers(len(options)))]
    zone = ZH_ZONE.get(d.get("zone"), "肺")
    side = ZH_SIDE.get(d.get("side"), "")
    if zone == "肺门" and kind == "calcified_granuloma":
        zone = "肺门淋巴结"
    text = template.format(side=side, zone=zone, sev=ZH_SEVERITY.get(d.get("severity"), ""))
    if kind == "calcified_granuloma" and d.get("severity") == "multiple":
        text = text.replace("钙化", "多发钙化", 1)
    if text.startswith("侧"):  # a sided template used without a side
        text = text[1:]
    return text


def zh_impression(findings: Sequence, rng) -> str:
    """A Chinese impression for a list of findings: one phrase each, joined by "，", ending in "。";
    a normal phrasing when there are none."""
    if not findings:
        return ZH_NORMAL[int(rng.integers(len(ZH_NORMAL)))]
    return "，".join(zh_phrase(f, rng) for f in findings) + "。"


if __name__ == "__main__":
    import sys
    for line in sys.stdin:
        print(" | ".join(tokenize_en(line)))
