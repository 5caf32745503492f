"""Read DenseNet-121 checkpoints in the forms they are published in, and load one into the reference encoder.

Used by ``cxrcaption-export --densenet`` and ``cxrcaption-train --encoder-init`` (one reading of each form,
shared by both). The forms:

- a torchvision state dict (``features.*``, ``classifier.*``), from ``torch.save(model.state_dict())`` or a
  ``.safetensors`` file;
- a checkpoint dict holding one under ``state_dict``, ``model`` or ``model_state_dict`` (CheXNet's
  ``{"epoch": ..., "state_dict": {...}}``), with any of the ``module.`` (DataParallel), ``densenet121.``
  (CheXNet), ``model.`` or ``encoder.`` prefixes, and the legacy ``norm.1`` / ``conv.1`` layer names of
  torchvision before 0.3;
- a pickled module (torchxrayvision's published weights are whole ``nn.Module`` objects saved with
  ``torch.save(model)``): only ``torch.load(weights_only=False)`` reads it, and unpickling runs code named in
  the file, so it is tried only after the safe load refused the file, with a warning that says so.

Tensors that are not the encoder's (the classifier, torchxrayvision's ``op_threshs``, anything outside
``features``) are listed in the result and ignored; an encoder tensor the checkpoint lacks, or one of another
shape, is an error that names it.
"""

from __future__ import annotations

import pickle
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import torch

__all__ = ["DenseNetImport", "read_checkpoint", "convert_densenet_state_dict", "import_densenet",
           "PickleWarning"]

_PREFIXES = ("module.", "densenet121.", "model.", "encoder.")
_LEGACY_LAYER = re.compile(r"(denselayer\d+)\.(norm|relu|conv)\.(\d+)\.")
_WRAPPER_KEYS = ("state_dict", "model", "model_state_dict")


class PickleWarning(UserWarning):
    """A checkpoint was read by unpickling, which runs code from the file."""


@dataclass
class DenseNetImport:
    """What ``import_densenet`` loaded: the encoder tensor names, the checkpoint keys it ignored (their
    names in the checkpoint), whether the file was an unpickled module, and whether a 3-channel conv0 was
    summed over its input channels for a 1-channel encoder."""

    source: str
    loaded: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    pickled: bool = False
    conv0_summed: bool = False

    def summary(self) -> dict:
        return {"source": self.source, "loaded": len(self.loaded), "ignored": list(self.ignored),
                "pickled_module": self.pickled, "conv0_summed_to_gray": self.conv0_summed}


def _unwrap(data, source: str) -> dict:
    """The name -> tensor mapping inside what torch.load returned (a module, a state dict, or a dict
    holding one)."""
    if isinstance(data, torch.nn.Module):
        return dict(data.state_dict())
    if isinstance(data, Mapping):
        for key in _WRAPPER_KEYS:
            inner = data.get(key)
            if isinstance(inner, torch.nn.Module):
                return dict(inner.state_dict())
            if isinstance(inner, Mapping):
                return dict(inner)
        return dict(data)
    raise ValueError(f"{source}: not a DenseNet checkpoint (torch.load returned a {type(data).__name__}, "
                     "expected a state dict, a dict holding one, or a module)")


