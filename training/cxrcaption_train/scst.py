r"""Stage 3 (optional, beyond the published recipe): self-critical fine-tuning of the decoder.

    cxrcaption-scst --model runs/demo-en/model.safetensors --manifest DATA/manifest.jsonl \
        --out runs/demo-en-scst [--mention-weight 1.0] [--epochs 8] [--export model.safetensors]
    cxrcaption-scst --model ... --dataset DATA [--format r2gen|...] --out ...   # any dataset layout

Maximum-likelihood training (stage 2) plus beam search writes the single most probable phrasing, which on
IU impressions is "no acute cardiopulmonary abnormality." for almost every image: the token cross-entropy
barely rewards naming what the image shows. This stage optimizes what the model is evaluated on, with the
self-critical policy gradient of Rennie et al. (2017, "Self-critical sequence training for image
captioning"): for each training image K captions are sampled from the model; each gets a reward; the
gradient raises the log-probability of the captions that scored better than the mean of the image's other
K-1 samples and lowers the others.

    reward = CIDEr-D(sample, the study's real impression)                   (idf from the training split)
           + mention_weight * (findings named and rendered - findings named and not rendered)
                            / max(1, rendered findings)

The second term (a "clinical" reward, as in report-generation work that rewards factual content) uses the
rendered labels, the same weak labels stage 1 trains on; `--mention-weight 0` gives plain SCST.
"Named" uses `finding_metrics.reported_findings` (mentioned and not negated).

Only the decoder learns; the encoder (and the findings head) stay as stage 2 left them, so V is computed
once for every image. The architecture and the inference (beam search) are unchanged: the exported file
is an ordinary cxrcaption/1 model. Each epoch is scored on the validation split with beam 3 (top-1 CIDEr-D
with the validation references' idf, and finding precision/recall on the validation studies with a
rendered finding); the epoch with the best `--select` score is exported.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from cxrcaption_ref.beam import BeamParameters, detokenize, model_beam_search
from cxrcaption_ref.export import export_model, load_model
from cxrcaption_ref.model import DecoderContext

from . import records as records_mod
from .cider import CiderD, metric_words
from .dataset import collect_targets, equalized_cache, to_model_input
from .finding_metrics import precision_recall, reported_findings


def mention_reward(text: str, truth: set[str]) -> float:
    said = reported_findings(text)
    return (len(said & truth) - len(said - truth)) / max(1, len(truth))


@torch.no_grad()
def encode_all(model, entries, config, cache_dir, batch=32, log=print) -> torch.Tensor:
    """V of every entry's image ([N, F, G, G]), the equalized images read through the sharded image cache
    in ``cache_dir`` (the trainer's cache format: a run's cache is reused when the images are the same)."""
    paths = np.array([os.fsencode(e["image_path"]) for e in entries], dtype=np.bytes_)
    images = equalized_cache(paths, config.input_size, cache_dir, log=lambda r: log(json.dumps(r)))
    out = []
    for i in range(0, len(entries), batch):
        x = np.stack([to_model_input(images[j], config) for j in range(i, min(i + batch, len(entries)))])
        out.append(model.encode(torch.from_numpy(x)))
    return torch.cat(out)


def read_entries(dataset: str, fmt: str, images_root: str | None = None) -> dict[str, list[dict]]:
    """Train and val entries ({"id", "image_path", "impression", "labels"}) of a dataset: frontal images
    (and unknown views) whose impression is not empty, phantom copies > 0 left out."""
    recs = records_mod.read_dataset(dataset, fmt, images_root=images_root)
    kept, _ = records_mod.select_views(recs, "frontal")
    out = {}
    for split in ("train", "val"):
        chosen = [r for r in kept if r.split == split and int((r.extra or {}).get("copy", 0) or 0) == 0]
        pairs, _ = collect_targets(chosen, "en", "impression")
        out[split] = [{"id": r.image_id, "study": r.study_id, "image_path": r.path, "impression": text,
                       "labels": list(r.labels or [])} for r, text in pairs]
    return out


def sample(model, features: torch.Tensor, k: int, special, max_tokens: int):
    """K sampled captions per image: token ids [B*K, T] (pad after <end>) and their summed log-probs."""
    dec = model.decoder
    base = dec.context(features)
    ctx = DecoderContext(base.regions.repeat_interleave(k, 0), base.projected.repeat_interleave(k, 0),
                         base.mean.repeat_interleave(k, 0))
    n = ctx.regions.shape[0]
    state = dec.initial_state(n)
    previous = torch.full((n,), special.start, dtype=torch.long)
    done = torch.zeros(n, dtype=torch.bool)
    log_prob = torch.zeros(n)
    tokens = []
    banned = [t for t in (special.pad, special.start) if t != special.nou]
    for _ in range(max_tokens):
        logits, state, _ = dec.step(previous, state, ctx)
        logits[:, banned] = float("-inf")
        logp = F.log_softmax(logits, dim=1)
        choice = torch.multinomial(logp.exp(), 1).squeeze(1)
        log_prob = log_prob + logp.gather(1, choice[:, None]).squeeze(1) * (~done)
        tokens.append(torch.where(done, torch.full_like(choice, special.pad), choice))
        done = done | (choice == special.end)
        previous = choice
        if bool(done.all()):
            break
    return torch.stack(tokens, 1), log_prob


@torch.no_grad()
def evaluate(model, features, entries, info, beam=3):
    """Beam-`beam` top-1 captions of the entries; CIDEr-D against their impressions (idf of these
    references) and finding precision/recall on those with a rendered finding."""
    texts = {}
    for i, e in enumerate(entries):
        results = model_beam_search(model, features[i:i + 1], info["special"], BeamParameters(beam=beam, results=1))
        texts[e["id"]] = detokenize(results[0].tokens, info["vocab"], info["join"], info["special"])
    refs = [metric_words(e["impression"]) for e in entries]
    scorer = CiderD(refs)
    cider = float(np.mean([scorer.score(scorer.vector(metric_words(texts[e["id"]])), scorer.vector(r))
                           for e, r in zip(entries, refs)]))
    pr = precision_recall(texts, {e["id"]: e.get("labels", []) for e in entries})
    distinct = len(set(texts.values()))
    return {"cider_d": cider, "precision": pr["precision"], "recall": pr["recall"], "distinct": distinct}, texts


def export(model, info, path, dtype, note):
    """Writes the fine-tuned model with the starting file's metadata, its description extended by `note`."""
    model.eval()
    raw = info["raw"]
    base = (raw.get("description") or "").rstrip()
    separator = " " if base.endswith(".") else ("; " if base else "")
    kept = {key: raw.get(key) for key in ("version", "intended_use", "disclaimer", "license", "training_data")}
    export_model(model, path, info["vocab"], info["special"], info["join"], labels=info["labels"] or None,
                 dtype=dtype, tokenizer=raw.get("tokenizer"), name=raw.get("name"),
                 description=f"{base}{separator}Decoder fine-tuned by SCST ({note}).", **kept)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a stage-2 cxrcaption/1 file (the starting point)")
    ap.add_argument("--dataset", help="the dataset (as cxrcaption-train --dataset)")
    ap.add_argument("--format", default="auto", choices=("auto",) + tuple(records_mod.FORMATS))
    ap.add_argument("--images-root", default=None)
    ap.add_argument("--manifest", help="the project's JSONL manifest (= --dataset PATH --format jsonl)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--cache-dir", help="equalized-image cache (default OUT/cache)")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=16, help="images per step")
    ap.add_argument("--samples", type=int, default=5, help="captions sampled per image (K)")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--mention-weight", type=float, default=1.0)
    ap.add_argument("--max-tokens", type=int, default=30)
    ap.add_argument("--select", choices=("cider", "cider+f1"), default="cider+f1",
                    help="validation score that picks the exported epoch (cider+f1 = CIDEr-D + finding F1)")
    ap.add_argument("--export", help="exported file (default OUT/model.safetensors)")
    ap.add_argument("--dtype", default="f16")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N images of each split (smoke)")
    a = ap.parse_args(argv)
    if a.samples < 2:
        ap.error("--samples must be at least 2 (each sample's baseline is the mean of the others)")
    if a.manifest:
        if a.dataset:
            ap.error("give --dataset or --manifest, not both")
        a.dataset, a.format = a.manifest, "jsonl"
    if not a.dataset:
        ap.error("--dataset (or --manifest) is required")

    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(a.threads)
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    log_path = os.path.join(a.out, "scst_log.jsonl")

    def log(record):
        print(json.dumps(record), flush=True)
        with open(log_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")

    model, info = load_model(a.model)
    config = info["config"]
    splits = read_entries(a.dataset, a.format, a.images_root)
    if a.limit:
        splits = {s: v[: a.limit] for s, v in splits.items()}
    if not splits["train"] or not splits["val"]:
        raise SystemExit("the manifest needs train and val lines")
    if info["join"] != " ":
        raise SystemExit("scst scores English text (join \" \"); this model joins with \"\"")
    cache_dir = a.cache_dir or os.path.join(a.out, "cache")
    t0 = time.time()
    feats = {s: encode_all(model, v, config, cache_dir, log=lambda m: log({"event": "cache", "detail": m}))
             for s, v in splits.items()}
    log({"event": "encoded", "seconds": round(time.time() - t0, 1)})

    train = splits["train"]
    refs = [metric_words(e["impression"]) for e in train]
    scorer = CiderD(refs)
    ref_vectors = [scorer.vector(r) for r in refs]
    truths = [set(e.get("labels", [])) for e in train]

    for p in model.parameters():
        p.requires_grad_(False)
    params = list(model.decoder.parameters())
    for p in params:
        p.requires_grad_(True)
    optimizer = torch.optim.Adam(params, lr=a.lr)

    def select_score(m):
        f1 = 2 * m["precision"] * m["recall"] / (m["precision"] + m["recall"]) if m["precision"] + m["recall"] else 0
        return m["cider_d"] + (f1 if a.select == "cider+f1" else 0.0)

    model.eval()
    metrics, _ = evaluate(model, feats["val"], splits["val"], info)
    best, best_state, best_epoch = select_score(metrics), {k: v.clone() for k, v in model.decoder.state_dict().items()}, -1
    log({"epoch": -1, "val": metrics, "select": best})
    special = info["special"]
    for epoch in range(a.epochs):
        t0 = time.time()
        order = list(range(len(train)))
        random.shuffle(order)
        rewards_seen = []
        for step, i in enumerate(range(0, len(order), a.batch)):
            idx = order[i:i + a.batch]
            tokens, log_prob = sample(model, feats["train"][idx], a.samples, special, a.max_tokens)
            rewards = []
            for row, seq in enumerate(tokens.tolist()):
                j = idx[row // a.samples]
                text = detokenize([t for t in seq if t != special.pad], info["vocab"], info["join"], special)
                r = scorer.score(scorer.vector(metric_words(text)), ref_vectors[j])
                if a.mention_weight:
                    r += a.mention_weight * mention_reward(text, truths[j])
                rewards.append(r)
            r = torch.tensor(rewards).view(-1, a.samples)
            baseline = (r.sum(1, keepdim=True) - r) / (a.samples - 1)
            advantage = (r - baseline).view(-1)
            loss = -(advantage * log_prob).mean()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            rewards_seen.append(float(r.mean()))
            if step % 20 == 0:
                log({"epoch": epoch, "step": step, "reward": round(float(np.mean(rewards_seen[-20:])), 4)})
        metrics, _ = evaluate(model, feats["val"], splits["val"], info)
        score = select_score(metrics)
        if score > best:
            best, best_epoch = score, epoch
            best_state = {k: v.clone() for k, v in model.decoder.state_dict().items()}
        log({"epoch": epoch, "train_reward": round(float(np.mean(rewards_seen)), 4), "val": metrics,
             "select": round(score, 4), "best_epoch": best_epoch, "seconds": round(time.time() - t0, 1)})

    model.decoder.load_state_dict(best_state)
    path = a.export or os.path.join(a.out, "model.safetensors")
    export(model, info, path, a.dtype, f"mention weight {a.mention_weight}, epoch {best_epoch}")
    log({"event": "exported", "path": path, "best_epoch": best_epoch, "select": best})


if __name__ == "__main__":
    sys.exit(main())
