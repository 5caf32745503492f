"""Train a cxrcaption model from a manifest, in two stages, and export it to the weights format.

    cxrcaption-train --manifest DATA/manifest.jsonl --out runs/demo-en [--stages 1,2]
    cxrcaption-train --manifest ... --out runs/demo-en --resume      # continue a run
    cxrcaption-train --smoke --manifest ... --out /tmp/smoke          # tiny model, few steps

(`cxrcaption-train` is `python -m cxrcaption_train.train`.)

Stage 1 (the published transfer-learning step): the encoder with the findings head is trained as a
multi-label findings classifier (binary cross-entropy on the manifest's `labels`); early stopping on the
validation loss; the best weights go on to stage 2.

Stage 2 (captioning): conv0, norm0, denseblock1, transition1 and denseblock2 are frozen (weights and batch-
norm statistics), so their outputs are computed once and cached (`--feature-cache memory|disk|none`). The rest
of the encoder learns with Adam at `--lr-encoder` (1e-4), the decoder at `--lr-decoder` (5e-4); the loss is
the mean token cross-entropy over non-`<pad>` positions (teacher forcing, `<end>` included), plus
`--label-weight` x the findings BCE so the findings head stays calibrated while the encoder moves. Early
stopping on the validation token loss (`--patience` epochs). Each epoch writes `last.pt` (model, optimizer,
stage, epoch, best loss, vocabulary) and, when the validation loss improves, `best_stage{1,2}.pt`;
`--resume` continues from `last.pt`. At the end the best stage-2 model is exported with
`cxrcaption_ref.export.export_model` (the findings head and its labels included).

Targets: `--language en` uses the manifest's `--target-field` (impression by default) with the English
tokenizer; `--language zh` writes the phantom findings with the Chinese templates and segments them with
jieba (join ""). The vocabulary (tokens seen >= 3 times in the training split, else `<nou>`) is built from
the training split and saved as vocab.json in the run folder.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader

from cxrcaption_ref.beam import SpecialTokens
from cxrcaption_ref.model import CaptionModel, ModelConfig

from .dataset import (EqualizedCache, FeatureCaptionDataset, ImageCaptionDataset, encode_entries,
                      make_collate, read_manifest, target_text)
from .tokenize import MIN_COUNT, build_vocab, join_for, tokenizer_for

FROZEN_STEM = ("conv0", "norm0", "relu0", "pool0", "denseblock1", "transition1", "denseblock2")

PRESETS = {
    "densenet121": ModelConfig(),
    "tiny": ModelConfig(block_config=(2, 2, 2, 2), growth_rate=8, bn_size=2, num_init_features=16,
                        input_size=64, hidden=48, embed=32, attention_dim=32),
}


def log_line(out_dir, record):
    print(json.dumps(record), flush=True)
    with open(os.path.join(out_dir, "log.jsonl"), "a") as fh:
        fh.write(json.dumps(record) + "\n")


def split_stem(model: CaptionModel):
    """(frozen stem, trainable rest) as Sequentials sharing the encoder's modules (names unchanged)."""
    stem, rest = nn.Sequential(), nn.Sequential()
    for name, module in model.encoder.features.named_children():
        (stem if name in FROZEN_STEM else rest).add_module(name, module)
    missing = [n for n in FROZEN_STEM if not hasattr(model.encoder.features, n)]
    if missing:
        raise ValueError(f"encoder lacks {missing}")
    return stem, rest


def freeze(module: nn.Module):
    for p in module.parameters():
        p.requires_grad_(False)
    module.eval()


