"""The paper's learning-rate schedule: linear warm-up, then polynomial decay to zero.

Official solver (docs/paper.md, "Training recipe"): base LR 0.4 at global batch 1024, ``lr = base (1 - it /
max_it)^2`` over the whole run, with a linear warm-up from 0.1 to the base LR over the first 780
iterations. For another global batch ``B`` the rates scale by ``B / 1024`` (linear scaling rule, Goyal et
al. 2017) and the warm-up keeps the same number of images: ``780 * 1024 / B`` iterations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class PolySchedule:
    """``lr(step)`` for ``step`` in ``[0, total_steps)``; all rates already scaled to the global batch."""

    base_lr: float
    total_steps: int
    warmup_steps: int = 0
    warmup_start_lr: float = 0.0
    power: float = 2.0

    @classmethod
    def scaled(
        cls,
        *,
        base_lr: float,
        base_batch: int,
        global_batch: int,
        total_steps: int,
        warmup_iters: int,
        warmup_start_lr: float,
        power: float,
    ) -> PolySchedule:
        """Scale rates and warm-up length from ``base_batch`` to ``global_batch``."""
        factor = global_batch / base_batch
        warmup = math.ceil(warmup_iters / factor) if warmup_iters else 0
        return cls(
            base_lr=base_lr * factor,
            total_steps=total_steps,
            warmup_steps=min(warmup, total_steps),
            warmup_start_lr=warmup_start_lr * factor,
            power=power,
        )

    def __call__(self, step: int) -> float:
        if step < self.warmup_steps:
            return self.warmup_start_lr + (self.base_lr - self.warmup_start_lr) * step / self.warmup_steps
        return float(self.base_lr * max(0.0, 1.0 - step / self.total_steps) ** self.power)
