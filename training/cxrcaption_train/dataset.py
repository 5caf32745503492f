"""Training data: image records -> targets (text, tokens, finding labels) -> torch datasets that read each
image in their worker.

Records come from :mod:`cxrcaption_train.records` (any dataset layout), images from
:mod:`cxrcaption_train.images` (PNG, JPEG, DICOM through the library's intake, bit-equal to Swift), target
texts from :mod:`cxrcaption_train.reports` and labels from the dataset or :mod:`cxrcaption_train.labeler`.
This module reads nothing itself.

Memory: nothing here holds images. ``ImageDataset`` reads and preprocesses image i when asked for it (in a
DataLoader worker), or reads it from an on-disk cache (:mod:`cxrcaption_train.caches`); the per-image data
kept in RAM is a path and the target (token ids in one flat int32 array with offsets, labels in a float32
matrix): numpy arrays, not lists of Python objects, so forked workers do not copy them page by page as they
touch the objects' reference counts.

Targets (``target_for``): English: ``reports.target_text(record, field)`` (the source's section, the section
parsed from the raw report, or the whole report when it has no headings; ``how`` says which). Chinese: the
record's ``text_zh`` when the source has one, the phantom findings written with the Chinese templates
(seeded by the record's seed and copy, so one record always gets the same text) when it has
``findings_spec``, else ``reports.target_text`` of the Chinese report; tokenized with jieba.
"""
from __future__ import annotations

import collections
import hashlib
import os
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from cxrcaption_ref import preprocess

from . import images, reports
from .caches import SHARD_BYTES, ShardedArray, build_sharded, cache_folder
from .distributed import Dist
from .labeler import CHEXPERT_OBSERVATIONS, label_report
from .records import FRONTAL_VIEWS, ImageRecord, read_dataset
from .tokenize import END, NOU, PAD, encode, tokenizer_for, zh_impression

__all__ = ["equalized_cache", "target_for", "TargetCounts", "collect_targets", "LabelSpec", "label_names_for",
           "label_matrix", "Targets", "encode_targets", "SplitData", "build_split", "candidate_per_study",
           "to_model_input", "ImageDataset", "EqualizedImages", "FeatureDataset", "make_collate", "shift_image",
           "read_manifest", "PAD", "END", "NOU"]

UNCERTAIN_POLICIES = ("positive", "negative", "ignore")


# --------------------------------------------------------------------------------------------- targets

def target_for(record: ImageRecord, language: str = "en", field: str = "impression") -> tuple[str, str]:
    """(target text, how) of one record; ``how`` is reports.target_text's ("source", "section",
    "whole report"), or "text_zh" / "phantom findings" for the Chinese targets of the phantom datasets."""
    if language == "zh":
        extra = record.extra or {}
        if extra.get("text_zh"):
            return str(extra["text_zh"]), "text_zh"
        if "findings_spec" in extra:
            rng = np.random.default_rng(int(extra.get("seed", 0)) + 7919 * int(extra.get("copy", 0)))
            return zh_impression(extra.get("findings_spec") or [], rng), "phantom findings"
    elif language != "en":
        raise ValueError(f"language must be 'en' or 'zh', got {language!r}")
    text, how = reports.target_text(record, field)
    return text, how


@dataclass
class TargetCounts:
    """Where a split's targets came from (``how`` -> images), and how many were empty (skipped) or cut."""

    how: collections.Counter = field(default_factory=collections.Counter)
    empty: int = 0
    cut: int = 0
    empty_examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"from": dict(sorted(self.how.items())), "empty_skipped": self.empty, "cut_by_max_len": self.cut,
                **({"empty_examples": self.empty_examples} if self.empty_examples else {})}


def collect_targets(records: Iterable[ImageRecord], language: str, field: str
                    ) -> tuple[list[tuple[ImageRecord, str]], TargetCounts]:
    """(record, normalized target) for every record with a non-empty target, and the counts. Empty targets
    (a report without the asked-for section and without text) are counted and left out: training on an
    empty caption would teach the model to write nothing."""
    counts = TargetCounts()
    kept = []
    for record in records:
        text, how = target_for(record, language, field)
        text = " ".join((text or "").split())
        if not text:
            counts.empty += 1
            if len(counts.empty_examples) < 5:
                counts.empty_examples.append(f"{record.image_id} (study {record.study_id})")
            continue
        counts.how[how] += 1
        kept.append((record, text))
    return kept, counts


# --------------------------------------------------------------------------------------------- labels

