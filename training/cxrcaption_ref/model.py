"""The PyTorch reference model of cxrcaption (the definition the Swift core is tested against).

Everything here follows docs/WEIGHTS.md ("The model it defines"): a torchvision DenseNet feature
extractor (module names kept, so ``state_dict()`` names are the weights file's tensor names) and an
attention LSTM decoder with one output bias.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.densenet import DenseNet

__all__ = ["ModelConfig", "Encoder", "AttentionDecoder", "CaptionModel", "DecoderContext", "expected_shapes",
           "parameter_names", "normalize_image"]


@dataclass
class ModelConfig:
    """The metadata ``config`` object of a cxrcaption/1 file (keys are the JSON keys)."""

    block_config: tuple[int, ...] = (6, 12, 24, 16)
    growth_rate: int = 32
    bn_size: int = 4
    num_init_features: int = 64
    in_channels: int = 1
    input_size: int = 256
    hidden: int = 512
    embed: int = 256
    attention_dim: int = 512
    bn_eps: float = 1e-5
    mean: list[float] = field(default_factory=lambda: [0.5])
    std: list[float] = field(default_factory=lambda: [0.25])
    preprocessing: int = 1

    KEYS = (
        "block_config", "growth_rate", "bn_size", "num_init_features", "in_channels", "input_size",
        "hidden", "embed", "attention_dim", "bn_eps", "mean", "std", "preprocessing",
    )

    def __post_init__(self) -> None:
        self.block_config = tuple(int(b) for b in self.block_config)
        self.mean = [float(m) for m in self.mean]
        self.std = [float(s) for s in self.std]
        self.validate()

    def validate(self) -> None:
        # The same limits as the Swift loader (docs/WEIGHTS.md), so every exported model loads there.
        if len(self.block_config) != 4 or any(b < 1 for b in self.block_config):
            raise ValueError(f"block_config must be four positive counts, got {self.block_config}")
        for name in ("growth_rate", "bn_size", "num_init_features", "hidden", "embed", "attention_dim"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.in_channels not in (1, 3):
            raise ValueError(f"in_channels must be 1 or 3, got {self.in_channels}")
        if not 32 <= self.input_size <= 1024 or self.input_size % 32 != 0:
            raise ValueError(f"input_size must be a multiple of 32 in 32...1024, got {self.input_size}")
        for name in ("mean", "std"):
            values = getattr(self, name)
            if len(values) not in (1, self.in_channels):
                raise ValueError(f"{name} must have 1 or in_channels values, got {values}")
        if any(s <= 0 for s in self.std):
            raise ValueError(f"std values must be > 0, got {self.std}")
        if not self.bn_eps > 0:
            raise ValueError(f"bn_eps must be > 0, got {self.bn_eps}")

    @property
    def feature_channels(self) -> int:
        """F: channels of V (1024 for DenseNet-121)."""
        channels = self.num_init_features
        for index, layers in enumerate(self.block_config):
            channels += layers * self.growth_rate
            if index != len(self.block_config) - 1:
                channels //= 2
        return channels

    @property
    def grid_size(self) -> int:
        """G = input_size / 32."""
        return self.input_size // 32

    @property
    def region_count(self) -> int:
        return self.grid_size * self.grid_size

    def to_dict(self) -> dict:
        return {
            "block_config": list(self.block_config),
            "growth_rate": self.growth_rate,
            "bn_size": self.bn_size,
            "num_init_features": self.num_init_features,
            "in_channels": self.in_channels,
            "input_size": self.input_size,
            "hidden": self.hidden,
            "embed": self.embed,
            "attention_dim": self.attention_dim,
            "bn_eps": self.bn_eps,
            "mean": list(self.mean),
            "std": list(self.std),
            "preprocessing": self.preprocessing,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        unknown = sorted(set(data) - set(cls.KEYS))
        if unknown:
            raise ValueError(f"unknown config keys: {unknown}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> "ModelConfig":
        return cls.from_dict(json.loads(text))

    def replace(self, **changes) -> "ModelConfig":
        return dataclasses.replace(self, **changes)


class Encoder(nn.Module):
    """``features``: torchvision's DenseNet feature stack with conv0 taking ``in_channels``."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        densenet = DenseNet(
            growth_rate=config.growth_rate,
            block_config=tuple(config.block_config),
            num_init_features=config.num_init_features,
            bn_size=config.bn_size,
            drop_rate=0,
        )
        features = densenet.features
        if config.in_channels != 3:
            conv0 = nn.Conv2d(config.in_channels, config.num_init_features, kernel_size=7, stride=2,
                              padding=3, bias=False)
            nn.init.kaiming_normal_(conv0.weight)
            features.conv0 = conv0
        for module in features.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eps = config.bn_eps
        self.features = features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """V = ReLU(norm5(features(x))): [B, F, G, G]."""
        return F.relu(self.features(x))


