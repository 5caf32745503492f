r"""Evaluation glue: the files `cxrcaption-cli eval` / `cxrcaption-cli score` read, the baselines, and (as a
cross-check only) candidates from the PyTorch reference. Scores are per **study**.

    cxrcaption-evaluate --dataset DATA [--format auto|jsonl|csv|r2gen|mimic-cxr-jpg] --out RUN/eval \
        [--model RUN/model.safetensors] [--cli .build/release/cxrcaption-cli] [--eval-args "..."]
    cxrcaption-evaluate --manifest DATA/manifest.jsonl --out RUN/eval ...     # = --format jsonl

Studies: the dataset is read by ``records.read_dataset``; ``--views frontal`` (the default) keeps the
frontal images and those of unknown view (``records.select_views``), as training does. The images of one
study (same ``study_id``) are never merged and never a problem: each study has one reference (its target,
``reports.target_text``) and one candidate, the caption of its **first frontal image in dataset order**
(``dataset.candidate_per_study``: a view in ``records.FRONTAL_VIEWS`` or unknown; a study with lateral
images only, under ``--views all``, is scored on its first image). A study whose target is empty is left out
and counted; phantom copies (``copy`` > 0) are left out as before.

Writes into --out (keys are study ids unless said otherwise):
  references.json   study -> [reference text]
  images.json       study -> absolute path of the study's candidate image (its first frontal image)
  studies.json      study -> {"candidate": image id, "images": [image ids, dataset order]}
  labels.json       study -> finding labels (the dataset's; [] when it gives none)
  masks.json        candidate image id -> masks .npz path (phantoms whose builder saved masks)
  constant.json     study -> the most frequent training target (baseline 1)
  oracle.json       study -> the training target whose label set is nearest (Jaccard) the study's (baseline 2)
  ceiling.json      study -> the training target with the highest expected CIDEr-D given the study's rendered
                    phantom findings (side and severity included; see `ceiling_baseline`)
  reference.json    study -> ranked beam-search captions of the PyTorch reference (with --model)
  eval_manifest.jsonl  one line per kept image, as `cxrcaption-cli eval` reads it: id (unique per image),
                    study, view (when known), image, split, report (the study's reference), labels. The CLI
                    groups lines by `study` and scores each study with its first frontal line, the same rule.
With --cli and --model, runs `cxrcaption-cli eval --model M --manifest eval_manifest.jsonl --best-of 3 --json
--output eval_output.jsonl` (+ --eval-args): these are the numbers for the model card (eval_scores.json).
With --cli, also `cxrcaption-cli score --json` on every candidates file above, saving *_scores.json.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shlex
import subprocess
import sys

import numpy as np

from . import images as images_mod
from . import records as records_mod
from .dataset import candidate_per_study, collect_targets, to_model_input


def _norm(text: str) -> str:
    return " ".join((text or "").strip().split())


def constant_baseline(train: list[dict]) -> str:
    """The most frequent training impression (compared after whitespace normalization and lowercasing)."""
    counts = collections.Counter(_norm(e["impression"]).lower() for e in train if _norm(e.get("impression")))
    top, _ = counts.most_common(1)[0]
    # return the most frequent original spelling of that text
    spellings = collections.Counter(_norm(e["impression"]) for e in train if _norm(e["impression"]).lower() == top)
    return spellings.most_common(1)[0][0]


def constant_ranked(train: list[dict], k: int = 3) -> list[str]:
    """The k most frequent training impressions (lowercased, whitespace-normalized texts), most frequent
    first, each in its most frequent original spelling: the constant baseline's best-of-k candidates."""
    counts = collections.Counter(_norm(e["impression"]).lower() for e in train if _norm(e.get("impression")))
    out = []
    for text, _ in counts.most_common(k):
        spellings = collections.Counter(_norm(e["impression"]) for e in train
                                        if _norm(e.get("impression")).lower() == text)
        out.append(spellings.most_common(1)[0][0])
    return out