@dataclass(frozen=True)
class LabelSpec:
    """Where stage-1 labels come from: "dataset" (the records' ``labels``) or "labeler" (CheXpert's 14
    observations from the report text), and what an uncertain mention counts as ("positive": 1,
    "negative": 0, "ignore": left out of the loss)."""

    source: str = "dataset"
    uncertain: str = "positive"

    def __post_init__(self) -> None:
        if self.source not in ("dataset", "labeler"):
            raise ValueError(f"labels must come from 'dataset' or 'labeler', got {self.source!r}")
        if self.uncertain not in UNCERTAIN_POLICIES:
            raise ValueError(f"uncertain must be one of {', '.join(UNCERTAIN_POLICIES)}, got {self.uncertain!r}")


def label_names_for(spec: LabelSpec, train: Sequence[ImageRecord], explicit: Sequence[str] | None = None,
                    only_seen: bool = False) -> list[str]:
    """The findings head's label names.

    labeler: CheXpert's 14 observations. dataset: ``explicit`` when given; else the phantom finding kinds
    (in their order) when every training label is one, CheXpert's observations when every label is one of
    those, otherwise the training labels sorted; ``only_seen`` drops names no training record has."""
    if spec.source == "labeler":
        return list(CHEXPERT_OBSERVATIONS)
    if explicit:
        return list(explicit)
    seen = sorted({label for r in train for label in (r.labels or ())})
    if not seen:
        return []
    try:
        from cxrcaption_phantoms.findings import LABELS as PHANTOM
    except ImportError:
        PHANTOM = ()
    names: list[str]
    if set(seen) <= set(PHANTOM):
        names = list(PHANTOM)
    else:
        names = list(CHEXPERT_OBSERVATIONS) if set(seen) <= set(CHEXPERT_OBSERVATIONS) else seen
    return [n for n in names if n in seen] if only_seen else names


def _report_text(record: ImageRecord) -> str:
    if record.report:
        return record.report
    sections = record.sections or {}
    return "\n".join(f"{k.upper()}: {v}" for k, v in sections.items() if v)


