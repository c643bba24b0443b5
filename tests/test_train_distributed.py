"""Two gloo processes through torchrun train like one process with the same global batch.

With BatchNorm frozen (``freeze_bn``: running statistics, trainable scale and shift), the two runs agree to
float rounding: same images per step, gradients averaged over the global batch. With training-mode
BatchNorm each process normalizes its own half batch (no SyncBatchNorm on CPUs), so the runs differ by
more; that run is checked to finish and to stay far closer to the 1-process run than a run with another
seed does.
"""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from squeezenext.train.config import load_config, parse_overrides
from squeezenext.train.engine import Trainer
from train_helpers import FAST, env, run_train, weights

SHORT = ["--epochs", "1", "--fake-images", "64", "--base-lr", "0.002", "--warmup-start-lr", "0.002"]


def _initial_weights() -> dict[str, torch.Tensor]:
    config = load_config(None, parse_overrides([*FAST, *SHORT, "--deterministic", "false", "--out", "unused"]))
    model = Trainer(config).model
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def _distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], keys: list[str]) -> float:
    return float(torch.sqrt(sum(((a[k] - b[k]) ** 2).sum() for k in keys)))  # type: ignore[arg-type]


def _torchrun(out: Path, *extra: str) -> None:
    result = subprocess.run(
        [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            "-m", "squeezenext.cli", "train", *FAST, *SHORT, "--out", str(out), *extra,
        ],
        env=env(), capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.extended
def test_two_processes_match_one_with_the_same_global_batch(tmp_path: Path) -> None:
    for name, extra in (("one", ["--freeze-bn", "true"]), ("one_bn", []), ("other", ["--seed", "1"])):
        result = run_train(tmp_path / name, *SHORT, *extra)
        assert result.returncode == 0, result.stderr
    _torchrun(tmp_path / "two", "--freeze-bn", "true")
    _torchrun(tmp_path / "two_bn")

    initial = _initial_weights()
    keys = list(initial)
    w = {name: weights(tmp_path / name / "model.pt") for name in ("one", "two", "one_bn", "two_bn", "other")}
    change = _distance(w["one"], initial, keys)
    assert change > 0
    assert _distance(w["two"], w["one"], keys) < 1e-3 * change
    assert _distance(w["two_bn"], w["one_bn"], keys) < 0.5 * _distance(w["other"], w["one_bn"], keys)
