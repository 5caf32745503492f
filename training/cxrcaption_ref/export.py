r"""Write and read cxrcaption/1 weights files (docs/WEIGHTS.md); import DenseNet-121 checkpoints.

As a command:

    cxrcaption-export --out model.safetensors --vocab vocab.json \
        [--config config.json] [--state-dict model.pt] [--densenet chexnet.pth.tar] \
        [--labels labels.json] [--join " "] [--dtype f32|f16|bf16] [--seed 0]

``--state-dict`` loads a full reference-model state_dict (a torch checkpoint, or a dict holding one under
``state_dict``/``model``); ``--densenet`` then (or instead) imports a torchvision / CheXNet /
torchxrayvision DenseNet checkpoint into the encoder (``densenet_import``: the forms it reads, what it
ignores). Without either, the weights are seeded random (for testing).
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
from pathlib import Path
from typing import Sequence

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .beam import SpecialTokens
from .densenet_import import DenseNetImport, convert_densenet_state_dict, import_densenet, read_checkpoint
from .model import CaptionModel, ModelConfig, expected_shapes

# convert_densenet_state_dict and import_densenet live in densenet_import (shared with the trainer's
# --encoder-init); they stay importable from here.
__all__ = ["FORMAT", "metadata_for", "export_model", "load_model", "convert_densenet_state_dict",
           "import_densenet", "DenseNetImport", "DTYPES"]

FORMAT = "cxrcaption/1"
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


#: Free-text metadata keys that describe the model to people (docs/WEIGHTS.md): a viewer shows them.
DESCRIBING_KEYS = ("name", "description", "version", "intended_use", "disclaimer", "license", "training_data")


def metadata_for(config: ModelConfig, vocab: Sequence[str], special: SpecialTokens, join: str,
                 labels: Sequence[str] | None = None, tokenizer: str | None = None,
                 name: str | None = None, description: str | None = None, **describing: str | None) -> dict[str, str]:
    """The ``__metadata__`` map of docs/WEIGHTS.md (all values strings). ``describing`` takes the other
    DESCRIBING_KEYS (version, intended_use, disclaimer, license, training_data); None values are left out."""
    unknown = sorted(set(describing) - set(DESCRIBING_KEYS))
    if unknown:
        raise ValueError(f"unknown metadata keys {unknown}; the describing keys are {list(DESCRIBING_KEYS)}")
    if join not in ("", " "):
        raise ValueError(f"join must be \"\" or \" \", got {join!r}")
    ids = [special.pad, special.start, special.end, special.nou]
    if len(set(ids)) != 4 or any(not 0 <= i < len(vocab) for i in ids):
        raise ValueError(f"special token ids must be distinct and inside the vocabulary: {special}")
    if tokenizer is not None and tokenizer not in ("en", "zh"):
        raise ValueError(f"tokenizer must be en or zh, got {tokenizer!r}")
    meta = {
        "format": FORMAT,
        "config": config.to_json(),
        "vocab": _json(list(vocab)),
        "special_tokens": _json(special.to_dict()),
        "join": join,
    }
    if labels:
        meta["labels"] = _json(list(labels))
    if tokenizer is not None:
        meta["tokenizer"] = tokenizer
    if name is not None:
        meta["name"] = name
    if description is not None:
        meta["description"] = description
    for key, value in describing.items():
        if value is not None:
            meta[key] = str(value)
    return meta


def export_model(model: CaptionModel, path: str | Path, vocab: Sequence[str], special: SpecialTokens,
                 join: str, labels: Sequence[str] | None = None, dtype: str = "f32",
                 include_num_batches_tracked: bool = True, **extra_metadata) -> dict[str, str]:
    """Write ``model`` as a cxrcaption/1 file. Floating tensors are stored as ``dtype`` (f32, f16, bf16);
    ``num_batches_tracked`` (int64) is kept unless asked otherwise (readers ignore it). The file is written
    under a temporary name in the same folder and renamed when complete."""
    if len(vocab) != model.vocab_size:
        raise ValueError(f"vocab has {len(vocab)} tokens but the model has {model.vocab_size}")
    n_labels = model.n_labels
    if (labels is not None and len(labels) > 0) != (n_labels > 0) or (labels and len(labels) != n_labels):
        raise ValueError(f"labels ({0 if not labels else len(labels)}) must match the findings head ({n_labels})")
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {sorted(DTYPES)}, got {dtype!r}")
    tensors = {}
    for key, value in model.state_dict().items():
        if key.endswith("num_batches_tracked"):
            if include_num_batches_tracked:
                tensors[key] = value.detach().cpu().contiguous()
            continue
        tensors[key] = value.detach().cpu().to(DTYPES[dtype]).contiguous()
    shapes = expected_shapes(model.config, model.vocab_size, n_labels)
    named = {k for k in tensors if not k.endswith("num_batches_tracked")}
    if named != set(shapes):
        raise AssertionError(f"state_dict names differ from docs/WEIGHTS.md: {sorted(named ^ set(shapes))}")
    for key, shape in shapes.items():
        if tuple(tensors[key].shape) != shape:
            raise AssertionError(f"{key}: shape {tuple(tensors[key].shape)} != {shape}")
    meta = metadata_for(model.config, vocab, special, join, labels, **extra_metadata)
    # written beside the target and renamed when complete: a reader never sees a partial file
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file(tensors, str(temporary), metadata=meta)
        _canonicalize_header(temporary)
        with open(temporary, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return meta


#: The settings a `generation` metadata entry may hold (docs/WEIGHTS.md) and the type of each.
GENERATION_KEYS = {"max_tokens": int, "length_penalty": float, "suppress_unknown": bool, "no_repeat_ngram_size": int,
                   "distinct_results": bool, "distinct_extra_beam": int}


def set_generation(path: str | Path, settings: dict | None) -> None:
    """Write (or, with None, remove) the recommended decoding settings of the model file at ``path``: its
    ``generation`` metadata (docs/WEIGHTS.md). Only the header changes; tensors and their bytes stay."""
    path = Path(path)
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    meta = header.setdefault("__metadata__", {})
    if settings is None:
        meta.pop("generation", None)
    else:
        for key, value in settings.items():
            kind = GENERATION_KEYS.get(key)
            if kind is None:
                raise ValueError(f"unknown generation key {key!r}; the keys are {list(GENERATION_KEYS)}")
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ValueError(f"generation {key} must be {kind.__name__}, got {value!r}")
        meta["generation"] = _json(dict(sorted(settings.items())))
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + length:])
    _canonicalize_header(path)


def _canonicalize_header(path: Path) -> None:
    """Rewrite the header with the metadata in a fixed order (``format`` first, then sorted keys): the
    safetensors library writes metadata in hash order, which would make identical models differ in bytes.
    Tensor entries and data are unchanged; the header stays space-padded to a multiple of 8 bytes."""
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + length])
    meta = header.pop("__metadata__", {})
    ordered = {"format": meta["format"]} if "format" in meta else {}
    ordered.update({k: meta[k] for k in sorted(meta) if k != "format"})
    text = json.dumps({"__metadata__": ordered, **header}, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + length:])


def load_model(path: str | Path):
    """Read a cxrcaption/1 file into a float32 CaptionModel (eval mode).

    Returns (model, metadata dict with parsed values: config, vocab, special, join, labels)."""
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise ValueError(f"format is {meta.get('format')!r}, expected {FORMAT!r}")
        config = ModelConfig.from_json(meta["config"])
        vocab = json.loads(meta["vocab"])
        sp = json.loads(meta["special_tokens"])
        special = SpecialTokens(sp["pad"], sp["start"], sp["end"], sp["nou"])
        labels = json.loads(meta["labels"]) if "labels" in meta else []
        state = {k: f.get_tensor(k) for k in f.keys() if not k.endswith("num_batches_tracked")}
    model = CaptionModel(config, len(vocab), len(labels))
    shapes = expected_shapes(config, len(vocab), len(labels))
    unknown = sorted(set(state) - set(shapes))
    missing = sorted(set(shapes) - set(state))
    if unknown or missing:
        raise ValueError(f"tensor names do not match the config: unknown {unknown}, missing {missing}")
    model.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    model.eval()
    info = {"config": config, "vocab": vocab, "special": special, "join": meta["join"], "labels": labels,
            "raw": meta}
    return model, info


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cxrcaption-export", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output .safetensors path")
    parser.add_argument("--vocab", required=True, help="JSON array of token strings (index = id)")
    parser.add_argument("--config", help="JSON object with config keys (defaults: DenseNet-121 sizes)")
    parser.add_argument("--state-dict", help="reference-model checkpoint to export")
    parser.add_argument("--densenet", help="torchvision/CheXNet DenseNet checkpoint for the encoder")
    parser.add_argument("--labels", help="JSON array of findings label names (adds a findings head)")
    parser.add_argument("--join", default=" ", choices=["", " "], help='"" (Chinese) or " " (English)')
    parser.add_argument("--tokenizer", choices=["en", "zh"])
    parser.add_argument("--name")
    parser.add_argument("--description")
    parser.add_argument("--dtype", default="f32", choices=sorted(DTYPES))
    parser.add_argument("--seed", type=int, default=0, help="seed for weights not loaded from a checkpoint")
    args = parser.parse_args(argv)

    vocab = json.loads(Path(args.vocab).read_text())
    config = ModelConfig.from_dict(json.loads(Path(args.config).read_text())) if args.config else ModelConfig()
    labels = json.loads(Path(args.labels).read_text()) if args.labels else []
    special = SpecialTokens.from_vocab(vocab)
    torch.manual_seed(args.seed)
    model = CaptionModel(config, len(vocab), len(labels))
    if args.state_dict:
        state, _ = read_checkpoint(args.state_dict)
        state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
        model.load_state_dict(state, strict=True)
    if args.densenet:
        report = import_densenet(model, args.densenet)
        print(f"encoder from {args.densenet}: {len(report.loaded)} tensors; ignored {report.ignored or 'none'}")
    model.eval()
    extra = {k: v for k, v in (("tokenizer", args.tokenizer), ("name", args.name),
                                ("description", args.description)) if v is not None}
    export_model(model, args.out, vocab, special, args.join, labels, dtype=args.dtype, **extra)
    print(f"wrote {args.out}: {len(vocab)} tokens, {len(labels)} labels, {args.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
