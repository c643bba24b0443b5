"""The README's main job, rerun (slow: minutes): at least 90% on the 10k Fashion-MNIST test images, and on
the machine the committed result came from, exactly that result (the job is seeded and deterministic)."""

import dataclasses
import json
from pathlib import Path

import pytest

from squeezenext.machine import cpu_extensions, cpu_model
from squeezenext.train import data as data_module
from squeezenext.train.config import load_config
from squeezenext.train.engine import Trainer

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.skipif(
    not (data_module.FASHION_MNIST_SYSTEM_DIR / "train-images-idx3-ubyte.gz").exists(),
    reason="Debian package dataset-fashion-mnist not installed (make test-slow installs it)",
)
def test_main_job_reaches_90_percent_and_reproduces_the_committed_result(tmp_path: Path) -> None:
    config = dataclasses.replace(
        load_config(ROOT / "configs" / "fashion_mnist.yaml"),
        out=str(tmp_path / "run"),
        data_root=str(tmp_path / "data"),
        progress=False,
    )
    results = Trainer(config).fit()
    assert results["test"]["images"] == 10_000
    assert results["test"]["top1"] >= 90.0
    committed = json.loads((ROOT / "docs" / "results" / "main_job.json").read_text())
    same_machine = (
        committed["machine"]["cpu"] == cpu_model() and committed["machine"]["cpu_extensions"] == cpu_extensions()
    )
    if same_machine:
        default = next(run for run in committed["runs"] if run["seed"] == config.seed)
        assert results["test"]["top1"] == pytest.approx(default["top1"], abs=1e-9)