@dataclass
class DecoderContext:
    """Per-image decoder inputs computed once: regions [B,R,F], their projection W_v V + b_v [B,R,a],
    and the global average V_gav [B,F]."""

    regions: torch.Tensor
    projected: torch.Tensor
    mean: torch.Tensor

    def expand(self, count: int) -> "DecoderContext":
        """Repeat a one-image context ``count`` times along the batch (for beam hypotheses)."""
        if self.regions.shape[0] != 1:
            raise ValueError("expand needs a context of one image")
        return DecoderContext(self.regions.expand(count, -1, -1), self.projected.expand(count, -1, -1),
                              self.mean.expand(count, -1))


class AttentionDecoder(nn.Module):
    """x_t = [E y_{t-1}; V_gav]; LSTMCell; additive attention on h_t; logits = W_eh h_t + b + W_ec C_t."""

    def __init__(self, config: ModelConfig, vocab_size: int, dropout: float = 0.0) -> None:
        super().__init__()
        features = config.feature_channels
        self.embedding = nn.Embedding(vocab_size, config.embed)
        self.lstm = nn.LSTMCell(config.embed + features, config.hidden)
        self.att_h = nn.Linear(config.hidden, config.attention_dim, bias=False)
        self.att_v = nn.Linear(features, config.attention_dim)
        self.att_w = nn.Linear(config.attention_dim, 1, bias=False)
        self.out_h = nn.Linear(config.hidden, vocab_size)
        self.out_c = nn.Linear(features, vocab_size, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.hidden = config.hidden

    def context(self, features: torch.Tensor) -> DecoderContext:
        """From V [B,F,G,G]: regions r = y*G + x (row-major)."""
        regions = features.flatten(2).transpose(1, 2)  # [B, R, F]
        return DecoderContext(regions, self.att_v(regions), regions.mean(dim=1))

    def initial_state(self, batch: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(batch, self.hidden, device=device)
        return zeros, zeros.clone()

    def step(self, previous: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor],
             context: DecoderContext):
        """One step for a batch: previous tokens [B] -> (logits [B,V], (h, c), alpha [B,R])."""
        x = torch.cat([self.embedding(previous), context.mean], dim=1)
        h, c = self.lstm(x, state)
        scores = self.att_w(torch.tanh(self.att_h(h).unsqueeze(1) + context.projected)).squeeze(2)
        alpha = torch.softmax(scores, dim=1)  # [B, R]
        attended = torch.bmm(alpha.unsqueeze(1), context.regions).squeeze(1)  # [B, F]
        logits = self.out_h(self.dropout(h)) + self.out_c(attended)
        return logits, (h, c), alpha


class CaptionModel(nn.Module):
    """Encoder + decoder (+ optional findings head), named as in docs/WEIGHTS.md."""

    def __init__(self, config: ModelConfig, vocab_size: int, n_labels: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        if vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1, got {vocab_size}")
        self.config = config
        self.vocab_size = vocab_size
        self.n_labels = n_labels
        self.encoder = Encoder(config)
        self.decoder = AttentionDecoder(config, vocab_size, dropout)
        self.findings = nn.Linear(config.feature_channels, n_labels) if n_labels > 0 else None

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Normalized input [B, C, S, S] -> V [B, F, G, G]."""
        return self.encoder(x)

    def context(self, features: torch.Tensor) -> DecoderContext:
        return self.decoder.context(features)

    def step(self, previous, state, context):
        return self.decoder.step(previous, state, context)

    def teacher_forced(self, features: torch.Tensor, tokens: torch.Tensor, start_id: int):
        """Logits [B, T, V] and attention [B, T, R] for token sequences [B, T]: step s is fed
        ``<start>`` for s = 0 and ``tokens[:, s-1]`` otherwise (so row s scores ``tokens[:, s]``)."""
        if tokens.dim() == 1:
            tokens = tokens.unsqueeze(0)
        batch, length = tokens.shape
        context = self.context(features)
        if context.regions.shape[0] != batch:
            context = context.expand(batch)
        state = self.decoder.initial_state(batch, features.device)
        previous = torch.full((batch,), start_id, dtype=torch.long, device=features.device)
        all_logits, all_alpha = [], []
        for s in range(length):
            logits, state, alpha = self.step(previous, state, context)
            all_logits.append(logits)
            all_alpha.append(alpha)
            previous = tokens[:, s].long()
        if length == 0:
            empty = features.new_zeros(batch, 0, self.vocab_size)
            return empty, features.new_zeros(batch, 0, self.config.region_count)
        return torch.stack(all_logits, 1), torch.stack(all_alpha, 1)

    def findings_probabilities(self, features: torch.Tensor) -> torch.Tensor:
        """sigmoid(W V_gav + b): [B, L]."""
        if self.findings is None:
            raise ValueError("this model has no findings head")
        return torch.sigmoid(self.findings(features.mean(dim=(2, 3))))

    def forward(self, x: torch.Tensor, tokens: torch.Tensor, start_id: int) -> torch.Tensor:
        return self.teacher_forced(self.encode(x), tokens, start_id)[0]


def parameter_names(config: ModelConfig, n_labels: int = 0) -> list[str]:
    """The tensor names docs/WEIGHTS.md lists (without num_batches_tracked), in state_dict order."""
    names = ["encoder.features.conv0.weight"]
    bn = ("weight", "bias", "running_mean", "running_var")
    names += [f"encoder.features.norm0.{p}" for p in bn]
    for i, layers in enumerate(config.block_config, start=1):
        for j in range(1, layers + 1):
            base = f"encoder.features.denseblock{i}.denselayer{j}"
            names += [f"{base}.norm1.{p}" for p in bn] + [f"{base}.conv1.weight"]
            names += [f"{base}.norm2.{p}" for p in bn] + [f"{base}.conv2.weight"]
        if i != len(config.block_config):
            base = f"encoder.features.transition{i}"
            names += [f"{base}.norm.{p}" for p in bn] + [f"{base}.conv.weight"]
    names += [f"encoder.features.norm5.{p}" for p in bn]
    names += [
        "decoder.embedding.weight", "decoder.lstm.weight_ih", "decoder.lstm.weight_hh",
        "decoder.lstm.bias_ih", "decoder.lstm.bias_hh", "decoder.att_h.weight", "decoder.att_v.weight",
        "decoder.att_v.bias", "decoder.att_w.weight", "decoder.out_h.weight", "decoder.out_h.bias",
        "decoder.out_c.weight",
    ]
    if n_labels > 0:
        names += ["findings.weight", "findings.bias"]
    return names


def expected_shapes(config: ModelConfig, vocab_size: int, n_labels: int = 0) -> dict[str, tuple[int, ...]]:
    """Name -> shape, computed from the table in docs/WEIGHTS.md independently of the module."""
    g, b, F_ = config.growth_rate, config.bn_size, config.feature_channels
    h, e, a, V = config.hidden, config.embed, config.attention_dim, vocab_size
    shapes: dict[str, tuple[int, ...]] = {}
    bn = ("weight", "bias", "running_mean", "running_var")

    def norm(prefix: str, channels: int) -> None:
        for p in bn:
            shapes[f"{prefix}.{p}"] = (channels,)

    c = config.num_init_features
    shapes["encoder.features.conv0.weight"] = (c, config.in_channels, 7, 7)
    norm("encoder.features.norm0", c)
    for i, layers in enumerate(config.block_config, start=1):
        for j in range(1, layers + 1):
            base = f"encoder.features.denseblock{i}.denselayer{j}"
            c_in = c + (j - 1) * g
            norm(f"{base}.norm1", c_in)
            shapes[f"{base}.conv1.weight"] = (b * g, c_in, 1, 1)
            norm(f"{base}.norm2", b * g)
            shapes[f"{base}.conv2.weight"] = (g, b * g, 3, 3)
        c += layers * g
        if i != len(config.block_config):
            norm(f"encoder.features.transition{i}.norm", c)
            shapes[f"encoder.features.transition{i}.conv.weight"] = (c // 2, c, 1, 1)
            c //= 2
    norm("encoder.features.norm5", c)
    assert c == F_
    shapes.update({
        "decoder.embedding.weight": (V, e),
        "decoder.lstm.weight_ih": (4 * h, e + F_),
        "decoder.lstm.weight_hh": (4 * h, h),
        "decoder.lstm.bias_ih": (4 * h,),
        "decoder.lstm.bias_hh": (4 * h,),
        "decoder.att_h.weight": (a, h),
        "decoder.att_v.weight": (a, F_),
        "decoder.att_v.bias": (a,),
        "decoder.att_w.weight": (1, a),
        "decoder.out_h.weight": (V, h),
        "decoder.out_h.bias": (V,),
        "decoder.out_c.weight": (V, F_),
    })
    if n_labels > 0:
        shapes["findings.weight"] = (n_labels, F_)
        shapes["findings.bias"] = (n_labels,)
    return shapes


def normalize_image(gray: "Sequence | torch.Tensor", config: ModelConfig) -> torch.Tensor:
    """8-bit intensities [S,S] (or [C,S,S]) -> normalized float32 [C,S,S]: (x/255 - mean) / std."""
    x = torch.as_tensor(gray, dtype=torch.float32)
    if x.dim() == 2:
        x = x.unsqueeze(0).expand(config.in_channels, -1, -1)
    mean = torch.tensor(config.mean, dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(config.std, dtype=torch.float32).view(-1, 1, 1)
    return ((x / 255.0) - mean) / std
