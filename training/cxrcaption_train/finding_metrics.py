r"""Finding-level precision/recall of generated text against the rendered phantom findings, and attention
pointing accuracy.

    cxrcaption-finding-metrics --eval-dir runs/demo-en/eval \
        --eval-output runs/demo-en/eval/eval_output.jsonl [--json]

A finding counts as *reported* when the text mentions it, not negated: one of the finding's patterns
(`PATTERNS`, regular expressions over the lowercased text) matches inside a clause (split at . ; : and
"but"/"however"), and none of `NEGATIONS` ("no", "without", "negative for", ...) occurs among the six words
before the match in that clause ("no pleural effusion or pneumothorax" reports neither).

Precision/recall are micro-averaged over (study, finding) pairs on the studies with at least one rendered
abnormal finding (`labels` non-empty): TP = reported and rendered, FP = reported and not rendered,
FN = rendered and not reported. The texts scored: the model's top candidate (from `cxrcaption eval
--output`), the baselines written by `evaluate.py` (constant.json, oracle.json) and the real impressions
(references.json: how far the true text itself mentions what was rendered; the ceiling for a model that
writes impressions).

Pointing: for every word of the model's top caption that names a finding rendered in that study
(`POINT_WORDS`, word prefixes) and whose mask was saved, the peak of that word's attention map (from
`cxrcaption eval --attention`) is a grid cell; the word *points* when that cell overlaps the finding's mask
(union of the masks of that kind), mapped from the 512x512 phantom to the grid (the intake resizes the whole
square image, so cell (r, c) covers rows r*512/G..(r+1)*512/G). Also reported: the stricter share whose
cell centre lies in the mask, and the share expected by chance (mean share of cells overlapping the mask).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re

import numpy as np

PATTERNS: dict[str, list[str]] = {
    "cardiomegaly": [r"cardiomegaly", r"enlarged (heart|cardiac)", r"cardiac enlargement",
                     r"(heart|cardiac silhouette|cardiac)( size)? (is |are )?(\w+ )?enlarged",
                     r"heart size (is )?(at )?(the )?upper (limits? )?(of )?normal", r"borderline heart size",
                     r"heart (size )?(is )?(\w+ )?(large|prominent)"],
    "pleural_effusion": [r"effusion", r"blunt", r"pleural fluid"],
    "atelectasis": [r"atelecta", r"subsegmental", r"plate-?like", r"discoid", r"volume loss"],
    "airspace_opacity": [r"opacit", r"consolidat", r"air ?space", r"pneumonia", r"infiltrat", r"infection"],
    "calcified_granuloma": [r"granulom", r"calcified (\w+ )?(nodule|lymph|node|hilar)", r"histoplasm"],
    "nodule": [r"nodul"],
    "mass": [r"\bmass"],
    "hyperinflation": [r"hyperinfla", r"hyperexpan", r"overinfla", r"emphysem", r"\bcopd\b",
                       r"chronic obstructive", r"flatten", r"hyperluc"],
    "hypoinflation": [r"low (lung )?volume", r"hypoinfla", r"(poor|shallow|low) inspirat", r"hypoventil",
                      r"decreased lung volume"],
    "pneumothorax": [r"pneumothora"],
    "tortuous_aorta": [r"tortuo", r"ectatic", r"ectasia", r"unfold", r"dilated aort"],
    "aortic_calcification": [r"(aort\w*|arch|knob) (\w+ )?calcif", r"calcif\w* (of )?(the )?(aort|arch|knob)",
                             r"atheroscl"],
    "degenerative_spine": [r"degenerative", r"spondylo", r"osteophyt", r"arthriti", r"\bdjd\b"],
    "scoliosis": [r"scolio", r"curvature"],
    "sternotomy_wires": [r"sternotomy", r"\bcabg\b", r"bypass", r"sternal wire"],
    "pacemaker": [r"pacemaker", r"pacer", r"defibrillator", r"\baicd\b", r"\bicd\b", r"generator"],
    "catheter": [r"catheter", r"\bpicc\b", r"\bport\b", r"central (venous )?line", r"line tip", r"dialysis"],
    "elevated_hemidiaphragm": [r"elevat\w* (\w+ )?(hemi)?diaphragm", r"(hemi)?diaphragm (is )?elevat",
                               r"elevation of (the )?(\w+ )?(hemi)?diaphragm"],
    "scarring": [r"scar", r"fibros", r"fibrotic"],
    "congestion": [r"congesti", r"edema", r"cephaliz", r"kerley", r"heart failure", r"\bchf\b"],
    "hiatal_hernia": [r"hiatal", r"hiatus", r"hernia"],
    "endotracheal_tube": [r"endotracheal", r"\bet tube", r"\bett\b", r"intubat"],
}

NEGATIONS = {"no", "not", "without", "negative", "free", "resolved", "resolution", "clear", "nor", "absent"}
_CLAUSE = re.compile(r"[.;:]|\bbut\b|\bhowever\b")
_WORD = re.compile(r"[a-z0-9]+")

# word prefixes that name a finding, for attention pointing (one token of the caption)
POINT_WORDS: dict[str, tuple[str, ...]] = {
    "cardiomegaly": ("cardiomegaly", "enlarged", "enlargement", "heart", "cardiac"),
    "pleural_effusion": ("effusion", "blunt", "pleural"),
    "atelectasis": ("atelecta", "subsegmental", "platelike"),
    "airspace_opacity": ("opacit", "consolidat", "airspace", "pneumonia", "infiltrat"),
    "calcified_granuloma": ("granulom",),
    "nodule": ("nodul",),
    "mass": ("mass",),
    "hyperinflation": ("hyperinfla", "hyperexpan", "emphysem", "copd", "flatten"),
    "hypoinflation": ("hypoinfla", "volumes", "inspirat"),
    "pneumothorax": ("pneumothora",),
    "tortuous_aorta": ("tortuo", "ectatic", "aorta", "aortic"),
    "aortic_calcification": ("atheroscl", "aorta", "aortic", "calcif"),
    "degenerative_spine": ("degenerative", "spondylo", "osteophyt", "spine", "thoracic"),
    "scoliosis": ("scolio", "curvature"),
    "sternotomy_wires": ("sternotomy", "cabg", "wires"),
    "pacemaker": ("pacemaker", "pacer", "defibrillator", "aicd"),
    "catheter": ("catheter", "picc", "port"),
    "elevated_hemidiaphragm": ("elevat", "hemidiaphragm", "diaphragm"),
    "scarring": ("scar", "fibros", "fibrotic"),
    "congestion": ("congesti", "edema", "vascular"),
    "hiatal_hernia": ("hiatal", "hernia"),
    "endotracheal_tube": ("endotracheal", "tube"),
}


def reported_findings(text: str) -> set[str]:
    """The findings a text mentions without negating them."""
    found = set()
    for clause in _CLAUSE.split((text or "").lower()):
        for kind, patterns in PATTERNS.items():
            for p in patterns:
                for m in re.finditer(p, clause):
                    before = _WORD.findall(clause[: m.start()])[-6:]
                    if not NEGATIONS.intersection(before):
                        found.add(kind)
                        break
                if kind in found:
                    break
    return found


def precision_recall(texts: dict[str, str], labels: dict[str, list[str]]) -> dict:
    """Micro precision/recall over the studies of `labels` with a rendered finding (and per-label counts)."""
    tp = fp = fn = 0
    per = collections.defaultdict(lambda: [0, 0, 0])
    studies = [i for i, ls in labels.items() if ls and i in texts]
    for i in studies:
        truth, said = set(labels[i]), reported_findings(texts[i])
        for k in truth | said:
            if k in truth and k in said:
                tp += 1
                per[k][0] += 1
            elif k in said:
                fp += 1
                per[k][1] += 1
            else:
                fn += 1
                per[k][2] += 1
    return {"studies": len(studies), "tp": tp, "fp": fp, "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0,
            "per_label": {k: dict(tp=v[0], fp=v[1], fn=v[2]) for k, v in sorted(per.items())}}


def _cell_masks(mask: np.ndarray, grid: int):
    """(overlap [G,G] bool, centre-in-mask [G,G] bool) of a full-image mask."""
    h, w = mask.shape
    overlap = np.zeros((grid, grid), dtype=bool)
    centre = np.zeros((grid, grid), dtype=bool)
    for r in range(grid):
        for c in range(grid):
            r0, r1 = r * h // grid, (r + 1) * h // grid
            c0, c1 = c * w // grid, (c + 1) * w // grid
            overlap[r, c] = mask[r0:r1, c0:c1].any()
            centre[r, c] = bool(mask[min((r0 + r1) // 2, h - 1), min((c0 + c1) // 2, w - 1)])
    return overlap, centre


def pointing(records: list[dict], masks: dict[str, str]) -> dict:
    hits = centre_hits = total = 0
    chance = []
    per = collections.defaultdict(lambda: [0, 0])
    for rec in records:
        att = rec.get("attention")
        path = masks.get(rec.get("id"))
        if not att or not path or not os.path.exists(path):
            continue
        grid = int(att["grid"])
        with np.load(path) as z:
            by_kind: dict[str, np.ndarray] = {}
            for key in z.files:
                kind = key.split(":")[1]
                m = z[key] > 0
                by_kind[kind] = by_kind[kind] | m if kind in by_kind else m
        cells = {k: _cell_masks(m, grid) for k, m in by_kind.items()}
        for word, amap in zip(att["words"], att["maps"]):
            for kind, prefixes in POINT_WORDS.items():
                if kind in cells and any(word.startswith(p) for p in prefixes):
                    peak = int(np.argmax(np.asarray(amap, dtype=np.float64)))
                    r, c = divmod(peak, grid)
                    overlap, centre = cells[kind]
                    total += 1
                    hits += bool(overlap[r, c])
                    centre_hits += bool(centre[r, c])
                    chance.append(float(overlap.mean()))
                    per[kind][0] += bool(overlap[r, c])
                    per[kind][1] += 1
    return {"words": total, "pointing_overlap": hits / total if total else None,
            "pointing_centre": centre_hits / total if total else None,
            "chance_overlap": float(np.mean(chance)) if chance else None,
            "per_label": {k: dict(hits=v[0], words=v[1]) for k, v in sorted(per.items())}}


def read_eval_output(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Finding precision/recall and attention pointing.")
    ap.add_argument("--eval-dir", required=True, help="the folder evaluate.py wrote (labels.json, masks.json...)")
    ap.add_argument("--eval-output", help="`cxrcaption eval --output` JSON Lines of the model")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    def load(name):
        path = os.path.join(args.eval_dir, name)
        return json.load(open(path, encoding="utf-8")) if os.path.exists(path) else None

    labels = load("labels.json")
    texts = {}
    for name in ("constant", "oracle"):
        if load(f"{name}.json"):
            texts[name] = load(f"{name}.json")
    refs = load("references.json")
    if refs:
        texts["real impression"] = {k: v[0] for k, v in refs.items()}
    records = []
    if args.eval_output:
        records = read_eval_output(args.eval_output)
        # per study: the line the CLI scored the study on (a manifest line per image; older outputs have
        # one line per study, keyed by id)
        texts["model"] = {r.get("study", r["id"]): r["candidates"][0]["text"] for r in records
                          if r.get("candidates") and r.get("scored", True)}
    result = {name: precision_recall(t, labels) for name, t in texts.items()}
    if records:
        result["pointing"] = pointing(records, load("masks.json") or {})
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for name, r in result.items():
            if name == "pointing":
                print(f"pointing: {r['words']} finding words, peak cell overlaps mask {r['pointing_overlap']}, "
                      f"centre in mask {r['pointing_centre']}, chance {r['chance_overlap']}")
            else:
                print(f"{name:16s} studies {r['studies']}  precision {r['precision']:.3f}  recall {r['recall']:.3f}"
                      f"  (tp {r['tp']} fp {r['fp']} fn {r['fn']})")


if __name__ == "__main__":
    raise SystemExit(main())
