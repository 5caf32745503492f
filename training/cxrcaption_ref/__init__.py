"""PyTorch reference of cxrcaption: model (docs/WEIGHTS.md), beam search (docs/DECODING.md), export.

Submodules are imported lazily, so ``cxrcaption_ref.preprocess`` (numpy only) works without torch.
"""

import importlib

_EXPORTS = {
    "AttentionDecoder": "model", "CaptionModel": "model", "Encoder": "model", "ModelConfig": "model",
    "expected_shapes": "model",
    "BeamParameters": "beam", "BeamResult": "beam", "SpecialTokens": "beam", "beam_search": "beam",
    "detokenize": "beam", "model_beam_search": "beam",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