def label_matrix(records: Sequence[ImageRecord], names: Sequence[str], spec: LabelSpec
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(labels [N, L] float32 of 0/1, mask [N, L] float32: 1 where the label counts in the loss).

    dataset: a record's listed labels are 1, the others 0; a record whose source gives no label list
    (``labels`` None) is masked out entirely (unknown is not "no findings"). labeler: each study's report
    is labeled once (``labeler.label_report``): positive 1, negative or not mentioned 0, uncertain by
    ``spec.uncertain``."""
    n, width = len(records), len(names)
    y = np.zeros((n, width), dtype=np.float32)
    mask = np.ones((n, width), dtype=np.float32)
    if width == 0:
        return y, mask
    index = {name: j for j, name in enumerate(names)}
    if spec.source == "dataset":
        for i, r in enumerate(records):
            if r.labels is None:
                mask[i] = 0
                continue
            for label in r.labels:
                if label in index:
                    y[i, index[label]] = 1
        return y, mask
    by_study: dict[str, Mapping[str, int]] = {}
    for i, r in enumerate(records):
        found = by_study.get(r.study_id)
        if found is None:
            found = by_study[r.study_id] = label_report(_report_text(r))
        for name, value in found.items():
            j = index.get(name)
            if j is None:
                continue
            if value == 1:
                y[i, j] = 1
            elif value == -1:
                if spec.uncertain == "positive":
                    y[i, j] = 1
                elif spec.uncertain == "ignore":
                    mask[i, j] = 0
    return y, mask


# --------------------------------------------------------------------------------------------- splits

@dataclass
class Targets:
    """Token ids of N targets in one flat array (``ids[offsets[i]:offsets[i+1]]``, ``<end>`` included),
    their labels [N, L] and label mask [N, L]."""

    ids: np.ndarray
    offsets: np.ndarray
    labels: np.ndarray
    mask: np.ndarray

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def tokens(self, i: int) -> np.ndarray:
        return self.ids[self.offsets[i]:self.offsets[i + 1]]


def encode_targets(texts: Sequence[str], vocab: Sequence[str] | Mapping[str, int], language: str, max_len: int,
                   labels: np.ndarray, mask: np.ndarray) -> tuple[Targets, int]:
    """(Targets, how many were cut): each text tokenized, truncated to ``max_len - 1`` tokens, ``<end>``
    appended (so at most ``max_len`` ids)."""
    if max_len < 2:
        raise ValueError(f"max_len must be >= 2 (a token and <end>), got {max_len}")
    tok = tokenizer_for(language)
    index = vocab if isinstance(vocab, Mapping) else {t: i for i, t in enumerate(vocab)}
    pieces, offsets, cut = [], [0], 0
    for text in texts:
        words = tok(text)
        if len(words) > max_len - 1:
            cut += 1
            words = words[: max_len - 1]
        ids = encode(words, index)
        pieces.append(np.asarray(ids, dtype=np.int32))
        offsets.append(offsets[-1] + len(ids))
    ids = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)
    return Targets(ids, np.asarray(offsets, dtype=np.int64), labels, mask), cut


def _packed_paths(paths: Sequence[str]) -> np.ndarray:
    return np.array([os.fsencode(p) for p in paths], dtype=np.bytes_)


@dataclass
class SplitData:
    """One split, ready for the datasets: per image its id, study, view, path, Targets, and the target text
    (kept for the splits whose texts are scored, else empty: only what validation needs stays in RAM)."""

    name: str
    image_ids: list[str]
    study_ids: list[str]
    views: list[str | None]
    paths: np.ndarray
    texts: list[str]
    targets: Targets

    def __len__(self) -> int:
        return len(self.image_ids)

    def path(self, i: int) -> str:
        return os.fsdecode(bytes(self.paths[i]))

    def candidates(self) -> list[int]:
        """Index of each study's candidate image (``candidate_per_study``): the image a study is scored on."""
        return candidate_per_study(self.study_ids, self.views)


def candidate_per_study(study_ids: Sequence[str], views: Sequence[str | None]) -> list[int]:
    """For each study, in the order studies first appear, the index of the image it is scored on: its first
    frontal image (a view in ``records.FRONTAL_VIEWS``, or unknown) in dataset order, else (a study with
    lateral images only, under ``--views all``) its first image. The CLI's ``eval`` applies the same rule
    to the eval manifest."""
    first: dict[str, int] = {}
    frontal: dict[str, int] = {}
    for i, (study, view) in enumerate(zip(study_ids, views)):
        first.setdefault(study, i)
        if study not in frontal and (view is None or view in FRONTAL_VIEWS):
            frontal[study] = i
    return [frontal.get(study, i) for study, i in first.items()]


def build_split(name: str, kept: Sequence[tuple[ImageRecord, str]], vocab, language: str, max_len: int,
                label_names: Sequence[str], spec: LabelSpec, keep_texts: bool = True) -> tuple[SplitData, int]:
    """(SplitData, how many targets max_len cut) of one split's (record, target) pairs."""
    records = [r for r, _ in kept]
    texts = [t for _, t in kept]
    y, mask = label_matrix(records, label_names, spec)
    targets, cut = encode_targets(texts, vocab, language, max_len, y, mask)
    return SplitData(name=name, image_ids=[r.image_id for r in records], study_ids=[r.study_id for r in records],
                     views=[r.view for r in records], paths=_packed_paths([r.path for r in records]),
                     texts=texts if keep_texts else [], targets=targets), cut


# --------------------------------------------------------------------------------------------- datasets

def to_model_input(equalized: np.ndarray, config) -> np.ndarray:
    """Intake step 6: the float32 [C, S, S] model input of an equalized image."""
    return preprocess.model_input(equalized, mean=config.mean, std=config.std, in_channels=config.in_channels)


def shift_image(img: np.ndarray, pixels: int, rng: np.random.Generator) -> np.ndarray:
    """Random translation by up to ``pixels`` in x and y (edge pixels repeated). No flips: findings have
    sides."""
    dy, dx = (int(v) for v in rng.integers(-pixels, pixels + 1, size=2))
    padded = np.pad(img, pixels, mode="edge")
    h, w = img.shape
    return np.ascontiguousarray(padded[pixels + dy: pixels + dy + h, pixels + dx: pixels + dx + w])


class EqualizedImages(Dataset):
    """(equalized uint8 [S, S] tensor, index) per image path: the intake up to its equalized 8-bit image,
    computed in the worker (what the image cache stores)."""

    def __init__(self, paths: np.ndarray, size: int) -> None:
        self.paths, self.size = paths, int(size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        path = os.fsdecode(bytes(self.paths[i]))
        return torch.from_numpy(images.equalized_image(path, self.size)), i


class ImageDataset(Dataset):
    """(model input [C, S, S] float32, token ids [T] long, labels [L], label mask [L], index) per image.

    The image is read and preprocessed here, in the DataLoader worker (``images.equalized_image``), or
    read from ``cache`` (a ShardedArray of the same equalized images). ``shift`` > 0: stage-1 random
    translation, drawn from a generator seeded by (seed, epoch, index), so the same image gets the same
    shift in an epoch whatever the number of workers or processes (call ``set_epoch`` before each epoch;
    workers are started per epoch, so they see it)."""

    def __init__(self, paths: np.ndarray, targets: Targets, size: int, config, cache: ShardedArray | None = None,
                 shift: int = 0, seed: int = 0) -> None:
        if cache is not None and len(cache) != len(paths):
            raise ValueError(f"image cache has {len(cache)} images for {len(paths)} paths")
        self.paths, self.targets, self.size, self.config = paths, targets, int(size), config
        self.cache, self.shift, self.seed, self.epoch = cache, int(shift), int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.paths)

    def equalized(self, i: int) -> np.ndarray:
        if self.cache is not None:
            return self.cache[i]
        return images.equalized_image(os.fsdecode(bytes(self.paths[i])), self.size)

    def __getitem__(self, i: int):
        img = self.equalized(i)
        if self.shift:
            img = shift_image(img, self.shift, np.random.default_rng([self.seed, self.epoch, int(i)]))
        x = torch.from_numpy(to_model_input(img, self.config))
        t = self.targets
        return (x, torch.from_numpy(t.tokens(i).astype(np.int64)), torch.from_numpy(t.labels[i]),
                torch.from_numpy(t.mask[i]), i)


class FeatureDataset(Dataset):
    """Cached frozen-stem features (float16 on disk, float32 here) instead of images, with the targets."""

    def __init__(self, features: ShardedArray, targets: Targets) -> None:
        if len(features) != len(targets):
            raise ValueError(f"feature cache has {len(features)} items for {len(targets)} targets")
        self.features, self.targets = features, targets

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i: int):
        f = torch.from_numpy(self.features[i].astype(np.float32))
        t = self.targets
        return (f, torch.from_numpy(t.tokens(i).astype(np.int64)), torch.from_numpy(t.labels[i]),
                torch.from_numpy(t.mask[i]), i)


