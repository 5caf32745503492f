r"""Train a cxrcaption model from a dataset, in two stages, and export it to the weights format.

    cxrcaption-train --dataset DATA --out RUN [--format auto|jsonl|csv|r2gen|mimic-cxr-jpg] [--stages 1,2]
    cxrcaption-train --manifest DATA/manifest.jsonl --out RUN            # the project's manifest (= --format jsonl)
    cxrcaption-train ... --out RUN --resume                              # continue a run
    torchrun --nproc-per-node 4 -m cxrcaption_train.train --dataset ... --out RUN --device cuda
    cxrcaption-train --smoke --manifest ... --out /tmp/smoke             # tiny model, few steps

(`cxrcaption-train` is `python -m cxrcaption_train.train`; training/README.md has the recipes.)

Data: ``records.read_dataset`` reads the dataset (any layout it knows); ``--views frontal`` keeps frontal
images and those of unknown view (``records.select_views``; the counts are logged); targets come from
``reports.target_text`` (``--target-field impression|findings``: the source's section, the section parsed
from the raw report, or the whole report when it has no heading: each counted and logged); empty targets
are counted and skipped; ``--max-len`` cuts longer targets and counts them. Images are read and
preprocessed in the DataLoader workers (``images.equalized_image``), optionally through an on-disk cache.

Stage 1 (optional, the published transfer-learning step): the encoder (``--encoder-init``: ImageNet /
CheXNet / torchxrayvision DenseNet-121 weights) with the findings head learns to classify findings (binary
cross-entropy). Labels come from the dataset (``--labels-from dataset``) or from the CheXpert-style labeler
on the report text (``--labels-from labeler``: CheXpert's 14 observations, uncertain mentions counted as
``--uncertain positive|negative|ignore``). A stage 1 without labels is an error. The epoch with the best
``--select1`` (validation loss or macro AUC) goes on to stage 2.

Stage 2 (captioning): the encoder through ``--freeze`` (default denseblock2: conv0, norm0, pool0,
denseblock1, transition1, denseblock2) is frozen, weights and BatchNorm statistics, so its outputs can be
computed once (``--feature-cache``). The rest of the encoder learns at ``--lr-encoder``, the decoder at
``--lr-decoder`` (AdamW, ``--weight-decay``); the loss is the token cross-entropy (teacher forcing,
``<end>`` included) plus ``--label-weight`` x the findings BCE. The epoch with the best ``--select``
(validation CIDEr-D of ``--val-decode`` captions, one per study, or the validation token loss) is kept;
early stopping after ``--patience`` epochs without improvement.

Every epoch writes ``last.pt`` and, when the selected metric improves, ``best_stage{1,2}.pt`` (atomically);
``--resume`` continues from ``last.pt``. At the end the best stage-2 model is exported
(``cxrcaption_ref.export.export_model``, findings head and labels included).

Devices: ``--device auto|cpu|cuda[:N]``, ``--precision fp32|bf16|fp16`` (autocast; fp16 with a gradient
scaler, CUDA only; bf16 works on the CPU too), channels_last for the encoder on CUDA, pinned memory on
CUDA, ``--num-workers``. Under torchrun (``WORLD_SIZE`` > 1) each process trains on its share of every
batch (DistributedSampler; ``--batch-size`` is per process), gradients are averaged by DDP, losses are
normalized by the global token / label counts and BatchNorm uses the global batch's statistics
(``--sync-bn``), so N processes with batch B follow the same path as one process with batch N x B; only
rank 0 writes checkpoints, logs and the export; validation runs sharded and its numbers are gathered.
A run folder holds a lock (``RUN/lock``): a second training into it fails, naming the first.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import datetime
import hashlib
import json
import math
import os
import platform
import random
import shutil
import socket
import sys
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, Subset

from cxrcaption_ref import preprocess
from cxrcaption_ref.beam import SpecialTokens
from cxrcaption_ref.densenet_import import import_densenet
from cxrcaption_ref.export import export_model
from cxrcaption_ref.model import CaptionModel, ModelConfig

from . import records as records_mod
from .caches import SHARD_BYTES, ShardedArray, build_sharded, cache_folder
from .checkpoints import RunLock, atomic_save, atomic_write_json
from .dataset import (FeatureDataset, ImageDataset, LabelSpec, SplitData, build_split, collect_targets,
                      equalized_cache, label_names_for, make_collate)
from .distributed import init_distributed, shard, sync_batchnorm
from .runlog import RunLog, peak_rss_mb, progress
from .schedules import SCHEDULES, Schedule
from .tokenize import MIN_COUNT, build_vocab, join_for, tokenizer_for
from .validation import beam_decode, cider_d, greedy_decode, roc_auc, texts_of

#: The children of ``encoder.features`` frozen in stage 2 by default (``--freeze denseblock2``).
FROZEN_STEM = ("conv0", "norm0", "relu0", "pool0", "denseblock1", "transition1", "denseblock2")

PRESETS = {
    "densenet121": ModelConfig(),
    "tiny": ModelConfig(block_config=(2, 2, 2, 2), growth_rate=8, bn_size=2, num_init_features=16,
                        input_size=64, hidden=48, embed=32, attention_dim=32),
}

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


# --------------------------------------------------------------------------------------------- model parts

def split_stem(model: CaptionModel, last: str = "denseblock2") -> tuple[nn.Sequential, nn.Sequential]:
    """(frozen stem, trainable rest) as Sequentials sharing the encoder's modules (names unchanged): the
    children of ``encoder.features`` up to and including ``last``, and the others. ``last`` "none": an
    empty stem."""
    names = [n for n, _ in model.encoder.features.named_children()]
    if last == "none":
        cut = 0
    elif last in names:
        cut = names.index(last) + 1
    else:
        raise ValueError(f"--freeze {last!r}: not a part of the encoder; expected none or one of {', '.join(names)}")
    stem, rest = nn.Sequential(), nn.Sequential()
    for i, (name, module) in enumerate(model.encoder.features.named_children()):
        (stem if i < cut else rest).add_module(name, module)
    return stem, rest


def freeze(module: nn.Module) -> None:
    """No gradients and BatchNorm in eval mode (its statistics stay as they are)."""
    for p in module.parameters():
        p.requires_grad_(False)
    module.eval()


def token_loss(logits: torch.Tensor, tokens: torch.Tensor, pad_id: int) -> torch.Tensor:
    """Mean cross-entropy over non-pad positions."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens.reshape(-1), ignore_index=pad_id)


