"""Learning-rate schedules: the factor that multiplies each parameter group's base learning rate at each step.

``lr(step) = base_lr x factor(step)``, step = 0, 1, ... counting optimizer steps within a stage:

- warmup (``--warmup-steps W``, any schedule): ``factor = (step + 1) / W`` for step < W, so the first step
  already moves (a zero first step would waste it) and step W - 1 reaches the full rate;
- ``constant``: 1 after the warmup;
- ``step``: ``gamma ** (step // step_size)`` (``--lr-step-epochs`` converted to steps; counted from step 0,
  the warmup included);
- ``cosine``: from 1 at the end of the warmup down to ``min_factor`` at ``total_steps``:
  ``min + (1 - min) x (1 + cos(pi x p)) / 2``, p = (step - W) / (total - W) clipped to [0, 1].

The trainer sets the rates itself before every optimizer step (``apply``) instead of using a torch
``LRScheduler``: a resumed stage continues at its saved step count with the *command line's* base rates
(``--resume`` with a lower rate is a step decay by hand, as in the demo recipe), which a scheduler's saved
state would overwrite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import torch

__all__ = ["Schedule", "SCHEDULES"]

SCHEDULES = ("constant", "step", "cosine")


@dataclass(frozen=True)
class Schedule:
    kind: str = "constant"
    total_steps: int = 0          # cosine: the step at which the factor reaches min_factor
    warmup_steps: int = 0
    step_size: int = 0            # step: decay every step_size steps (0: never)
    gamma: float = 0.1
    min_factor: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.kind!r}")
        if self.warmup_steps < 0 or self.step_size < 0 or self.total_steps < 0:
            raise ValueError("warmup_steps, step_size and total_steps must be >= 0")
        if not 0 <= self.min_factor <= 1:
            raise ValueError(f"min_factor must be in [0, 1], got {self.min_factor}")
        if self.gamma <= 0:
            raise ValueError(f"gamma must be > 0, got {self.gamma}")

    def factor(self, step: int) -> float:
        """The multiplier of the base learning rates for optimizer step ``step`` (0-based)."""
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        warm = self.warmup_steps
        if warm and step < warm:
            return (step + 1) / warm
        if self.kind == "constant":
            return 1.0
        if self.kind == "step":
            return self.gamma ** (step // self.step_size) if self.step_size else 1.0
        span = self.total_steps - warm
        progress = 1.0 if span <= 0 else min(1.0, max(0.0, (step - warm) / span))
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))

    def apply(self, optimizer: torch.optim.Optimizer, base_lrs: Sequence[float], step: int) -> float:
        """Set each group's rate to its base x factor(step); returns the factor."""
        f = self.factor(step)
        for group, base in zip(optimizer.param_groups, base_lrs):
            group["lr"] = base * f
        return f
