"""Helpers for training tests: small, fast runs on synthetic data in subprocesses."""

import os
import subprocess
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]

FAST = [
    "--data", "fake", "--input-size", "32", "--stem", "small", "--model", "sqnxt23_w1",
    "--fake-images", "256", "--fake-classes", "4", "--batch-size", "8", "--epochs", "2",
    "--base-batch", "8", "--base-lr", "0.05", "--warmup-iters", "4", "--warmup-start-lr", "0.01",
    "--deterministic", "true", "--progress", "false", "--log-every", "1", "--workers", "0",
]  # fmt: skip


def env() -> dict[str, str]:
    """The test environment with this process's thread count (so that float reductions run in the same order
    as in-process runs and weights can be compared bit for bit) and the package importable."""
    result = dict(os.environ)
    result["OMP_NUM_THREADS"] = str(torch.get_num_threads())
    result["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + result.get("PYTHONPATH", "")
    return result


def train_command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "squeezenext.cli", "train", *FAST, "--out", str(out), *extra]


def run_train(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(train_command(out, *extra), env=env(), capture_output=True, text=True, timeout=600)


def weights(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v for k, v in state["model"].items() if v.is_floating_point()}
