"""The short Fashion-MNIST recipe that compares networks under one budget (the README's table, the search's
accuracy check).

configs/fashion_mnist.yaml's recipe as it was before issue 23 (:data:`EARLIER_MAIN_JOB`), changed the same way for
every network: images resized to 64x64 with the
grey channel repeated three times (torchvision's SqueezeNet 1.1 and AlexNet run unmodified; AlexNet needs at least
63 px), the standard stems (so a network's stem kernel matters), batch 128 without label smoothing, and the paper's
base learning rate (0.4 at batch 1024: the main job's rate makes the BatchNorm-free SqueezeNet 1.1 and AlexNet
diverge).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from squeezenext.train.config import TrainConfig, load_config

MAIN_JOB_CONFIG = Path(__file__).resolve().parents[3] / "configs" / "fashion_mnist.yaml"
EARLIER_MAIN_JOB: dict[str, Any] = {
    "batch_size": 64,
    "epochs": 5,
    "base_lr": 3.2,
    "lr_power": 2.0,
    "augment": "none",
    "nesterov": False,
    "test_flip": False,
    "cpu_processes": 1,
}
"""The keys of configs/fashion_mnist.yaml that issue 23 changed, as they were before: the comparisons built on the
main job's recipe (this module's short recipe, fine-tuning) keep them, so that their committed results reproduce."""
SHORT_INPUT_SIZE = 64
SHORT_BATCH = 128
PAPER_BASE_LR = 0.4
"""The paper's base learning rate at batch 1024."""


def earlier_main_job() -> TrainConfig:
    """configs/fashion_mnist.yaml with the keys issue 23 changed as they were (:data:`EARLIER_MAIN_JOB`)."""
    return dataclasses.replace(load_config(MAIN_JOB_CONFIG), **EARLIER_MAIN_JOB)


def short_fashion_mnist(
    model: str, *, out: str | Path, epochs: int = 1, base_lr: float = PAPER_BASE_LR, seed: int = 0
) -> TrainConfig:
    """The short recipe for ``model`` (any network argument train accepts, spec files included)."""
    return dataclasses.replace(
        earlier_main_job(),
        model=model,
        stem="standard",
        input_size=SHORT_INPUT_SIZE,
        grey="repeat",
        epochs=epochs,
        batch_size=SHORT_BATCH,
        label_smoothing=0.0,
        base_lr=base_lr,
        warmup_start_lr=base_lr / 4,
        seed=seed,
        out=str(out),
        progress=False,
    )
