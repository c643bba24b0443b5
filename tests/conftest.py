"""Shared test settings (deterministic, small thread count) and a small trained checkpoint."""

from pathlib import Path

import pytest
import torch


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model trained on synthetic data: a real checkpoint for export, int8, prediction and evaluation."""
    from squeezenext.train.config import TrainConfig
    from squeezenext.train.engine import Trainer

    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(
        data="fake", input_size=32, stem="small", model="sqnxt23_w1", fake_images=64, fake_classes=4,
        batch_size=16, base_batch=16, base_lr=0.05, warmup_iters=0, epochs=1, progress=False, out=str(out),
    )  # fmt: skip
    Trainer(config).fit()
    return out / "model.pt"