def oracle_ranked(train: list[dict], test: list[dict], key: str = "labels", k: int = 3) -> dict[str, list[str]]:
    """The oracle's best-of-k candidates: training impressions by increasing label-set distance, then by
    frequency within a distance (the first is `oracle_baseline`'s answer)."""
    groups: dict[frozenset, collections.Counter] = collections.defaultdict(collections.Counter)
    for e in train:
        if _norm(e.get("impression")):
            groups[frozenset(e.get(key, []))][_norm(e["impression"])] += 1
    out = {}
    for e in test:
        s = frozenset(e.get(key, []))
        by_dist: dict[float, collections.Counter] = collections.defaultdict(collections.Counter)
        for t, counter in groups.items():
            union = s | t
            by_dist[0.0 if not union else 1 - len(s & t) / len(union)].update(counter)
        ranked = []
        for d in sorted(by_dist):
            for text, _ in by_dist[d].most_common():
                if text not in ranked:
                    ranked.append(text)
                if len(ranked) == k:
                    break
            if len(ranked) == k:
                break
        out[e["id"]] = ranked
    return out


def oracle_baseline(train: list[dict], test: list[dict], key: str = "labels") -> dict[str, str]:
    """For each test study, the training impression whose label set is nearest (Jaccard distance; the empty
    set is nearest the empty set); among equally near ones the most frequent impression, then the first."""
    groups: dict[frozenset, collections.Counter] = collections.defaultdict(collections.Counter)
    for e in train:
        if _norm(e.get("impression")):
            groups[frozenset(e.get(key, []))][_norm(e["impression"])] += 1
    sets = list(groups)
    out = {}
    for e in test:
        s = frozenset(e.get(key, []))
        def dist(t):
            union = s | t
            return 0.0 if not union else 1 - len(s & t) / len(union)
        best = min(dist(t) for t in sets)
        pool = collections.Counter()
        for t in sets:
            if dist(t) == best:
                pool.update(groups[t])
        out[e["id"]] = pool.most_common(1)[0][0]
    return out


def _finding_specs(entry: dict) -> frozenset:
    """What the phantom shows: each rendered finding with its side, zone and severity."""
    return frozenset(json.dumps(f, sort_keys=True) for f in entry.get("findings_spec", []))


def ceiling_baseline(train: list[dict], test: list[dict], beta: float = 10.0, pool: int = 400) -> dict[str, str]:
    """For each test study, the training impression (among the `pool` most frequent) that maximizes the
    CIDEr-D it would have scored on the training studies, each weighted by exp(-beta x Jaccard distance)
    between its rendered findings (`findings_spec`) and the test study's.

    A findings-conditioned Bayes choice: an estimate (not a bound) of the best top-1 CIDEr-D a model can
    reach from what is drawn, since the image carries nothing else about the impression. Approximate: the
    candidates are the `pool` most frequent impressions, the expected score uses the training idf (the
    evaluation uses the test references'), and the kernel weights near matches as well as exact ones."""
    from .cider import CiderD, metric_words
    texts = [_norm(e["impression"]) for e in train if _norm(e.get("impression"))]
    kept = [e for e in train if _norm(e.get("impression"))]
    words = [metric_words(t) for t in texts]
    scorer = CiderD(words)
    ref_vectors = [scorer.vector(w) for w in words]
    counts = collections.Counter(t.lower() for t in texts)
    spelling = {}
    for t in texts:
        spelling.setdefault(t.lower(), t)
    candidates = [spelling[t] for t, _ in counts.most_common(pool)]
    gain = np.zeros((len(candidates), len(kept)))
    for i, c in enumerate(candidates):
        v = scorer.vector(metric_words(c))
        gain[i] = [scorer.score(v, r) for r in ref_vectors]
    specs = [_finding_specs(e) for e in kept]
    out = {}
    for e in test:
        s = _finding_specs(e)
        dist = np.array([0.0 if not (s | t) else 1 - len(s & t) / len(s | t) for t in specs])
        out[e["id"]] = candidates[int(np.argmax(gain @ np.exp(-beta * dist)))]
    return out