def token_loss(logits, tokens, pad_id):
    """Mean cross-entropy over non-pad positions."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1), ignore_index=pad_id)


def label_loss(model, features, labels):
    if model.findings is None or labels.shape[1] == 0:
        return features.new_zeros(())
    logits = model.findings(features.mean(dim=(2, 3)))
    return F.binary_cross_entropy_with_logits(logits, labels)


class Run:
    def __init__(self, args):
        self.args = args
        os.makedirs(args.out, exist_ok=True)
        torch.set_num_threads(args.threads)
        random.seed(args.seed)
        np.random.seed(args.seed)
        torch.manual_seed(args.seed)
        self.config = self._config()
        entries = read_manifest(args.manifest)
        self.splits = {s: [e for e in entries if e["split"] == s] for s in ("train", "val", "test")}
        if args.limit:
            self.splits = {s: v[: args.limit] for s, v in self.splits.items()}
        if not self.splits["train"] or not self.splits["val"]:
            raise SystemExit("the manifest needs train and val lines")
        self.state_path = os.path.join(args.out, "last.pt")
        resume = torch.load(self.state_path, weights_only=False) if args.resume and os.path.exists(
            self.state_path) else None
        self.resume = resume
        if resume:
            self.vocab, self.labels = resume["vocab"], resume["labels"]
            self.config = ModelConfig.from_dict(resume["config"])
        else:
            tok = tokenizer_for(args.language)
            self.vocab = build_vocab((tok(target_text(e, args.language, args.target_field))
                                      for e in self.splits["train"]), args.min_count)
            self.labels = self._labels()
        with open(os.path.join(args.out, "vocab.json"), "w") as fh:
            json.dump(self.vocab, fh, ensure_ascii=False)
        self.special = SpecialTokens.from_vocab(self.vocab)
        self.model = CaptionModel(self.config, len(self.vocab), len(self.labels), dropout=args.dropout)
        if resume:
            self.model.load_state_dict(resume["model"])
        self.encoded = {s: encode_entries(v, self.vocab, self.labels, args.language, args.target_field,
                                          args.max_len) for s, v in self.splits.items()}
        cache_dir = None if args.image_cache == "none" else os.path.join(args.out, "cache")
        self.images = {s: EqualizedCache(v, self.config.input_size, cache_dir).images
                       for s, v in self.splits.items() if v and s in ("train", "val")}
        n_nou = sum(t == self.special.nou for e in self.encoded["train"] for t in e.tokens)
        n_tok = sum(len(e.tokens) for e in self.encoded["train"])
        log_line(args.out, {"event": "data", "train": len(self.splits["train"]), "val": len(self.splits["val"]),
                            "test": len(self.splits["test"]), "vocab": len(self.vocab), "labels": len(self.labels),
                            "train_tokens": n_tok, "train_nou_share": round(n_nou / max(n_tok, 1), 4),
                            "config": self.config.to_dict()})

    def _config(self):
        a = self.args
        if a.config and os.path.exists(a.config):
            return ModelConfig.from_json(open(a.config).read())
        cfg = PRESETS["tiny" if a.smoke else (a.config or "densenet121")]
        if a.input_size:
            cfg = cfg.replace(input_size=a.input_size)
        return cfg

    def _labels(self):
        if self.args.labels and os.path.exists(self.args.labels):
            return list(json.load(open(self.args.labels)))
        try:
            from cxrcaption_phantoms.findings import LABELS
            names = list(LABELS)
        except ImportError:
            names = []
        seen = sorted({l for e in self.splits["train"] for l in e.get("labels", [])})
        extra = [l for l in seen if l not in names]
        names = [l for l in names if l in seen or not self.args.only_seen_labels] + extra
        return names

    # ------------------------------------------------------------------------------------------------
    def loader(self, split, shuffle, dataset=None):
        ds = dataset or ImageCaptionDataset(self.images[split], self.encoded[split], self.config)
        g = torch.Generator()
        g.manual_seed(self.args.seed)
        return DataLoader(ds, batch_size=self.args.batch_size, shuffle=shuffle, generator=g,
                          collate_fn=make_collate(self.special.pad), num_workers=0)

    def save(self, stage, epoch, best, optimizer, bad_epochs, name="last.pt", finished=False):
        torch.save({"model": self.model.state_dict(), "optimizer": optimizer.state_dict(), "stage": stage,
                    "epoch": epoch, "best": best, "bad_epochs": bad_epochs, "finished": finished,
                    "budget_hit": getattr(self, "budget_hit", False), "select1": self.args.select1,
                    "vocab": self.vocab,
                    "labels": self.labels, "config": self.config.to_dict(), "args": vars(self.args)},
                   os.path.join(self.args.out, name))

    def _start(self, stage, optimizer):
        """(first epoch, best, bad epochs) for a stage, from the resume state when it is this stage."""
        r = self.resume
        if r and r["stage"] == stage:
            lrs = [g["lr"] for g in optimizer.param_groups]
            optimizer.load_state_dict(r["optimizer"])
            for g, lr in zip(optimizer.param_groups, lrs):  # the command line's learning rates apply
                g["lr"] = lr
            if stage == 1 and r.get("select1", "loss") != self.args.select1:
                # the selection criterion changed: previous bests are in other units
                return r["epoch"] + 1, math.inf, 0
            return r["epoch"] + 1, r["best"], r["bad_epochs"]
        return 0, math.inf, 0

    def _stage_done(self, stage):
        """True when the resumed run is past this stage, or finished it and more epochs would not run
        (stopped early, or already at the epoch limit)."""
        r = self.resume
        if not r:
            return False
        if r["stage"] > stage:
            return True
        epochs = self.args.epochs1 if stage == 1 else self.args.epochs2
        return r["stage"] == stage and r.get("finished") and (
            r["bad_epochs"] >= self.args.patience or r["epoch"] + 1 >= epochs or r.get("budget_hit", False))

    def _should_stop(self, stage, epoch, bad_epochs, steps, over_budget):
        """End of an epoch: stop on patience, the step limit or the time budget (which is logged and
        remembered, so that --resume does not reopen the stage)."""
        if over_budget:
            self.budget_hit = True
            minutes = self.args.time_budget1 if stage == 1 else self.args.time_budget2
            log_line(self.args.out, {"event": f"stage{stage}_time_budget", "minutes": minutes, "epoch": epoch})
        return bad_epochs >= self.args.patience or self._steps_exhausted(steps) or over_budget

    def _finish_stage(self, stage, last_epoch, best, optimizer, bad_epochs):
        """Reload the stage's best weights, save the stage as finished and log it."""
        best_path = os.path.join(self.args.out, f"best_stage{stage}.pt")
        if os.path.exists(best_path):
            self.model.load_state_dict(torch.load(best_path, weights_only=False)["model"])
        self.save(stage, last_epoch, best, optimizer, bad_epochs, finished=True)
        log_line(self.args.out, {"event": f"stage{stage}_finished", "best_val_loss": round(best, 5)})

    def _steps_exhausted(self, steps):
        return self.args.max_steps and steps >= self.args.max_steps

    def _over_budget(self, stage, started):
        """True once this stage has run longer than its `--time-budget{1,2}` (minutes; 0 = no limit)."""
        minutes = self.args.time_budget1 if stage == 1 else self.args.time_budget2
        return bool(minutes) and time.time() - started >= minutes * 60

    # --- stage 1 ------------------------------------------------------------------------------------
    def stage1(self):
        a = self.args
        if self.model.findings is None:
            log_line(a.out, {"event": "stage1_skipped", "why": "no labels"})
            return
        if self._stage_done(1):
            return
        params = list(self.model.encoder.parameters()) + list(self.model.findings.parameters())
        opt = torch.optim.Adam(params, lr=a.lr_stage1)
        first, best, bad = self._start(1, opt)
        augment = _shift_augment(a.augment_shift, a.seed) if a.augment_shift else None
        train_ds = ImageCaptionDataset(self.images["train"], self.encoded["train"], self.config, augment)
        train, val = self.loader("train", True, train_ds), self.loader("val", False)
        steps, started, over = 0, time.time(), False
        for epoch in range(first, a.epochs1):
            self.model.train()
            t0, total, n = time.time(), 0.0, 0
            for x, _, y, _ in train:
                feats = self.model.encode(x)
                loss = label_loss(self.model, feats, y)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(params, a.clip)
                opt.step()
                total += loss.item() * len(x)
                n += len(x)
                steps += 1
                if a.log_every and steps % a.log_every == 0:
                    log_line(a.out, {"stage": 1, "epoch": epoch, "step": steps, "loss": round(loss.item(), 5)})
                over = self._over_budget(1, started)
                if self._steps_exhausted(steps) or over:
                    break
            val_loss, auc = self.eval_stage1(val)
            # selection value: the validation loss, or minus the macro AUC (--select1 auc); lower is better
            value = val_loss if a.select1 == "loss" or auc is None else -auc
            improved = value < best - 1e-6
            best, bad = (value, 0) if improved else (best, bad + 1)
            log_line(a.out, {"stage": 1, "epoch": epoch, "train_loss": round(total / max(n, 1), 5),
                             "val_loss": round(val_loss, 5), "val_macro_auc": auc, "best": round(best, 5),
                             "images": n, "seconds": round(time.time() - t0, 1),
                             "stage_minutes": round((time.time() - started) / 60, 2)})
            if improved:
                self.save(1, epoch, best, opt, bad, "best_stage1.pt")
                log_line(a.out, {"stage": 1, "epoch": epoch, "val_auc_per_label": self.label_auc})
            self.save(1, epoch, best, opt, bad)
            if self._should_stop(1, epoch, bad, steps, over):
                break
        self._finish_stage(1, epoch if first < a.epochs1 else first - 1, best, opt, bad)

    @torch.no_grad()
    def eval_stage1(self, loader):
        self.model.eval()
        total, n, scores, truth = 0.0, 0, [], []
        for x, _, y, _ in loader:
            feats = self.model.encode(x)
            total += label_loss(self.model, feats, y).item() * len(x)
            n += len(x)
            scores.append(self.model.findings(feats.mean(dim=(2, 3))))
            truth.append(y)
        s, t = torch.cat(scores).numpy(), torch.cat(truth).numpy()
        self.label_auc = {self.labels[j]: round(_auc(s[:, j], t[:, j]), 3)
                          for j in range(t.shape[1]) if 0 < t[:, j].sum() < len(t)}
        aucs = list(self.label_auc.values())
        return total / max(n, 1), (round(float(np.mean(aucs)), 4) if aucs else None)

    # --- stage 2 ------------------------------------------------------------------------------------
    @torch.no_grad()
    def stem_features(self, stem, split):
        """Frozen-stem outputs of a split: float16 array [N, C, H, W] (memory or disk)."""
        a = self.args
        loader = self.loader(split, False)
        arr = None
        t0 = time.time()
        for x, _, _, idx in loader:
            f = stem(x).to(torch.float16).numpy()
            if arr is None:
                shape = (len(self.encoded[split]),) + f.shape[1:]
                if a.feature_cache == "disk":
                    path = os.path.join(a.out, "cache", f"stem_{split}.f16")
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    arr = np.lib.format.open_memmap(path + ".npy", mode="w+", dtype=np.float16, shape=shape)
                else:
                    arr = np.zeros(shape, dtype=np.float16)
            arr[idx.numpy()] = f
        log_line(a.out, {"event": "stem_cache", "split": split, "shape": list(arr.shape),
                         "seconds": round(time.time() - t0, 1)})
        return arr

    def stage2(self):
        a = self.args
        if self._stage_done(2):
            return
        self.budget_hit = False
        stem, rest = split_stem(self.model)
        freeze(stem)
        trainable_encoder = [p for p in rest.parameters()]
        head = list(self.model.findings.parameters()) if self.model.findings is not None else []
        opt = torch.optim.Adam([{"params": trainable_encoder + head, "lr": a.lr_encoder},
                                {"params": self.model.decoder.parameters(), "lr": a.lr_decoder}])
        first, best, bad = self._start(2, opt)
        cached = a.feature_cache != "none"
        if cached:
            feats = {s: self.stem_features(stem, s) for s in ("train", "val")}
            train = self.loader("train", True, FeatureCaptionDataset(feats["train"], self.encoded["train"]))
            val = self.loader("val", False, FeatureCaptionDataset(feats["val"], self.encoded["val"]))
        else:
            train, val = self.loader("train", True), self.loader("val", False)
        started, over = time.time(), False

        def encode(x):
            h = x if cached else stem(x)
            return F.relu(rest(h))

        steps = 0
        for epoch in range(first, a.epochs2):
            self.model.train()
            stem.eval()
            t0, total, n = time.time(), 0.0, 0
            for x, tokens, y, _ in train:
                feats_v = encode(x)
                logits, _ = self.model.teacher_forced(feats_v, tokens, self.special.start)
                loss = token_loss(logits, tokens, self.special.pad)
                full = loss + a.label_weight * label_loss(self.model, feats_v, y)
                opt.zero_grad()
                full.backward()
                nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g["params"]], a.clip)
                opt.step()
                total += loss.item() * len(x)
                n += len(x)
                steps += 1
                if a.log_every and steps % a.log_every == 0:
                    log_line(a.out, {"stage": 2, "epoch": epoch, "step": steps, "loss": round(loss.item(), 5)})
                over = self._over_budget(2, started)
                if self._steps_exhausted(steps) or over:
                    break
            val_loss = self.eval_stage2(val, encode)
            improved = val_loss < best - 1e-6
            best, bad = (val_loss, 0) if improved else (best, bad + 1)
            log_line(a.out, {"stage": 2, "epoch": epoch, "train_loss": round(total / max(n, 1), 5),
                             "val_loss": round(val_loss, 5), "best": round(best, 5), "images": n,
                             "seconds": round(time.time() - t0, 1),
                             "stage_minutes": round((time.time() - started) / 60, 2)})
            if improved:
                self.save(2, epoch, best, opt, bad, "best_stage2.pt")
            self.save(2, epoch, best, opt, bad)
            if self._should_stop(2, epoch, bad, steps, over):
                break
        self._finish_stage(2, epoch if first < a.epochs2 else first - 1, best, opt, bad)

    @torch.no_grad()
    def eval_stage2(self, loader, encode):
        self.model.eval()
        total, count = 0.0, 0
        for x, tokens, _, _ in loader:
            logits, _ = self.model.teacher_forced(encode(x), tokens, self.special.start)
            mask = tokens != self.special.pad
            total += F.cross_entropy(logits[mask], tokens[mask], reduction="sum").item()
            count += int(mask.sum())
        return total / max(count, 1)

    # --- export -------------------------------------------------------------------------------------
    def export(self):
        from cxrcaption_ref.export import export_model
        a = self.args
        path = a.export or os.path.join(a.out, "model.safetensors")
        self.model.eval()
        export_model(self.model, path, self.vocab, self.special, join_for(a.language),
                     labels=self.labels or None, dtype=a.dtype, tokenizer=a.language,
                     name=a.name or os.path.basename(os.path.normpath(a.out)),
                     description=a.description or f"trained on {os.path.basename(a.manifest)} "
                                                  f"({len(self.splits['train'])} train images)")
        log_line(a.out, {"event": "exported", "path": path, "bytes": os.path.getsize(path)})
        return path


