"""Seeded random weights with sensible activation scales, and crude image loading, for fixtures and
parity scripts (not for training)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn

from .model import CaptionModel, ModelConfig, normalize_image

__all__ = ["randomize_weights", "add_length_counter", "round_to_half_and_bfloat", "crude_gray_image", "crude_input",
           "box_resize"]


@torch.no_grad()
def randomize_weights(model: CaptionModel, calibration: torch.Tensor, seed: int,
                      output_scale: float = 3.0, attention_scale: float = 3.0,
                      context_scale: float | None = None, lstm_scale: float = 1.0,
                      token_bias: dict[int, float] | None = None) -> None:
    """Give ``model`` seeded random weights whose activations stay O(1).

    Encoder: torchvision's Kaiming convolutions; BatchNorm weight ~ U(0.6, 1.4), bias ~ N(0, 0.2); the
    running statistics are then measured on ``calibration`` inputs [B, C, S, S] (train-mode pass with a
    cumulative average) and jittered, so every BatchNorm sees roughly unit-variance inputs.
    Decoder: PyTorch default initializations, with the output and attention projections scaled up so
    the distributions are not flat (``context_scale`` for W_ec, default ``output_scale``), the LSTM
    weights scaled by ``lstm_scale``; ``token_bias`` adds to chosen output biases (e.g. to make <end> likely).
    """
    gen = torch.Generator().manual_seed(seed)

    def uniform(shape, low, high):
        return torch.rand(shape, generator=gen) * (high - low) + low

    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            fan_in = module.weight[0].numel()
            module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
        elif isinstance(module, nn.BatchNorm2d):
            module.weight.copy_(uniform(module.weight.shape, 0.6, 1.4))
            module.bias.copy_(torch.randn(module.bias.shape, generator=gen) * 0.2)
            module.reset_running_stats()
            module.momentum = None  # cumulative moving average: the exact batch statistics
    model.encoder.train()
    model.encoder(calibration)
    model.encoder.eval()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = 0.1
            module.running_var.mul_(uniform(module.running_var.shape, 0.8, 1.25))
            module.running_mean.add_(torch.randn(module.running_mean.shape, generator=gen)
                                     * 0.1 * module.running_var.sqrt())
            module.num_batches_tracked.fill_(1)

    decoder = model.decoder
    decoder.embedding.weight.copy_(torch.randn(decoder.embedding.weight.shape, generator=gen))
    for linear in (decoder.att_h, decoder.att_v, decoder.att_w, decoder.out_h, decoder.out_c):
        bound = 1.0 / linear.in_features ** 0.5
        linear.weight.copy_(uniform(linear.weight.shape, -bound, bound))
        if linear.bias is not None:
            linear.bias.copy_(uniform(linear.bias.shape, -bound, bound))
    decoder.att_w.weight.mul_(attention_scale)
    decoder.out_h.weight.mul_(output_scale)
    decoder.out_c.weight.mul_(output_scale if context_scale is None else context_scale)
    bound = lstm_scale / decoder.lstm.hidden_size ** 0.5
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        p = getattr(decoder.lstm, name)
        p.copy_(uniform(p.shape, -bound, bound))
    for token, bias in (token_bias or {}).items():
        decoder.out_h.bias[token] += bias
    if model.findings is not None:
        bound = 1.0 / model.findings.in_features ** 0.5
        model.findings.weight.copy_(uniform(model.findings.weight.shape, -bound, bound) * 2)
        model.findings.bias.copy_(uniform(model.findings.bias.shape, -bound, bound))
    model.eval()


@torch.no_grad()
def round_to_half_and_bfloat(model: nn.Module) -> None:
    """Round every floating parameter/buffer to a value exactly representable in both F16 and BF16
    (round to BF16, flush |x| < 2^-14 to zero), so F32, F16 and BF16 files hold identical numbers."""
    for tensor in list(model.parameters()) + list(model.buffers()):
        if not tensor.is_floating_point():
            continue
        rounded = tensor.to(torch.bfloat16).float()
        rounded[rounded.abs() < 2.0 ** -14] = 0.0
        if rounded.abs().max() > 65504:
            raise ValueError("value outside the F16 range")
        assert torch.equal(rounded.half().float(), rounded)
        assert torch.equal(rounded.bfloat16().float(), rounded)
        tensor.copy_(rounded)


def crude_gray_image(path: str | Path, size: int) -> np.ndarray:
    """A file (PNG/JPEG via Pillow; DICOM via pydicom) -> 8-bit gray [size, size], crudely: min-max to
    0..255 for DICOM (inverted for MONOCHROME1), then a box-filter resize. Not the intake pipeline."""
    path = Path(path)
    if path.suffix.lower() == ".dcm":
        import pydicom
        ds = pydicom.dcmread(str(path))
        pixels = ds.pixel_array.astype(np.float64)
        if pixels.ndim == 3:
            pixels = pixels.mean(axis=-1)
        low, high = np.percentile(pixels, 0.5), np.percentile(pixels, 99.5)
        pixels = np.clip((pixels - low) / max(high - low, 1e-6), 0, 1) * 255.0
        if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
            pixels = 255.0 - pixels
        gray = pixels
    else:
        from PIL import Image
        with Image.open(path) as image:
            gray = np.asarray(image.convert("L"), dtype=np.float64)
    return box_resize(gray, size)


def box_resize(gray: np.ndarray, size: int) -> np.ndarray:
    """Area-average resize of a 2-D array to [size, size] (aspect ratio not kept), rounded to 8 bits."""
    h, w = gray.shape
    ys = np.linspace(0, h, size + 1).round().astype(int)
    xs = np.linspace(0, w, size + 1).round().astype(int)
    integral = np.zeros((h + 1, w + 1))
    integral[1:, 1:] = gray.cumsum(0).cumsum(1)
    y0, y1 = ys[:-1, None], np.maximum(ys[1:, None], ys[:-1, None] + 1)
    x0, x1 = xs[None, :-1], np.maximum(xs[None, 1:], xs[None, :-1] + 1)
    y1, x1 = np.minimum(y1, h), np.minimum(x1, w)
    total = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    return np.clip(np.round(total / ((y1 - y0) * (x1 - x0))), 0, 255).astype(np.uint8)


def crude_input(path: str | Path, config: ModelConfig) -> torch.Tensor:
    """Normalized float32 model input [C, S, S] from an image file, crudely (see crude_gray_image)."""
    return normalize_image(crude_gray_image(path, config.input_size), config)


@torch.no_grad()
def add_length_counter(model: CaptionModel, end_id: int, weight: float, bias: float, rate: float = 0.3,
                       unit: int = 0) -> None:
    """Turn LSTM unit ``unit`` into a step counter (input/forget/output gates saturated open, cell input
    ``tanh(rate)`` each step, so h ~ tanh(t * tanh(rate))) and let it drive the ``<end>`` logit:
    out_h[end, unit] = weight, out_h.bias[end] = bias. Random decoders then finish sentences after a
    few tokens instead of at once or never, as trained ones do."""
    lstm = model.decoder.lstm
    h = lstm.hidden_size
    rows = [unit, h + unit, 2 * h + unit, 3 * h + unit]  # gates i, f, g, o
    for r in rows:
        lstm.weight_ih[r].zero_()
        lstm.weight_hh[r].zero_()
        lstm.bias_hh[r] = 0.0
    lstm.bias_ih[rows[0]] = 8.0
    lstm.bias_ih[rows[1]] = 8.0
    lstm.bias_ih[rows[2]] = rate
    lstm.bias_ih[rows[3]] = 8.0
    model.decoder.out_h.weight[:, unit] = 0.0
    model.decoder.out_h.weight[end_id, unit] = weight
    model.decoder.out_h.bias[end_id] = bias
