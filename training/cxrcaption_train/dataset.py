"""Manifest reading, image intake and the torch datasets used by the trainer.

Manifest: JSONL, one image per line, with at least `image` (path relative to the manifest file, or
absolute), `split` (train/val/test) and a target text (`impression`, or `findings`); optional `labels`
(list of label names), `id`, `findings_spec` (phantom findings, used for Chinese targets), `seed`.

Images go through the intake pipeline's Python implementation (`cxrcaption_ref.preprocess`, the same
function the tests prove equal to Swift): 16-bit or 8-bit gray PNG -> equalized 8-bit image of the model's
input size -> model input. The equalized images are cached (one .npy per manifest and size).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import Dataset

from cxrcaption_ref import preprocess
from .tokenize import END, NOU, PAD, encode, tokenizer_for, zh_impression


def read_manifest(path: str) -> list[dict]:
    base = os.path.dirname(os.path.abspath(path))
    entries = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            line = line.strip()
            if not line:
                continue
            e = json.loads(line)
            for key in ("image", "split"):
                if key not in e:
                    raise ValueError(f"{path}:{n}: manifest line lacks {key!r}")
            e["image_path"] = e["image"] if os.path.isabs(e["image"]) else os.path.join(base, e["image"])
            entries.append(e)
    return entries


def load_gray(path: str) -> np.ndarray:
    """A PNG/JPEG as a 2-D uint16 (16-bit files) or uint8 array, or uint8 RGB."""
    from PIL import Image
    with Image.open(path) as im:
        if im.mode in ("I;16", "I;16B", "I;16L"):
            return np.array(im, dtype=np.uint16)
        if im.mode == "I":
            a = np.array(im)
            return np.clip(a, 0, 65535).astype(np.uint16)
        if im.mode == "L":
            return np.array(im, dtype=np.uint8)
        return np.array(im.convert("RGB"), dtype=np.uint8)


def equalize(array: np.ndarray, size: int) -> np.ndarray:
    """The intake pipeline's equalized uint8 image (size x size)."""
    bits = 16 if array.dtype == np.uint16 else 8
    return preprocess.equalized_image(array, bits_stored=bits, size=size)


def to_model_input(equalized: np.ndarray, config) -> np.ndarray:
    return preprocess.model_input(equalized, mean=config.mean, std=config.std, in_channels=config.in_channels)


class EqualizedCache:
    """Equalized uint8 images of a list of entries, computed once and kept in a .npy next to `cache_dir`."""

    def __init__(self, entries: Sequence[dict], size: int, cache_dir: str | None = None, log=print):
        key = hashlib.sha1(("|".join(e["image_path"] for e in entries) + f"|{size}|v{preprocess.VERSION}")
                           .encode()).hexdigest()[:16]
        path = os.path.join(cache_dir, f"equalized_{size}_{key}.npy") if cache_dir else None
        if path and os.path.exists(path):
            self.images = np.load(path, mmap_mode="r")
            return
        images = np.zeros((len(entries), size, size), dtype=np.uint8)
        for i, e in enumerate(entries):
            images[i] = equalize(load_gray(e["image_path"]), size)
            if log and (i + 1) % 500 == 0:
                log(f"  equalized {i + 1}/{len(entries)}")
        if path:
            os.makedirs(cache_dir, exist_ok=True)
            np.save(path + ".tmp.npy", images)
            os.replace(path + ".tmp.npy", path)
        self.images = images


def target_text(entry: dict, language: str = "en", field: str = "impression") -> str:
    """The training target of one manifest line. Chinese: the phantom findings written with the templates
    (seeded by the entry's seed, so the same entry always gets the same text) unless the line has `text_zh`."""
    if language == "zh":
        if "text_zh" in entry:
            return entry["text_zh"]
        rng = np.random.default_rng(int(entry.get("seed", 0)) + 7919 * int(entry.get("copy", 0)))
        return zh_impression(entry.get("findings_spec", []), rng)
    return entry.get(field) or ""


@dataclass
class Encoded:
    tokens: list[int]
    labels: np.ndarray


def encode_entries(entries, vocab, labels: Sequence[str], language: str, field: str, max_len: int):
    """Token ids (<end> appended, truncated to max_len including <end>) and multi-hot labels."""
    tok = tokenizer_for(language)
    index = {t: i for i, t in enumerate(vocab)}
    lab_index = {l: i for i, l in enumerate(labels)}
    out = []
    for e in entries:
        words = tok(target_text(e, language, field))[: max_len - 1]
        ids = encode(words, index)
        y = np.zeros(len(labels), dtype=np.float32)
        for l in e.get("labels", []):
            if l in lab_index:
                y[lab_index[l]] = 1.0
        out.append(Encoded(ids, y))
    return out


class ImageCaptionDataset(Dataset):
    """(model input [C,S,S] float32, token ids [T] long, labels [L] float32) per entry."""

    def __init__(self, equalized: np.ndarray, encoded: Sequence[Encoded], config, augment=None):
        self.equalized = equalized
        self.encoded = encoded
        self.config = config
        self.augment = augment

    def __len__(self):
        return len(self.encoded)

    def __getitem__(self, i):
        img = np.asarray(self.equalized[i])
        if self.augment is not None:
            img = self.augment(img)
        x = torch.from_numpy(to_model_input(img, self.config))
        e = self.encoded[i]
        return x, torch.tensor(e.tokens, dtype=torch.long), torch.from_numpy(e.labels), i


class FeatureCaptionDataset(Dataset):
    """Cached frozen-stem features instead of images (stage 2 with frozen conv0..denseblock2)."""

    def __init__(self, features, encoded: Sequence[Encoded]):
        self.features = features
        self.encoded = encoded

    def __len__(self):
        return len(self.encoded)

    def __getitem__(self, i):
        f = torch.from_numpy(np.asarray(self.features[i], dtype=np.float32))
        e = self.encoded[i]
        return f, torch.tensor(e.tokens, dtype=torch.long), torch.from_numpy(e.labels), i


def make_collate(pad_id: int):
    def collate(batch):
        xs, toks, labs, idx = zip(*batch)
        length = max(len(t) for t in toks)
        tokens = torch.full((len(toks), length), pad_id, dtype=torch.long)
        for r, t in enumerate(toks):
            tokens[r, : len(t)] = t
        return torch.stack(xs), tokens, torch.stack(labs), torch.tensor(idx)
    return collate


__all__ = ["read_manifest", "load_gray", "equalize", "to_model_input", "EqualizedCache", "target_text",
           "encode_entries", "ImageCaptionDataset", "FeatureCaptionDataset", "make_collate", "PAD", "END", "NOU"]