def _shift_augment(pixels: int, seed: int):
    """Random translation by up to `pixels` in x and y (edge pixels repeated): stage-1 augmentation of the
    equalized uint8 image. No flips: the findings have sides."""
    rng = np.random.default_rng(seed + 104729)

    def shift(img):
        dy, dx = (int(v) for v in rng.integers(-pixels, pixels + 1, size=2))
        padded = np.pad(np.asarray(img), pixels, mode="edge")
        h, w = img.shape
        return np.ascontiguousarray(padded[pixels + dy: pixels + dy + h, pixels + dx: pixels + dx + w])
    return shift


def _auc(scores, truth):
    """ROC AUC by ranks (ties averaged)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    s_sorted = scores[order]
    i = 0
    while i < len(s_sorted):
        j = i
        while j + 1 < len(s_sorted) and s_sorted[j + 1] == s_sorted[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j + 2) / 2
        i = j + 1
    pos = truth > 0.5
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def build_parser():
    ap = argparse.ArgumentParser(description="Train cxrcaption (stage 1 findings classifier, stage 2 captioning)"
                                             " and export the weights file.")
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--out", required=True, help="run folder (checkpoints, log.jsonl, vocab.json, model)")
    ap.add_argument("--language", choices=("en", "zh"), default="en")
    ap.add_argument("--target-field", default="impression", help="manifest field with the English target")
    ap.add_argument("--config", default=None, help="preset (densenet121, tiny) or a JSON file with ModelConfig")
    ap.add_argument("--input-size", type=int, default=0, help="override the config's input size")
    ap.add_argument("--labels", default=None, help="JSON list of label names (default: phantom finding kinds)")
    ap.add_argument("--only-seen-labels", action="store_true", help="drop labels absent from the train split")
    ap.add_argument("--stages", default="1,2", help="which stages to run: 1, 2 or 1,2")
    ap.add_argument("--epochs1", type=int, default=8)
    ap.add_argument("--epochs2", type=int, default=30)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr-stage1", type=float, default=1e-3)
    ap.add_argument("--lr-encoder", type=float, default=1e-4)
    ap.add_argument("--lr-decoder", type=float, default=5e-4)
    ap.add_argument("--label-weight", type=float, default=0.1, help="findings BCE weight in stage 2")
    ap.add_argument("--dropout", type=float, default=0.2)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--max-len", type=int, default=40, help="tokens per target including <end>")
    ap.add_argument("--min-count", type=int, default=MIN_COUNT)
    ap.add_argument("--feature-cache", choices=("memory", "disk", "none"), default="memory")
    ap.add_argument("--image-cache", choices=("disk", "none"), default="disk")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--time-budget1", type=float, default=0,
                    help="stage-1 wall-clock budget in minutes: when crossed, the epoch stops, is validated and "
                         "the stage ends with its best checkpoint (0 = none)")
    ap.add_argument("--time-budget2", type=float, default=0, help="the same for stage 2")
    ap.add_argument("--select1", choices=("loss", "auc"), default="loss",
                    help="stage 1 keeps (and early-stops on) the epoch with the lowest validation loss, or the "
                         "highest validation macro AUC")
    ap.add_argument("--augment-shift", type=int, default=0,
                    help="stage 1: random translation of the equalized image by up to N pixels")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N lines of each split")
    ap.add_argument("--max-steps", type=int, default=0, help="stop each stage after N optimizer steps")
    ap.add_argument("--log-every", type=int, default=0)
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    ap.add_argument("--export", default=None, help="weights file to write (default OUT/model.safetensors)")
    ap.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f16")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--name", default=None)
    ap.add_argument("--description", default=None)
    ap.add_argument("--smoke", action="store_true",
                    help="tiny model (preset 'tiny', 64 px), 3 epochs per stage, 20 lines per split, no patience")
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.smoke:
        args.limit = args.limit or 20
        args.epochs1 = min(args.epochs1, 3)
        args.epochs2 = min(args.epochs2, 3)
        args.patience = 99
        args.batch_size = min(args.batch_size, 8)
        args.dtype = "f32" if args.dtype == "f16" else args.dtype
    run = Run(args)
    stages = {int(s) for s in args.stages.split(",") if s}
    if 1 in stages:
        run.stage1()
    if 2 in stages:
        run.stage2()
    if not args.no_export:
        run.export()


if __name__ == "__main__":
    sys.exit(main())