def _token_sum(logits: torch.Tensor, tokens: torch.Tensor, pad_id: int) -> tuple[torch.Tensor, int]:
    """(summed cross-entropy over non-pad positions, their count), in float32."""
    mask = tokens != pad_id
    total = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tokens.reshape(-1), ignore_index=pad_id,
                            reduction="sum")
    return total, int(mask.sum())


def _label_sum(logits: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(summed BCE over unmasked labels, their count), in float32."""
    loss = F.binary_cross_entropy_with_logits(logits.float(), y, reduction="none")
    return (loss * mask).sum(), int(mask.sum())


class _FindingsNet(nn.Module):
    """Stage 1 as one module (what DDP wraps): image -> findings logits (the head on the pooled V)."""

    def __init__(self, model: CaptionModel) -> None:
        super().__init__()
        self.encoder, self.findings = model.encoder, model.findings

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.findings(self.encoder(x).mean(dim=(2, 3)))


class _CaptionNet(nn.Module):
    """Stage 2 as one module: (image, or cached stem features, tokens) -> (token logits, findings logits or
    None). The stem is frozen (no gradients, eval mode); with ``cached`` it is not run at all."""

    def __init__(self, model: CaptionModel, stem: nn.Sequential, rest: nn.Sequential, cached: bool,
                 use_findings: bool, start_id: int) -> None:
        super().__init__()
        self.stem, self.rest, self.decoder = stem, rest, model.decoder
        self.findings = model.findings if use_findings else None
        self.cached, self.start_id = cached, start_id
        object.__setattr__(self, "_model", model)  # for teacher_forced; not a second registration

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if not self.cached:
            with torch.no_grad():
                x = self.stem(x)
        return F.relu(self.rest(x))

    def forward(self, x: torch.Tensor, tokens: torch.Tensor):
        v = self.encode(x)
        logits, _ = self._model.teacher_forced(v, tokens, self.start_id)
        label_logits = self.findings(v.mean(dim=(2, 3))) if self.findings is not None else None
        return logits, label_logits


def _param_groups(modules: Sequence[nn.Module], lr: float, weight_decay: float) -> list[dict]:
    """AdamW groups at ``lr``: weights of convolutions, linear layers and embeddings decay; biases and
    BatchNorm parameters do not (decaying a normalization's scale only fights the normalization)."""
    decay, plain = [], []
    for module in modules:
        for p in module.parameters():
            if p.requires_grad:
                (decay if p.dim() > 1 else plain).append(p)
    groups = []
    if decay:
        groups.append({"params": decay, "lr": lr, "weight_decay": weight_decay})
    if plain:
        groups.append({"params": plain, "lr": lr, "weight_decay": 0.0})
    return groups


@dataclass
class _StagePlan:
    """What differs between the stages for the common training loop."""

    stage: int
    net: nn.Module                         # the module DDP wraps
    groups: list[dict]                     # optimizer parameter groups (with their base lr)
    dataset: torch.utils.data.Dataset
    step_loss: Callable                    # (ddp net, batch) -> [(sum, count, weight)...]; the first is logged
    validate: Callable[[], dict]           # -> {"val_loss", ...}
    select: str
    epochs: int
    budget_minutes: float


# --------------------------------------------------------------------------------------------- the run

class Run:
    """One training run: data, model, the two stages, export. Every process of a torchrun job makes one."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = a = args
        self.env = env = init_distributed(a.device, a.dist_timeout)
        self.device = env.device
        self._check_precision()
        self.lock: RunLock | None = None
        error = None
        if env.is_main:
            try:
                os.makedirs(a.out, exist_ok=True)
                self.lock = RunLock(a.out).acquire()
            except Exception as exc:  # told to the other processes, then raised everywhere
                error = str(exc)
        error = env.broadcast(error)
        if error:
            env.close()
            raise SystemExit(error)
        self.log = RunLog(a.out, enabled=env.is_main, tensorboard=a.tensorboard)
        try:
            self._setup()
        except BaseException:
            self.close()  # the lock and the process group go with a failed start
            raise

    def _setup(self) -> None:
        a, env = self.args, self.env
        torch.set_num_threads(a.threads)
        rank_seed = a.seed + env.rank
        random.seed(rank_seed)
        np.random.seed(rank_seed)
        torch.manual_seed(rank_seed)
        self.state_path = os.path.join(a.out, "last.pt")
        self.resume = (torch.load(self.state_path, map_location="cpu", weights_only=False)
                       if a.resume and os.path.exists(self.state_path) else None)
        if a.resume and self.resume is None:
            self.log.event({"event": "resume", "note": f"no {self.state_path}: starting a new run"})
        self.budget_hit = False
        self._image_caches: dict[str, ShardedArray] = {}
        self._read_data()
        self._build_model()
        self._write_run_files()

    # --- setup --------------------------------------------------------------------------------------
    def _check_precision(self) -> None:
        a = self.args
        if a.precision == "fp16" and self.device.type != "cuda":
            raise SystemExit("--precision fp16 needs a CUDA device (float16 autocast with a gradient scaler); "
                             "on the CPU use bf16 or fp32")
        if a.precision == "bf16" and self.device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise SystemExit(f"--precision bf16: {torch.cuda.get_device_name(self.device)} does not support "
                             "bfloat16; use fp16")
        self.autocast_dtype = PRECISIONS[a.precision]
        self.scaler = torch.amp.GradScaler("cuda", enabled=a.precision == "fp16")

    def autocast(self):
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast_dtype)

    def _config(self) -> ModelConfig:
        a = self.args
        if self.resume:
            return ModelConfig.from_dict(self.resume["config"])
        name = "tiny" if a.smoke and not a.config else (a.config or "densenet121")
        if name in PRESETS:
            cfg = PRESETS[name]
        elif os.path.isfile(name):
            try:
                with open(name) as fh:
                    cfg = ModelConfig.from_json(fh.read())
            except ValueError as exc:
                raise SystemExit(f"--config {name}: {exc}") from exc
        else:
            raise SystemExit(f"--config {name!r}: not a preset ({', '.join(PRESETS)}) nor a JSON file")
        if a.input_size:
            cfg = cfg.replace(input_size=a.input_size)
        return cfg

    def _read_data(self) -> None:
        a = self.args
        self.config = self._config()
        try:
            recs = records_mod.read_dataset(a.dataset, a.format, images_root=a.images_root, missing=a.missing)
        except (records_mod.DatasetError, FileNotFoundError) as exc:
            raise SystemExit(f"--dataset: {exc}") from exc
        kept, views = records_mod.select_views(recs, a.views)
        fmt = getattr(recs, "format", a.format)
        by_split = {s: [r for r in kept if r.split == s] for s in ("train", "val", "test")}
        split_info, targets = {}, {}
        for s, rs in by_split.items():
            pairs, counts = collect_targets(rs, a.language, a.target_field)
            if a.limit:
                pairs = pairs[: a.limit]
            targets[s] = pairs
            split_info[s] = {"images": len(pairs), "studies": len({r.study_id for r, _ in pairs}),
                             "targets": counts.as_dict()}
        if not targets["train"] or not targets["val"]:
            raise SystemExit(f"{a.dataset}: the dataset needs train and val images with non-empty targets "
                             f"(after --views {a.views}: {json.dumps(split_info)})")
        self.label_spec = LabelSpec(a.labels_from, a.uncertain)
        if self.resume:
            self.vocab, self.labels = self.resume["vocab"], self.resume["labels"]
        else:
            tok = tokenizer_for(a.language)
            self.vocab = build_vocab((tok(t) for _, t in targets["train"]), a.min_count)
            explicit = None
            if a.labels:
                with open(a.labels) as fh:
                    explicit = list(json.load(fh))
            self.labels = label_names_for(self.label_spec, [r for r, _ in targets["train"]], explicit,
                                          a.only_seen_labels)
        self.special = SpecialTokens.from_vocab(self.vocab)
        self.splits: dict[str, SplitData] = {}
        for s, pairs in targets.items():
            data, cut = build_split(s, pairs, self.vocab, a.language, a.max_len, self.labels, self.label_spec,
                                    keep_texts=s == "val")
            self.splits[s] = data
            split_info[s]["targets"]["cut_by_max_len"] = cut
        train = self.splits["train"].targets
        n_tok = len(train.ids)
        n_nou = int((train.ids == self.special.nou).sum())
        positives = {name: int(train.labels[:, j].sum()) for j, name in enumerate(self.labels)}
        self.log.event({"event": "data", "dataset": a.dataset, "format": fmt, "views_policy": a.views,
                        "views_seen": views, "images_read": len(recs), "images_kept": len(kept),
                        "skipped_missing": dict(getattr(recs, "skipped", {}) or {}), "splits": split_info,
                        "target_field": a.target_field, "language": a.language, "vocab": len(self.vocab),
                        "labels": len(self.labels), "labels_from": a.labels_from, "uncertain": a.uncertain,
                        "train_label_positives": positives, "train_tokens": n_tok,
                        "train_nou_share": round(n_nou / max(n_tok, 1), 4), "config": self.config.to_dict()})

    def _build_model(self) -> None:
        a = self.args
        # the same initial weights in every process (DDP would broadcast rank 0's, but the stem-feature
        # cache is built before DDP wraps anything), then each process's own generator for dropout
        torch.manual_seed(a.seed)
        self.model = CaptionModel(self.config, len(self.vocab), len(self.labels), dropout=a.dropout)
        torch.manual_seed(a.seed + self.env.rank)
        if self.resume:
            self.model.load_state_dict(self.resume["model"])
        elif a.encoder_init:
            try:
                report = import_densenet(self.model, a.encoder_init)
            except (ValueError, FileNotFoundError) as exc:
                raise SystemExit(f"--encoder-init: {exc}") from exc
            self.log.event({"event": "encoder_init", **report.summary()})
        if a.sync_bn and self.env.world_size > 1:
            self.model.encoder = sync_batchnorm(self.model.encoder, self.env)
        self.model.to(self.device)
        if self.device.type == "cuda" and a.channels_last:
            self.model.encoder.to(memory_format=torch.channels_last)

    def _write_run_files(self) -> None:
        if not self.env.is_main:
            return
        a, env = self.args, self.env
        atomic_write_json(os.path.join(a.out, "vocab.json"), self.vocab)
        atomic_write_json(os.path.join(a.out, "labels.json"), self.labels)
        s = a.seed
        atomic_write_json(os.path.join(a.out, "seeds.json"), {
            "seed": s,
            "per_rank": [{"rank": r, "python": s + r, "numpy": s + r, "torch": s + r, "dataloader_generator": s + r}
                         for r in range(env.world_size)],
            "train_sampler": {"seed": s, "rule": "DistributedSampler: epoch e's order is torch.randperm(N) with "
                                                 "a generator seeded seed + e, the same for every world size"},
            "augment_shift": {"rule": "numpy.random.default_rng([seed, epoch, image index]) per image"},
            "dataloader_workers": "torch seeds worker w from the loader's generator (python/torch/numpy via "
                                  "torch's base_seed + w)",
            "note": "dropout draws from each rank's torch generator; resumed runs reseed at the resume epoch",
        })
        atomic_write_json(os.path.join(a.out, "run.json"), {
            "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "command": sys.argv, "args": vars(a), "host": socket.gethostname(), "world_size": env.world_size,
            "backend": env.backend, "device": str(self.device), "precision": a.precision,
            "python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "intake_version": preprocess.VERSION, "resumed": bool(self.resume)})

    # --- loaders ------------------------------------------------------------------------------------
    def _workers(self) -> int:
        a = self.args
        if a.num_workers >= 0:
            return a.num_workers
        if self.device.type != "cuda":
            return 0
        local = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
        return max(1, min(8, (os.cpu_count() or 2) // max(1, local) - 1))

    def _loader(self, dataset, *, train: bool, batch_size: int | None = None, indices: Sequence[int] | None = None
                ) -> DataLoader:
        """A training loader (DistributedSampler: this process's share of a shuffled epoch) or an ordered
        loader over ``indices`` (validation and cache building: no sampler, no padding)."""
        a, env = self.args, self.env
        workers = self._workers()
        common = dict(batch_size=batch_size or a.batch_size, num_workers=workers,
                      pin_memory=self.device.type == "cuda",
                      collate_fn=make_collate(self.special.pad))
        if workers:
            common["prefetch_factor"] = 4
        generator = torch.Generator()
        generator.manual_seed(a.seed + env.rank)
        if train:
            sampler = DistributedSampler(dataset, num_replicas=env.world_size, rank=env.rank, shuffle=True,
                                         seed=a.seed, drop_last=False)
            return DataLoader(dataset, sampler=sampler, generator=generator, **common)
        subset = Subset(dataset, list(indices)) if indices is not None else dataset
        return DataLoader(subset, shuffle=False, generator=generator, **common)

    def _image_cache(self, split: str) -> ShardedArray | None:
        """The split's equalized images on disk (``--image-cache disk``), built on first use."""
        a = self.args
        if a.image_cache == "none":
            return None
        if split in self._image_caches:
            return self._image_caches[split]
        data, size = self.splits[split], self.config.input_size
        t0 = time.time()
        cache = equalized_cache(data.paths, size, a.cache_dir or os.path.join(a.out, "cache"), self.env,
                                self.log.event, self._workers(),
                                wrap=lambda loader: progress(loader, len(loader), f"image cache {split}",
                                                             self.env.is_main),
                                shard_bytes=int(a.cache_shard_mb * 2**20))
        self.log.event({"event": "image_cache", "split": split, "folder": str(cache.folder), "images": len(cache),
                        "bytes_per_image": cache.item_bytes, "seconds": round(time.time() - t0, 1)})
        self._image_caches[split] = cache
        return cache

    def _images(self, split: str, shift: int = 0) -> ImageDataset:
        data = self.splits[split]
        return ImageDataset(data.paths, data.targets, self.config.input_size, self.config,
                            cache=self._image_cache(split), shift=shift, seed=self.args.seed)

    def _to_device(self, x: torch.Tensor, image: bool = False) -> torch.Tensor:
        """``x`` on the training device (from pinned memory without blocking on CUDA); ``image``: 4-D
        encoder input (images or stem features), channels_last on CUDA like the encoder."""
        x = x.to(self.device, non_blocking=True)
        if image and self.device.type == "cuda" and self.args.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    # --- checkpoints and stage bookkeeping -----------------------------------------------------------
    def save(self, stage: int, epoch: int, best: float, optimizer, bad_epochs: int, step: int,
             name: str = "last.pt", finished: bool = False) -> None:
        """Rank 0 writes the checkpoint atomically; every process waits for it (a resume or a reload of the
        best weights must find it complete)."""
        if self.env.is_main:
            atomic_save({"model": self.model.state_dict(), "optimizer": optimizer.state_dict(),
                         "scaler": self.scaler.state_dict(), "stage": stage, "epoch": epoch, "best": best,
                         "bad_epochs": bad_epochs, "finished": finished, "step": step,
                         "best_loss": getattr(self, "_best_loss", math.inf),
                         "budget_hit": self.budget_hit, "select1": self.args.select1,
                         "select2": self.args.select, "vocab": self.vocab, "labels": self.labels,
                         "config": self.config.to_dict(), "args": vars(self.args)},
                        os.path.join(self.args.out, name))
        self.env.barrier()

    def _select_name(self, stage: int) -> str:
        return self.args.select1 if stage == 1 else self.args.select

    def _start(self, stage: int, optimizer) -> tuple[int, float, int, int]:
        """(first epoch, best, bad epochs, step) for a stage, from the resume state when it is this stage."""
        r = self.resume
        if r and r["stage"] == stage:
            lrs = [g["lr"] for g in optimizer.param_groups]
            try:
                optimizer.load_state_dict(r["optimizer"])
            except ValueError as exc:
                raise SystemExit(f"--resume: the saved optimizer of stage {stage} does not fit this run's "
                                 f"parameter groups ({exc}); were --freeze or --weight-decay changed?") from exc
            for g, lr in zip(optimizer.param_groups, lrs):  # the command line's learning rates apply
                g["lr"] = lr
            if r.get("scaler"):
                self.scaler.load_state_dict(r["scaler"])
            step = int(r.get("step", 0))
            saved_select = r.get("select1" if stage == 1 else "select2", "loss")
            if saved_select != self._select_name(stage):
                # the selection criterion changed: previous bests are in other units
                return r["epoch"] + 1, math.inf, 0, step
            return r["epoch"] + 1, r["best"], r["bad_epochs"], step
        return 0, math.inf, 0, 0

    def _stage_done(self, stage: int) -> bool:
        """True when the resumed run is past this stage, or finished it and more epochs would not run
        (stopped early, or already at the epoch limit, or on its time budget)."""
        r = self.resume
        if not r:
            return False
        if r["stage"] > stage:
            return True
        epochs = self.args.epochs1 if stage == 1 else self.args.epochs2
        return r["stage"] == stage and bool(r.get("finished")) and (
            r["bad_epochs"] >= self.args.patience or r["epoch"] + 1 >= epochs or r.get("budget_hit", False))

    def _finish_stage(self, stage: int, last_epoch: int, best: float, optimizer, bad_epochs: int, step: int
                      ) -> None:
        """Reload the stage's best weights, save the stage as finished and log it."""
        best_path = os.path.join(self.args.out, f"best_stage{stage}.pt")
        if os.path.exists(best_path):
            state = torch.load(best_path, map_location="cpu", weights_only=False)["model"]
            self.model.load_state_dict(state)
        self.save(stage, last_epoch, best, optimizer, bad_epochs, step, finished=True)
        select = self._select_name(stage)
        self.log.event({"event": f"stage{stage}_finished", "select": select,
                        "best": _round(self._display(select, best)), "peak_rss_mb": peak_rss_mb()})

    # --- the common loop ----------------------------------------------------------------------------
    def _run_stage(self, plan: _StagePlan) -> None:
        a, env = self.args, self.env
        stage = plan.stage
        optimizer = torch.optim.AdamW(plan.groups, lr=plan.groups[0]["lr"], weight_decay=a.weight_decay)
        base_lrs = [g["lr"] for g in optimizer.param_groups]
        first, best, bad, step = self._start(stage, optimizer)
        best_loss = (self.resume or {}).get("best_loss", math.inf) if first else math.inf
        self._best_loss = best_loss
        ddp = plan.net
        if env.distributed:
            ddp = DistributedDataParallel(plan.net, device_ids=[self.device.index] if self.device.type == "cuda"
                                          else None, broadcast_buffers=not a.sync_bn)
        loader = self._loader(plan.dataset, train=True)
        steps_per_epoch = len(loader)
        total = a.max_steps or plan.epochs * steps_per_epoch
        schedule = Schedule(a.schedule, total_steps=total, warmup_steps=a.warmup_steps,
                            step_size=a.lr_step_epochs * steps_per_epoch, gamma=a.lr_gamma,
                            min_factor=a.min_lr_factor)
        params = [p for g in optimizer.param_groups for p in g["params"]]
        started, over, stage_steps = time.time(), False, 0
        epoch = first - 1
        for epoch in range(first, plan.epochs):
            loader.sampler.set_epoch(epoch)
            if hasattr(plan.dataset, "set_epoch"):
                plan.dataset.set_epoch(epoch)
            self._train_mode(stage)
            t0, sums, images = time.time(), None, 0
            bar = progress(loader, steps_per_epoch, f"stage {stage} epoch {epoch}", env.is_main)
            for batch in bar:
                factor = schedule.apply(optimizer, base_lrs, step)
                with self.autocast():
                    terms = plan.step_loss(ddp, batch)
                local = [float(c) for _, c, _ in terms] + [float(s.detach()) for s, _, _ in terms] + [len(batch[0])]
                reduced = env.sum(local)
                k = len(terms)
                counts, totals = reduced[:k], reduced[k:2 * k]
                loss = sum(w * s / max(c, 1.0) * env.world_size for (s, _, w), c in zip(terms, counts))
                optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                self.scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(params, a.clip)
                self.scaler.step(optimizer)
                self.scaler.update()
                sums = [x + y for x, y in zip(sums, reduced)] if sums else list(reduced)
                images += int(reduced[-1])
                step += 1
                stage_steps += 1
                step_loss = totals[0] / max(counts[0], 1.0)
                if a.log_every and step % a.log_every == 0:
                    self.log.step({"stage": stage, "epoch": epoch, "step": step, "loss": step_loss,
                                   "lr": base_lrs[0] * factor}, step)
                if hasattr(bar, "set_postfix"):
                    bar.set_postfix(loss=f"{step_loss:.4f}")
                if plan.budget_minutes:
                    over = env.any(time.time() - started >= plan.budget_minutes * 60)
                if (a.max_steps and stage_steps >= a.max_steps) or over:
                    break
            val = plan.validate()
            value = self._selection_value(plan.select, val)
            # better, or as good with a lower validation loss (CIDEr-D often ties at 0 early on)
            improved = value < best - 1e-6 or (abs(value - best) <= 1e-6 and val["val_loss"] < best_loss - 1e-6)
            if improved:
                best, best_loss, bad = value, val["val_loss"], 0
                self._best_loss = best_loss
            else:
                bad += 1
            k = (len(sums) - 1) // 2 if sums else 0
            record = {"stage": stage, "epoch": epoch, "steps": step,
                      "train_loss": _round(sums[k] / max(sums[0], 1.0)) if sums else None,
                      **{key: _round(v) for key, v in val.items() if not isinstance(v, dict)},
                      "select": plan.select, "best": _round(self._display(plan.select, best)),
                      "lr": base_lrs[0] * schedule.factor(max(step - 1, 0)),
                      "images": images, "seconds": round(time.time() - t0, 1),
                      "stage_minutes": round((time.time() - started) / 60, 2)}
            if stage == 2 and sums and k == 2:
                record["train_label_loss"] = _round(sums[k + 1] / max(sums[1], 1.0))
            self.log.epoch(record, step)
            if improved:
                self.save(stage, epoch, best, optimizer, bad, step, f"best_stage{stage}.pt")
                if "per_label_auc" in val:
                    self.log.event({"stage": stage, "epoch": epoch, "val_auc_per_label": val["per_label_auc"]})
            self.save(stage, epoch, best, optimizer, bad, step)
            if over:
                self.budget_hit = True
                self.log.event({"event": f"stage{stage}_time_budget", "minutes": plan.budget_minutes,
                                "epoch": epoch})
            if bad >= a.patience or (a.max_steps and stage_steps >= a.max_steps) or over:
                break
        self._finish_stage(stage, epoch if first < plan.epochs else first - 1, best, optimizer, bad, step)

    @staticmethod
    def _selection_value(select: str, val: dict) -> float:
        """The number to minimize: the loss, or minus the AUC / CIDEr-D (the loss where those are
        undefined)."""
        if select == "auc" and val.get("val_macro_auc") is not None:
            return -val["val_macro_auc"]
        if select == "cider" and val.get("val_cider_d") is not None and math.isfinite(val["val_cider_d"]):
            return -val["val_cider_d"]
        return val["val_loss"]

    @staticmethod
    def _display(select: str, value: float) -> float:
        """A selection value in the metric's own units (AUC and CIDEr-D are stored negated)."""
        return -value if select in ("auc", "cider") and math.isfinite(value) else value

    def _train_mode(self, stage: int) -> None:
        self.model.train()
        if stage == 2:
            self._stem.eval()

    # --- stage 1 ------------------------------------------------------------------------------------
    def stage1(self) -> None:
        a = self.args
        if self.model.findings is None or not self.splits["train"].targets.labels.any():
            source = ("the labeler found no finding in the training reports" if a.labels_from == "labeler" else
                      "the dataset gives no finding labels" + (" (no record has a labels field)"
                                                               if not self.labels else
                                                               " (no training image has a positive label)"))
            raise SystemExit(f"stage 1 needs finding labels and {source}: use --labels-from labeler "
                             "(CheXpert's 14 observations from the report text), give labels in the dataset, or "
                             "run --stages 2")
        if self._stage_done(1):
            return
        net = _FindingsNet(self.model)
        dataset = self._images("train", shift=a.augment_shift)
        val_data = self._images("val")

        def step_loss(ddp, batch):
            x, _, y, mask, _ = batch
            logits = ddp(self._to_device(x, image=True))
            s, c = _label_sum(logits, self._to_device(y), self._to_device(mask))
            return [(s, c, 1.0)]

        def validate():
            return self._validate_stage1(val_data)

        self._run_stage(_StagePlan(1, net, _param_groups([net], a.lr_stage1, a.weight_decay), dataset, step_loss,
                                   validate, a.select1, a.epochs1, a.time_budget1))

    @torch.no_grad()
    def _validate_stage1(self, dataset) -> dict:
        env = self.env
        self.model.eval()
        loader = self._loader(dataset, train=False, indices=shard(range(len(dataset)), env))
        total, count, scores, truth, masks = 0.0, 0, [], [], []
        for x, _, y, mask, _ in loader:
            with self.autocast():
                logits = self.model.findings(self.model.encode(self._to_device(x, image=True)).mean(dim=(2, 3)))
            s, c = _label_sum(logits, self._to_device(y), self._to_device(mask))
            total, count = total + float(s), count + c
            scores.append(logits.float().cpu().numpy())
            truth.append(y.numpy())
            masks.append(mask.numpy())
        width = len(self.labels)
        mine = tuple(np.concatenate(v) if v else np.zeros((0, width), np.float32) for v in (scores, truth, masks))
        gathered = env.gather(mine)
        s_all, t_all, m_all = (np.concatenate([g[i] for g in gathered]) for i in range(3))
        total, count = env.sum([total, count])
        per_label = {}
        for j, name in enumerate(self.labels):
            keep = m_all[:, j] > 0
            auc = roc_auc(s_all[keep, j], t_all[keep, j])
            if math.isfinite(auc):
                per_label[name] = round(auc, 3)
        macro = round(float(np.mean(list(per_label.values()))), 4) if per_label else None
        return {"val_loss": total / max(count, 1.0), "val_macro_auc": macro, "per_label_auc": per_label}

    # --- stage 2 ------------------------------------------------------------------------------------
    def _feature_cache_mode(self, stem: nn.Sequential) -> str:
        """disk or none for this run (``auto``: disk on the CPU, where the stem's forward pass is the cost;
        none on a GPU, where recomputing it is cheaper than reading its features back; and none when the
        cache would not fit the disk)."""
        a = self.args
        if len(list(stem.children())) == 0:
            return "none"
        mode = a.feature_cache
        if mode == "auto":
            mode = "disk" if self.device.type == "cpu" else "none"
        if mode == "disk":
            item = int(np.prod(self._stem_shape(stem))) * 2
            need = item * (len(self.splits["train"]) + len(self.splits["val"]))
            root = a.cache_dir or os.path.join(a.out, "cache")
            os.makedirs(root, exist_ok=True)
            free = shutil.disk_usage(root).free
            if need > 0.9 * free:
                message = (f"the stem-feature cache needs {need / 2**30:.1f} GiB ({item} bytes per image) and "
                           f"{root} has {free / 2**30:.1f} GiB free")
                if a.feature_cache == "disk":
                    raise SystemExit(f"--feature-cache disk: {message}; use --feature-cache none or --cache-dir")
                self.log.event({"event": "feature_cache", "mode": "none", "why": message})
                return "none"
        return mode

    @torch.no_grad()
    def _stem_shape(self, stem: nn.Sequential) -> tuple[int, ...]:
        s = self.config.input_size
        stem.eval()
        probe = torch.zeros(1, self.config.in_channels, s, s, device=self.device)
        return tuple(stem(probe).shape[1:])

    def _stem_features(self, stem: nn.Sequential, split: str) -> ShardedArray:
        """The frozen stem's outputs for a split, float16, in a sharded on-disk cache keyed by the stem's
        weights (so the stage-1 weights of this run, not a stale cache, are what stage 2 reads)."""
        a = self.args
        digest = hashlib.sha1()
        for name, tensor in stem.state_dict().items():
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        data = self.splits[split]
        key = {"kind": "stem", "paths_sha1": hashlib.sha1(b"\0".join(bytes(p) for p in data.paths)).hexdigest(),
               "count": len(data), "size": self.config.input_size, "stem_sha1": digest.hexdigest(),
               "precision": a.precision, "intake": preprocess.VERSION}
        folder = cache_folder(a.cache_dir or os.path.join(a.out, "cache"), f"stem-{split}", key)
        source = self._images(split)
        shape = self._stem_shape(stem)
        t0 = time.time()

        @torch.no_grad()
        def fill(indices):
            stem.eval()
            loader = self._loader(source, train=False, indices=indices)
            for x, _, _, _, idx in progress(loader, len(loader), f"stem features {split}", self.env.is_main):
                with self.autocast():
                    f = stem(self._to_device(x, image=True))
                yield idx.tolist(), f.float().to(torch.float16).contiguous().cpu().numpy()

        cache = build_sharded(folder, key, len(data), shape, np.float16, fill, self.env, self.log.event,
                              int(a.cache_shard_mb * 2**20))
        self.log.event({"event": "stem_cache", "split": split, "shape": [len(cache), *shape],
                        "bytes_per_image": cache.item_bytes, "seconds": round(time.time() - t0, 1)})
        return cache

    def stage2(self) -> None:
        a = self.args
        if self._stage_done(2):
            return
        self.budget_hit = False
        stem, rest = split_stem(self.model, a.freeze)
        freeze(stem)
        self._stem = stem
        use_findings = self.model.findings is not None and a.label_weight > 0
        cached = self._feature_cache_mode(stem) == "disk"
        net = _CaptionNet(self.model, stem, rest, cached, use_findings, self.special.start)
        if cached:
            feats = {s: self._stem_features(stem, s) for s in ("train", "val")}
            train = FeatureDataset(feats["train"], self.splits["train"].targets)
            val = FeatureDataset(feats["val"], self.splits["val"].targets)
        else:
            train, val = self._images("train"), self._images("val")
        groups = (_param_groups([rest] + ([self.model.findings] if use_findings else []), a.lr_encoder,
                                a.weight_decay)
                  + _param_groups([self.model.decoder], a.lr_decoder, a.weight_decay))
        pad = self.special.pad

        def step_loss(ddp, batch):
            x, tokens, y, mask, _ = batch
            tokens = self._to_device(tokens)
            logits, label_logits = ddp(self._to_device(x, image=True), tokens)
            s, c = _token_sum(logits, tokens, pad)
            terms = [(s, c, 1.0)]
            if label_logits is not None:
                ls, lc = _label_sum(label_logits, self._to_device(y), self._to_device(mask))
                terms.append((ls, lc, a.label_weight))
            return terms

        def validate():
            return self._validate_stage2(net, val)

        self._run_stage(_StagePlan(2, net, groups, train, step_loss, validate, a.select, a.epochs2, a.time_budget2))

    @torch.no_grad()
    def _validate_stage2(self, net: _CaptionNet, dataset) -> dict:
        """Token loss over the whole validation split, and CIDEr-D of one decoded caption per study (its
        first frontal image in dataset order, ``dataset.candidate_per_study``; ``--val-limit`` studies at
        most), each process on its shard, the numbers summed and the captions gathered."""
        a, env = self.args, self.env
        self.model.eval()
        total, count = 0.0, 0
        for x, tokens, _, _, _ in self._loader(dataset, train=False, indices=shard(range(len(dataset)), env)):
            tokens = self._to_device(tokens)
            with self.autocast():
                v = net.encode(self._to_device(x, image=True))
                logits, _ = self.model.teacher_forced(v, tokens, self.special.start)
            s, c = _token_sum(logits, tokens, self.special.pad)
            total, count = total + float(s), count + c
        total, count = env.sum([total, count])
        out = {"val_loss": total / max(count, 1.0)}
        if a.select != "cider" and not a.val_cider:
            return out
        data = self.splits["val"]
        studies = data.candidates()
        if a.val_limit:
            studies = studies[: a.val_limit]
        decoder = self.model if (a.val_decode == "greedy" or self.device.type == "cpu") else \
            copy.deepcopy(self.model).cpu().eval()
        mine = {}
        for x, _, _, _, idx in self._loader(dataset, train=False, indices=shard(studies, env)):
            v = net.encode(self._to_device(x, image=True)).float()
            if a.val_decode == "greedy":
                ids = greedy_decode(self.model, v, self.special, a.max_len)
            else:
                ids = beam_decode(decoder, v.cpu(), self.special, a.max_len, beam=a.val_beam)
            for i, text in zip(idx.tolist(), texts_of(ids, self.vocab, join_for(a.language), self.special)):
                mine[i] = text
        captions = {i: t for part in env.gather(mine) for i, t in part.items()}
        out["val_cider_d"] = cider_d([captions[i] for i in studies], [data.texts[i] for i in studies])
        out["val_studies_decoded"] = len(studies)
        out["val_distinct_captions"] = len(set(captions.values()))
        return out

    # --- export -------------------------------------------------------------------------------------
    def export(self) -> str | None:
        a = self.args
        path = a.export or os.path.join(a.out, "model.safetensors")
        if self.env.is_main:
            self.model.eval()
            model = self.model.to("cpu") if self.device.type != "cpu" else self.model
            name = os.path.basename(os.path.normpath(a.dataset))
            export_model(model, path, self.vocab, self.special, join_for(a.language),
                         labels=self.labels or None, dtype=a.dtype, tokenizer=a.language,
                         name=a.name or os.path.basename(os.path.normpath(a.out)),
                         description=a.description or f"trained on {name} "
                                                      f"({len(self.splits['train'])} train images)",
                         version=a.model_version, intended_use=a.intended_use, disclaimer=a.disclaimer,
                         license=a.license, training_data=a.training_data)
            self.log.event({"event": "exported", "path": path, "bytes": os.path.getsize(path),
                            "peak_rss_mb": peak_rss_mb()})
        self.env.barrier()
        return path

    def close(self) -> None:
        self.log.close()
        if self.lock is not None:
            self.lock.release()
        self.env.close()


def _round(value, digits: int = 8):
    if isinstance(value, float):
        return round(value, digits) if math.isfinite(value) else None
    return value


# --------------------------------------------------------------------------------------------- command line

def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="cxrcaption-train",
                                 description="Train cxrcaption (stage 1 findings classifier, stage 2 captioning) "
                                             "and export the weights file.")
    g = ap.add_argument_group("data")
    g.add_argument("--dataset", help="a dataset: a JSONL manifest, a CSV, R2Gen's annotation.json, or a "
                                     "MIMIC-CXR-JPG folder (see --format)")
    g.add_argument("--format", default="auto", choices=("auto",) + tuple(records_mod.FORMATS),
                   help="dataset layout (auto: from the path)")
    g.add_argument("--manifest", help="the project's JSONL manifest: the same as --dataset PATH --format jsonl")
    g.add_argument("--images-root", default=None,
                   help="folder the image paths are relative to (R2Gen's --image_dir; MIMIC-CXR-JPG's files/ parent)")
    g.add_argument("--missing", choices=("error", "skip"), default="error",
                   help="a missing image or report: an error naming the study, or skipped and counted")
    g.add_argument("--views", choices=("frontal", "all"), default="frontal",
                   help="frontal: PA/AP (and unknown views) only; all: every image")
    g.add_argument("--language", choices=("en", "zh"), default="en")
    g.add_argument("--target-field", choices=("impression", "findings"), default="impression",
                   help="report section trained on (the whole report when it has no headings: counted)")
    g.add_argument("--max-len", type=int, default=40, help="tokens per target including <end> (longer: cut, counted)")
    g.add_argument("--min-count", type=int, default=MIN_COUNT, help="vocabulary: tokens seen at least this often")
    g.add_argument("--limit", type=int, default=0, help="use only the first N images of each split")
    g.add_argument("--labels-from", choices=("dataset", "labeler"), default="dataset",
                   help="stage-1 labels: the dataset's labels field, or CheXpert's 14 observations labeled from "
                        "the report text")
    g.add_argument("--uncertain", choices=("positive", "negative", "ignore"), default="positive",
                   help="labeler: an uncertain mention ('possible effusion') counts as positive, as negative, or "
                        "is left out of the loss")
    g.add_argument("--labels", default=None, help="JSON list of label names (dataset labels; default: from the data)")
    g.add_argument("--only-seen-labels", action="store_true", help="drop labels absent from the train split")

    g = ap.add_argument_group("model")
    g.add_argument("--out", required=True, help="run folder (checkpoints, logs, vocab.json, model)")
    g.add_argument("--config", default=None, help="preset (densenet121, tiny) or a JSON file with ModelConfig")
    g.add_argument("--input-size", type=int, default=0, help="override the config's input size")
    g.add_argument("--encoder-init", default=None,
                   help="DenseNet-121 weights for the encoder: a torchvision state dict, a CheXNet checkpoint or a "
                        "torchxrayvision pickled model (unpickling runs code from the file: trusted files only)")
    g.add_argument("--freeze", default="denseblock2",
                   help="stage 2 freezes the encoder through this part (none, conv0, ..., denseblock2, ..., norm5)")
    g.add_argument("--dropout", type=float, default=0.2)

    g = ap.add_argument_group("training")
    g.add_argument("--stages", default="1,2", help="which stages to run: 1, 2 or 1,2")
    g.add_argument("--epochs1", type=int, default=8)
    g.add_argument("--epochs2", type=int, default=30)
    g.add_argument("--patience", type=int, default=3)
    g.add_argument("--batch-size", type=int, default=16, help="images per step and process")
    g.add_argument("--lr-stage1", type=float, default=1e-3)
    g.add_argument("--lr-encoder", type=float, default=1e-4)
    g.add_argument("--lr-decoder", type=float, default=5e-4)
    g.add_argument("--weight-decay", type=float, default=0.0, help="AdamW decoupled weight decay (weights only)")
    g.add_argument("--schedule", choices=SCHEDULES, default="constant")
    g.add_argument("--warmup-steps", type=int, default=0, help="linear warmup over the first N steps of each stage")
    g.add_argument("--lr-step-epochs", type=int, default=0, help="--schedule step: decay every N epochs")
    g.add_argument("--lr-gamma", type=float, default=0.1, help="--schedule step: the decay factor")
    g.add_argument("--min-lr-factor", type=float, default=0.0, help="--schedule cosine: the final factor")
    g.add_argument("--label-weight", type=float, default=0.1, help="findings BCE weight in stage 2")
    g.add_argument("--clip", type=float, default=5.0, help="gradient norm clipping")
    g.add_argument("--augment-shift", type=int, default=0,
                   help="stage 1: random translation of the equalized image by up to N pixels")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--max-steps", type=int, default=0, help="stop each stage after N optimizer steps")
    g.add_argument("--time-budget1", type=float, default=0,
                   help="stage-1 wall-clock budget in minutes: when crossed, the epoch stops, is validated and "
                        "the stage ends with its best checkpoint (0 = none)")
    g.add_argument("--time-budget2", type=float, default=0, help="the same for stage 2")
    g.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")

    g = ap.add_argument_group("validation and selection")
    g.add_argument("--select1", choices=("loss", "auc"), default="loss",
                   help="stage 1 keeps (and early-stops on) the lowest validation loss or the highest macro AUC")
    g.add_argument("--select", choices=("cider", "loss"), default="cider",
                   help="stage 2 keeps (and early-stops on) the highest validation CIDEr-D or the lowest token loss")
    g.add_argument("--val-decode", choices=("greedy", "beam"), default="greedy",
                   help="captions the validation CIDEr-D scores (beam: width --val-beam, as evaluated; slower)")
    g.add_argument("--val-beam", type=int, default=3)
    g.add_argument("--val-limit", type=int, default=0, help="decode at most N validation studies (0: all)")
    g.add_argument("--val-cider", action="store_true", help="compute the validation CIDEr-D with --select loss too")

    g = ap.add_argument_group("devices, processes and caches")
    g.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (auto: a GPU when there is one)")
    g.add_argument("--precision", choices=tuple(PRECISIONS), default="fp32",
                   help="autocast precision (fp16: CUDA, with a gradient scaler; bf16: CUDA or CPU)")
    g.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=True,
                   help="channels_last memory format for the encoder on CUDA")
    g.add_argument("--sync-bn", action=argparse.BooleanOptionalAction, default=True,
                   help="with several processes, BatchNorm statistics over the global batch")
    g.add_argument("--num-workers", type=int, default=-1,
                   help="DataLoader worker processes (-1: 0 on the CPU, up to 8 per GPU)")
    g.add_argument("--threads", type=int, default=1, help="torch threads per process")
    g.add_argument("--image-cache", choices=("disk", "none"), default="disk",
                   help="keep the equalized images on disk (sharded, built once)")
    g.add_argument("--feature-cache", choices=("auto", "disk", "none"), default="auto",
                   help="stage 2: keep the frozen stem's outputs on disk (auto: on the CPU)")
    g.add_argument("--cache-dir", default=None, help="cache folder (default OUT/cache); share it between runs")
    g.add_argument("--cache-shard-mb", type=float, default=SHARD_BYTES / 2**20,
                   help="cache shard size: the memory a cache build holds at once")
    g.add_argument("--dist-timeout", type=float, default=60.0, help="minutes a process waits for the others")
    g.add_argument("--log-every", type=int, default=0, help="log every N steps (log.jsonl, steps.csv)")
    g.add_argument("--tensorboard", action="store_true", help="write TensorBoard scalars to OUT/tensorboard")

    g = ap.add_argument_group("export")
    g.add_argument("--export", default=None, help="weights file to write (default OUT/model.safetensors)")
    g.add_argument("--dtype", choices=("f32", "f16", "bf16"), default="f16")
    g.add_argument("--no-export", action="store_true")
    g.add_argument("--name", default=None)
    g.add_argument("--description", default=None)
    # What a viewer shows beside the results (docs/WEIGHTS.md, cxr_model_metadata).
    g.add_argument("--model-version", default=None, help="the model's version (metadata `version`)")
    g.add_argument("--intended-use", default=None, help="what the model is for (metadata `intended_use`)")
    g.add_argument("--disclaimer", default=None, help='e.g. "Not for clinical use." (metadata `disclaimer`)')
    g.add_argument("--license", default=None, help="the weights' licence (metadata `license`)")
    g.add_argument("--training-data", default=None, help="what it was trained on (metadata `training_data`)")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny model (preset 'tiny', 64 px), 3 epochs per stage, 20 images per split, no patience")
    return ap


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = build_parser()
    args = ap.parse_args(argv)
    if args.manifest:
        if args.dataset:
            ap.error("give --dataset or --manifest, not both")
        args.dataset, args.format = args.manifest, "jsonl"
    if not args.dataset:
        ap.error("--dataset (or --manifest) is required")
    if args.smoke:
        args.limit = args.limit or 20
        args.epochs1 = min(args.epochs1, 3)
        args.epochs2 = min(args.epochs2, 3)
        args.patience = 99
        args.batch_size = min(args.batch_size, 8)
        args.dtype = "f32" if args.dtype == "f16" else args.dtype
    try:
        args.stage_set = tuple(sorted({int(s) for s in args.stages.split(",") if s.strip()}))
    except ValueError:
        ap.error(f"--stages {args.stages!r}: expected 1, 2 or 1,2")
    if not args.stage_set or not set(args.stage_set) <= {1, 2}:
        ap.error(f"--stages {args.stages!r}: expected 1, 2 or 1,2")
    if args.batch_size < 1:
        ap.error("--batch-size must be >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    run = Run(args)
    try:
        if 1 in args.stage_set:
            run.stage1()
        if 2 in args.stage_set:
            run.stage2()
        if not args.no_export:
            run.export()
    finally:
        run.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