def read_checkpoint(path: str | Path) -> tuple[dict[str, torch.Tensor], bool]:
    """(name -> tensor, pickled) from a checkpoint file in any form the module docstring lists.

    A file that ``torch.load(weights_only=True)`` refuses (a pickled module) is loaded with
    ``weights_only=False`` after a ``PickleWarning``: that runs code from the file, so use only files you
    trust. Non-tensor entries (an epoch number, an optimizer) are dropped here."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise FileNotFoundError(f"DenseNet checkpoint {source} does not exist")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        return dict(load_file(source)), False
    pickled = False
    try:
        data = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as safe_error:
        warnings.warn(f"{source} is not a plain state dict (the safe loader said: "
                      f"{str(safe_error).splitlines()[0]}); loading it as a pickled module with "
                      "torch.load(weights_only=False), which RUNS CODE FROM THE FILE: use only checkpoints "
                      "you trust", PickleWarning, stacklevel=2)
        data = torch.load(source, map_location="cpu", weights_only=False)
        pickled = True
    state = _unwrap(data, source)
    return {k: v for k, v in state.items() if isinstance(v, torch.Tensor)}, pickled


def convert_densenet_state_dict(state: Mapping[str, torch.Tensor], in_channels: int = 1,
                                ignored: list[str] | None = None) -> dict[str, torch.Tensor]:
    """A torchvision / CheXNet / torchxrayvision DenseNet state dict -> ``encoder.features.*`` tensors.

    Strips the ``module.``, ``densenet121.``, ``model.`` and ``encoder.`` prefixes, maps the legacy
    ``norm.1``/``conv.1`` names, drops the classifier, and sums a 3-channel conv0 over its input channels
    when ``in_channels`` is 1 (gray replicated to RGB gives the same response). Any other tensor outside
    ``features`` is an error, unless ``ignored`` is given: then its name is appended there (as are the
    classifier's) and it is skipped.
    """
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key
        stripped = True
        while stripped:
            stripped = False
            for prefix in _PREFIXES:
                if name.startswith(prefix):
                    name, stripped = name[len(prefix):], True
        if name.startswith("classifier") or name.startswith("fc."):
            if ignored is not None:
                ignored.append(key)
            continue
        if not name.startswith("features."):
            if ignored is None:
                raise ValueError(f"unexpected tensor in DenseNet checkpoint: {key!r}")
            ignored.append(key)
            continue
        name = _LEGACY_LAYER.sub(r"\1.\2\3.", name)
        if name == "features.conv0.weight":
            if value.shape[1] == 3 and in_channels == 1:
                value = value.sum(dim=1, keepdim=True)
            elif value.shape[1] != in_channels:
                raise ValueError(f"{key}: conv0 has {value.shape[1]} input channels; cannot make {in_channels}")
        out["encoder." + name] = value
    return out


def import_densenet(model: torch.nn.Module, checkpoint) -> DenseNetImport:
    """Load a DenseNet checkpoint (a path in any form above, or a state dict) into ``model.encoder`` of a
    ``CaptionModel``.

    Every encoder tensor must be present with the encoder's shape (so the model's config must be the
    checkpoint's DenseNet: DenseNet-121 for the published weights); the error names the missing and
    mismatched tensors. Checkpoint tensors the encoder has no place for are ignored and listed in the
    result's ``ignored``."""
    if isinstance(checkpoint, Mapping):
        state, pickled, source = dict(checkpoint), False, "state dict"
    else:
        source = str(checkpoint)
        state, pickled = read_checkpoint(checkpoint)
    in_channels = model.config.in_channels
    ignored: list[str] = []
    converted = convert_densenet_state_dict(state, in_channels, ignored)
    target = {k: v for k, v in model.state_dict().items() if k.startswith("encoder.")}
    for key in sorted(set(converted) - set(target)):  # e.g. layers of a deeper DenseNet
        ignored.append(key)
        del converted[key]
    missing = sorted(k for k in set(target) - set(converted) if not k.endswith("num_batches_tracked"))
    if missing:
        raise ValueError(f"{source}: checkpoint does not fit the encoder: {len(missing)} encoder tensors "
                         f"missing: {missing[:10]}{' ...' if len(missing) > 10 else ''}")
    wrong = [f"{k}: checkpoint {tuple(v.shape)} != encoder {tuple(target[k].shape)}"
             for k, v in converted.items() if tuple(v.shape) != tuple(target[k].shape)]
    if wrong:
        raise ValueError(f"{source}: checkpoint does not fit the encoder ({len(wrong)} shapes differ): "
                         f"{wrong[:5]}{' ...' if len(wrong) > 5 else ''}")
    conv0 = [v for k, v in state.items() if k.endswith("features.conv0.weight")]
    model.load_state_dict({**model.state_dict(), **{k: v.to(target[k].dtype) for k, v in converted.items()}})
    return DenseNetImport(source=source, loaded=sorted(converted), ignored=ignored, pickled=pickled,
                          conv0_summed=bool(conv0) and conv0[0].shape[1] == 3 and in_channels == 1)
