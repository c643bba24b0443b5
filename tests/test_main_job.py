"""The README's main job reaches at least 90% on the 10k Fashion-MNIST test images (slow: minutes)."""

import dataclasses
from pathlib import Path

import pytest

from squeezenext.train import data as data_module
from squeezenext.train.config import load_config
from squeezenext.train.engine import Trainer

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(
    not (data_module.FASHION_MNIST_SYSTEM_DIR / "train-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist not installed (make test-slow installs it)",
)
def test_main_job_reaches_90_percent(tmp_path: Path) -> None:
    config = dataclasses.replace(
        load_config(ROOT / "configs" / "fashion_mnist.yaml"),
        out=str(tmp_path / "run"),
        data_root=str(tmp_path / "data"),
        progress=False,
    )
    results = Trainer(config).fit()
    assert results["test"]["images"] == 10_000
    assert results["test"]["top1"] >= 90.0