def reference_candidates(model_path: str, studies: list[dict], beam: int = 3) -> dict[str, list[str]]:
    """The PyTorch reference's ranked beam-search captions of each study's candidate image."""
    import torch
    from cxrcaption_ref.beam import BeamParameters, detokenize, model_beam_search
    from cxrcaption_ref.export import load_model
    torch.set_num_threads(1)
    model, info = load_model(model_path)
    cfg = info["config"]
    out = {}
    with torch.no_grad():
        for st in studies:
            x = to_model_input(images_mod.equalized_image(st["image_path"], cfg.input_size), cfg)
            feats = model.encode(torch.from_numpy(x)[None])
            results = model_beam_search(model, feats, info["special"], BeamParameters(beam=beam, results=beam))
            out[st["id"]] = [detokenize(r.tokens, info["vocab"], info["join"], info["special"]) for r in results]
    return out


def studies_of(recs, split: str, language: str, field: str) -> tuple[list[dict], dict]:
    """The split's studies in dataset order, each {"id", "impression" (its target), "labels",
    "findings_spec", "mesh", "candidate" (the ImageRecord it is scored on: ``dataset.candidate_per_study``,
    its first frontal image), "image_path" (the candidate's), "images": [its ImageRecords, dataset order]},
    and counts (images, studies, studies with several images, empty targets skipped, where targets came
    from)."""
    chosen = [r for r in recs if r.split == split and int((r.extra or {}).get("copy", 0) or 0) == 0]
    pairs, counts = collect_targets(chosen, language, field)
    records = [r for r, _ in pairs]
    text_of = {r.image_id: t for r, t in pairs}
    by_study: dict[str, dict] = {}
    for i in candidate_per_study([r.study_id for r in records], [r.view for r in records]):
        record = records[i]
        extra = record.extra or {}
        by_study[record.study_id] = {
            "id": record.study_id, "impression": text_of[record.image_id], "labels": list(record.labels or []),
            "findings_spec": extra.get("findings_spec", []), "mesh": extra.get("mesh", []),
            "candidate": record, "image_path": record.path, "images": []}
    for record in records:
        by_study[record.study_id]["images"].append(record)
    studies = list(by_study.values())
    info = {"images": sum(len(st["images"]) for st in studies), "studies": len(studies),
            "studies_with_several_images": sum(len(st["images"]) > 1 for st in studies),
            "targets": counts.as_dict()}
    return studies, info