def equalized_cache(paths: np.ndarray, size: int, root: str, env=None, log=None, workers: int = 0,
                    batch: int = 32, wrap=None, shard_bytes: int = SHARD_BYTES) -> ShardedArray:
    """The equalized images of ``paths`` in a sharded on-disk cache under ``root`` (``caches``), built on
    first use by DataLoader workers. The folder (``equalized-SIZE-HASH``) is keyed by the paths (in order),
    the size and the intake version, so runs over the same images share it (``--cache-dir``; the trainer's
    and ``cxrcaption-scst``'s). ``env``: the processes that build it together (one process when None);
    ``wrap``: e.g. a progress bar around the loader."""
    env = env or Dist()
    digest = hashlib.sha1(b"\0".join(bytes(p) for p in paths)).hexdigest()
    key = {"kind": "equalized", "paths_sha1": digest, "count": len(paths), "size": int(size),
           "intake": preprocess.VERSION}
    folder = cache_folder(root, f"equalized-{size}", key)
    source = EqualizedImages(paths, size)

    def fill(indices):
        loader = DataLoader(Subset(source, list(indices)), batch_size=batch, shuffle=False, num_workers=workers)
        for eq, idx in (wrap(loader) if wrap else loader):
            yield idx.tolist(), eq.numpy()

    return build_sharded(folder, key, len(paths), (size, size), np.uint8, fill, env, log, shard_bytes)


def make_collate(pad_id: int):
    """Batches of (x [B, ...], tokens [B, T] padded with ``pad_id``, labels [B, L], mask [B, L], index [B])."""
    def collate(batch):
        xs, toks, labs, masks, idx = zip(*batch)
        length = max(len(t) for t in toks)
        tokens = torch.full((len(toks), length), pad_id, dtype=torch.long)
        for r, t in enumerate(toks):
            tokens[r, : len(t)] = t
        return torch.stack(xs), tokens, torch.stack(labs), torch.stack(masks), torch.tensor(idx)
    return collate


# --------------------------------------------------------------------------------------------- legacy

def read_manifest(path: str) -> list[dict]:
    """A JSONL manifest as the dicts earlier versions returned (every manifest key, plus ``image_path``, the
    absolute image path), read through ``records.read_dataset``; kept for scripts written against it
    (training/scripts/make_zh_fixture.py)."""
    out = []
    for r in read_dataset(path, "jsonl"):
        entry = {**dict(r.extra), "id": r.image_id, "split": r.split, "image_path": r.path,
                 **dict(r.sections or {})}
        if r.labels is not None:
            entry["labels"] = list(r.labels)
        if r.report:
            entry["report"] = r.report
        out.append(entry)
    return out
