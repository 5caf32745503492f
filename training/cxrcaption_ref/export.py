r"""Write and read cxrcaption/1 weights files (docs/WEIGHTS.md); import DenseNet-121 checkpoints.

As a command:

    cxrcaption-export --out model.safetensors --vocab vocab.json \
        [--config config.json] [--state-dict model.pt] [--densenet chexnet.pth.tar] \
        [--labels labels.json] [--join " "] [--dtype f32|f16|bf16] [--seed 0]

``--state-dict`` loads a full reference-model state_dict (a torch checkpoint, or a dict holding one under
``state_dict``/``model``); ``--densenet`` then (or instead) imports a torchvision / CheXNet-style
DenseNet checkpoint into the encoder. Without either, the weights are seeded random (for testing).
"""

from __future__ import annotations

import argparse
import json
import re
import struct
import sys
from pathlib import Path
from typing import Mapping, Sequence

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .beam import SpecialTokens
from .model import CaptionModel, ModelConfig, expected_shapes

__all__ = ["FORMAT", "metadata_for", "export_model", "load_model", "convert_densenet_state_dict",
           "import_densenet", "DTYPES"]

FORMAT = "cxrcaption/1"
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}


def _json(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def metadata_for(config: ModelConfig, vocab: Sequence[str], special: SpecialTokens, join: str,
                 labels: Sequence[str] | None = None, tokenizer: str | None = None,
                 name: str | None = None, description: str | None = None) -> dict[str, str]:
    """The ``__metadata__`` map of docs/WEIGHTS.md (all values strings)."""
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
    return meta


def export_model(model: CaptionModel, path: str | Path, vocab: Sequence[str], special: SpecialTokens,
                 join: str, labels: Sequence[str] | None = None, dtype: str = "f32",
                 include_num_batches_tracked: bool = True, **extra_metadata) -> dict[str, str]:
    """Write ``model`` as a cxrcaption/1 file. Floating tensors are stored as ``dtype`` (f32, f16, bf16);
    ``num_batches_tracked`` (int64) is kept unless asked otherwise (readers ignore it)."""
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
    save_file(tensors, str(path), metadata=meta)
    _canonicalize_header(Path(path))
    return meta


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


_LEGACY_LAYER = re.compile(r"(denselayer\d+)\.(norm|relu|conv)\.(\d+)\.")


def convert_densenet_state_dict(state: Mapping[str, torch.Tensor], in_channels: int = 1) -> dict[str, torch.Tensor]:
    """A torchvision / CheXNet-style DenseNet-121 state_dict -> ``encoder.features.*`` tensors.

    Handles ``module.`` (DataParallel) and ``densenet121.`` (CheXNet) prefixes, the legacy
    ``norm.1``/``conv.1`` names of old torchvision checkpoints, drops the classifier, and sums a
    3-channel conv0 over its input channels when ``in_channels`` is 1 (gray replicated to RGB).
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key
        for prefix in ("module.", "densenet121.", "model.", "encoder."):
            while name.startswith(prefix):
                name = name[len(prefix):]
        if name.startswith("classifier") or name.startswith("fc."):
            continue
        if not name.startswith("features."):
            raise ValueError(f"unexpected tensor in DenseNet checkpoint: {key!r}")
        name = _LEGACY_LAYER.sub(r"\1.\2\3.", name)
        if name == "features.conv0.weight":
            if value.shape[1] == 3 and in_channels == 1:
                value = value.sum(dim=1, keepdim=True)
            elif value.shape[1] != in_channels:
                raise ValueError(f"conv0 has {value.shape[1]} input channels; cannot make {in_channels}")
        out["encoder." + name] = value
    return out


def _read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return load_file(str(path))
    data = torch.load(str(path), map_location="cpu", weights_only=True)
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(data, dict) and key in data and isinstance(data[key], dict):
            data = data[key]
            break
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a state_dict")
    return data


def import_densenet(model: CaptionModel, checkpoint) -> None:
    """Load a DenseNet checkpoint (path or state_dict) into ``model.encoder``; every encoder tensor must be
    present with the right shape (so the config must match the checkpoint's DenseNet)."""
    state = checkpoint if isinstance(checkpoint, Mapping) else _read_checkpoint(checkpoint)
    converted = convert_densenet_state_dict(state, model.config.in_channels)
    target = {k: v for k, v in model.state_dict().items() if k.startswith("encoder.")}
    unknown = sorted(set(converted) - set(target))
    missing = sorted(k for k in set(target) - set(converted) if not k.endswith("num_batches_tracked"))
    if unknown or missing:
        raise ValueError(f"checkpoint does not fit the encoder: unknown {unknown[:5]}, missing {missing[:5]}")
    for key, value in converted.items():
        if tuple(value.shape) != tuple(target[key].shape):
            raise ValueError(f"{key}: checkpoint shape {tuple(value.shape)} != {tuple(target[key].shape)}")
    model.load_state_dict({**model.state_dict(), **{k: v.to(target[k].dtype) for k, v in converted.items()}})


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
        state = _read_checkpoint(args.state_dict)
        state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
        model.load_state_dict(state, strict=True)
    if args.densenet:
        import_densenet(model, args.densenet)
    model.eval()
    extra = {k: v for k, v in (("tokenizer", args.tokenizer), ("name", args.name),
                                ("description", args.description)) if v is not None}
    export_model(model, args.out, vocab, special, args.join, labels, dtype=args.dtype, **extra)
    print(f"wrote {args.out}: {len(vocab)} tokens, {len(labels)} labels, {args.dtype}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