def main(argv=None):
    ap = argparse.ArgumentParser(prog="cxrcaption-evaluate",
                                 description="Prepare and run the per-study evaluation of a trained model.")
    ap.add_argument("--dataset", help="the dataset (as cxrcaption-train --dataset)")
    ap.add_argument("--format", default="auto", choices=("auto",) + tuple(records_mod.FORMATS))
    ap.add_argument("--manifest", help="the project's JSONL manifest (= --dataset PATH --format jsonl)")
    ap.add_argument("--images-root", default=None)
    ap.add_argument("--missing", choices=("error", "skip"), default="error")
    ap.add_argument("--views", choices=("frontal", "all"), default="frontal",
                    help="images a study may be scored on (frontal: PA/AP and unknown views)")
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", help="weights file: also write the PyTorch reference's candidates")
    ap.add_argument("--cli", help="path to the cxrcaption-cli executable")
    ap.add_argument("--eval-args", default=None, help="extra arguments for `cxrcaption-cli eval`")
    ap.add_argument("--language", choices=("en", "zh"), default="en")
    ap.add_argument("--target-field", choices=("impression", "findings"), default="impression")
    ap.add_argument("--oracle-key", default="labels", choices=("labels", "mesh"))
    ap.add_argument("--limit", type=int, default=0, help="evaluate the first N studies only")
    args = ap.parse_args(argv)
    if args.manifest:
        if args.dataset:
            ap.error("give --dataset or --manifest, not both")
        args.dataset, args.format = args.manifest, "jsonl"
    if not args.dataset:
        ap.error("--dataset (or --manifest) is required")
    split = records_mod.normalize_split(args.split) or args.split
    try:
        recs = records_mod.read_dataset(args.dataset, args.format, images_root=args.images_root,
                                        missing=args.missing)
    except (records_mod.DatasetError, FileNotFoundError) as exc:
        raise SystemExit(f"--dataset: {exc}") from exc
    kept, views = records_mod.select_views(recs, args.views)
    train, _ = studies_of(kept, "train", args.language, args.target_field)
    test, info = studies_of(kept, split, args.language, args.target_field)
    if args.limit:
        test = test[: args.limit]
    if not test:
        raise SystemExit(f"{args.dataset}: no {split} study with a non-empty target (after --views {args.views})")
    if not train:
        raise SystemExit(f"{args.dataset}: no train study with a non-empty target: the baselines need them")
    os.makedirs(args.out, exist_ok=True)

    def dump(name, obj):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=0)
        return os.path.join(args.out, name)

    refs = dump("references.json", {st["id"]: [_norm(st["impression"])] for st in test})
    eval_manifest = os.path.join(args.out, "eval_manifest.jsonl")
    with open(eval_manifest, "w", encoding="utf-8") as fh:
        for st in test:
            for r in st["images"]:
                line = {"id": r.image_id, "study": st["id"], "image": r.path, "split": split,
                        "report": _norm(st["impression"]), "labels": st["labels"]}
                if r.view is not None:
                    line["view"] = r.view
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    dump("images.json", {st["id"]: st["image_path"] for st in test})
    dump("studies.json", {st["id"]: {"candidate": st["candidate"].image_id,
                                     "images": [r.image_id for r in st["images"]]} for st in test})
    dump("labels.json", {st["id"]: st["labels"] for st in test})
    masks = {st["candidate"].image_id: st["image_path"][:-4] + "_masks.npz" for st in test
             if os.path.exists(st["image_path"][:-4] + "_masks.npz")}
    dump("masks.json", masks)
    const = constant_baseline(train)
    candidates = {"constant": dump("constant.json", {st["id"]: const for st in test}),
                  "oracle": dump("oracle.json", oracle_baseline(train, test, args.oracle_key)),
                  "ceiling": dump("ceiling.json", ceiling_baseline(train, test))}
    dump("constant_top3.json", {st["id"]: constant_ranked(train, 3) for st in test})
    dump("oracle_top3.json", oracle_ranked(train, test, args.oracle_key, 3))
    print(json.dumps({"event": "evaluation_set", "split": split, "views_policy": args.views, "views_seen": views,
                      **info, "studies_written": len(test)}))
    print(f"{len(test)} {split} studies ({sum(len(st['images']) for st in test)} images); "
          f"constant baseline: {const!r}")
    if args.model:
        candidates["reference"] = dump("reference.json", reference_candidates(args.model, test))
    if args.cli:
        if args.model:
            cmd = [args.cli, "eval", "--model", args.model, "--manifest", eval_manifest, "--split", split,
                   "--best-of", "3", "--json", "--output", os.path.join(args.out, "eval_output.jsonl")]
            cmd += shlex.split(args.eval_args or "")
            print("$", " ".join(cmd), flush=True)
            res = subprocess.run(cmd, capture_output=True, text=True)
            with open(os.path.join(args.out, "eval_scores.json"), "w") as fh:
                fh.write(res.stdout)
            print(res.stdout[-1500:], res.stderr[-1500:])
            if res.returncode != 0:
                raise SystemExit(f"cxrcaption-cli eval failed with status {res.returncode}")
        for name, path in candidates.items():
            res = subprocess.run([args.cli, "score", "--candidates", path, "--references", refs, "--json"],
                                 check=True, capture_output=True, text=True)
            with open(os.path.join(args.out, f"{name}_scores.json"), "w") as fh:
                fh.write(res.stdout)
            print(name, res.stdout[:300])


if __name__ == "__main__":
    sys.exit(main())
