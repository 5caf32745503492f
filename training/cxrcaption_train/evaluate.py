r"""Evaluation glue: the files `cxrcaption eval` / `cxrcaption score` read, the two baselines, and (as a
cross-check only) candidates from the PyTorch reference.

    cxrcaption-evaluate --manifest DATA/manifest.jsonl --out runs/demo-en/eval \
        [--model runs/demo-en/model.safetensors] [--cli .build/release/cxrcaption-cli] [--eval-args "..."]

Writes into --out:
  references.json   id -> [reference impression]             (the split's studies, copy 0)
  images.json       id -> absolute image path
  labels.json       id -> rendered finding labels
  masks.json        id -> masks .npz path (when the dataset builder saved masks)
  constant.json     id -> the most frequent training impression (baseline 1)
  oracle.json       id -> the training impression whose label set is nearest (Jaccard) the study's (baseline 2)
  ceiling.json      id -> the training impression with the highest expected CIDEr-D given the study's rendered
                    findings (side and severity included): a findings-conditioned choice that estimates what
                    a model that saw the drawn findings perfectly could reach (see `ceiling_baseline`)
  reference.json    id -> ranked beam-search captions of the PyTorch reference (with --model)
  eval_manifest.jsonl  the split as `cxrcaption eval` reads it (image, report, split, id, labels)
With --cli and --model, runs `cxrcaption eval --model M --manifest eval_manifest.jsonl --best-of 3 --json
--output eval_output.jsonl` (+ --eval-args): these are the numbers for the model card (eval_scores.json).
With --cli, also `cxrcaption score --json` on every candidates file above, saving *_scores.json.
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

from .dataset import equalize, load_gray, read_manifest, target_text, to_model_input


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


def reference_candidates(model_path: str, entries: list[dict], beam: int = 3) -> dict[str, list[str]]:
    import torch
    from cxrcaption_ref.beam import BeamParameters, detokenize, model_beam_search
    from cxrcaption_ref.export import load_model
    torch.set_num_threads(1)
    model, info = load_model(model_path)
    cfg = info["config"]
    out = {}
    with torch.no_grad():
        for e in entries:
            x = to_model_input(equalize(load_gray(e["image_path"]), cfg.input_size), cfg)
            feats = model.encode(torch.from_numpy(x)[None])
            results = model_beam_search(model, feats, info["special"], BeamParameters(beam=beam, results=beam))
            out[e["id"]] = [detokenize(r.tokens, info["vocab"], info["join"], info["special"]) for r in results]
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="Prepare and run the evaluation of a trained model.")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--split", default="test")
    ap.add_argument("--out", required=True)
    ap.add_argument("--model", help="weights file: also write the PyTorch reference's candidates")
    ap.add_argument("--cli", help="path to the cxrcaption executable")
    ap.add_argument("--eval-args", default=None, help="extra arguments for `cxrcaption eval`")
    ap.add_argument("--language", choices=("en", "zh"), default="en")
    ap.add_argument("--target-field", default="impression")
    ap.add_argument("--oracle-key", default="labels", choices=("labels", "mesh"))
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args(argv)
    entries = read_manifest(args.manifest)
    train = [e for e in entries if e["split"] == "train"]
    test = [e for e in entries if e["split"] == args.split and e.get("copy", 0) == 0]
    if args.limit:
        test = test[: args.limit]
    os.makedirs(args.out, exist_ok=True)

    def dump(name, obj):
        with open(os.path.join(args.out, name), "w", encoding="utf-8") as fh:
            json.dump(obj, fh, ensure_ascii=False, indent=0)
        return os.path.join(args.out, name)

    refs = dump("references.json", {e["id"]: [_norm(target_text(e, args.language, args.target_field))]
                                     for e in test})
    eval_manifest = os.path.join(args.out, "eval_manifest.jsonl")
    with open(eval_manifest, "w", encoding="utf-8") as fh:
        for e in test:
            fh.write(json.dumps({"id": e["id"], "image": e["image_path"], "split": args.split,
                                 "report": _norm(target_text(e, args.language, args.target_field)),
                                 "labels": e.get("labels", [])}, ensure_ascii=False) + "\n")
    dump("images.json", {e["id"]: e["image_path"] for e in test})
    dump("labels.json", {e["id"]: e.get("labels", []) for e in test})
    masks = {e["id"]: e["image_path"][:-4] + "_masks.npz" for e in test
             if os.path.exists(e["image_path"][:-4] + "_masks.npz")}
    dump("masks.json", masks)
    const = constant_baseline(train)
    candidates = {"constant": dump("constant.json", {e["id"]: const for e in test}),
                  "oracle": dump("oracle.json", oracle_baseline(train, test, args.oracle_key)),
                  "ceiling": dump("ceiling.json", ceiling_baseline(train, test))}
    dump("constant_top3.json", {e["id"]: constant_ranked(train, 3) for e in test})
    dump("oracle_top3.json", oracle_ranked(train, test, args.oracle_key, 3))
    print(f"{len(test)} {args.split} studies; constant baseline: {const!r}")
    if args.model:
        candidates["reference"] = dump("reference.json", reference_candidates(args.model, test))
    if args.cli:
        if args.model:
            cmd = [args.cli, "eval", "--model", args.model, "--manifest", eval_manifest, "--split", args.split,
                   "--best-of", "3", "--json", "--output", os.path.join(args.out, "eval_output.jsonl")]
            cmd += shlex.split(args.eval_args or "")
            print("$", " ".join(cmd), flush=True)
            res = subprocess.run(cmd, capture_output=True, text=True)
            with open(os.path.join(args.out, "eval_scores.json"), "w") as fh:
                fh.write(res.stdout)
            print(res.stdout[-1500:], res.stderr[-1500:])
            if res.returncode != 0:
                raise SystemExit(f"cxrcaption eval failed with status {res.returncode}")
        for name, path in candidates.items():
            res = subprocess.run([args.cli, "score", "--candidates", path, "--references", refs, "--json"],
                                 check=True, capture_output=True, text=True)
            with open(os.path.join(args.out, f"{name}_scores.json"), "w") as fh:
                fh.write(res.stdout)
            print(name, res.stdout[:300])


if __name__ == "__main__":
    sys.exit(main())
