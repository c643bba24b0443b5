"""The README's main job, measured and committed: Fashion-MNIST accuracy per seed, training time, int8.

    python benchmarks/main_job.py [--seeds 0,1,2] [--json docs/results/main_job.json]

Trains configs/fashion_mnist.yaml (what `make run` runs) once per seed, each into runs/main_job/seed<N>,
then exports the first seed's model to ONNX fp32 and int8 and measures both on the 10,000 test images.
Writes the JSON that the README's main-job and int8 lines are checked against (tests/test_results.py),
with the machine (CPU model and extensions) it ran on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

from squeezenext.argtypes import seed_list
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import machine_summary
from squeezenext.train.config import load_config
from squeezenext.train.engine import Trainer
from squeezenext.train.rundir import claimed_run_folder

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "fashion_mnist.yaml"


def _int8(model: Path) -> dict[str, Any]:
    """`squeezenext export MODEL --out model.onnx --int8 --json`, as a user runs it."""
    command = [sys.executable, "-m", "squeezenext.cli", "export", str(model), "--out", str(model.with_suffix(".onnx"))]
    started = time.perf_counter()
    done = subprocess.run([*command, "--int8", "--json"], capture_output=True, text=True, check=True)
    report: dict[str, Any] = json.loads(done.stdout)
    return {**report["accuracy"], "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=seed_list, default=[0], help="comma-separated; 0 is the default")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "main_job")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "main_job.json")
    args = parser.parse_args()
    check_writable(args.json)

    base = load_config(CONFIG)
    runs = []
    for seed in args.seeds:
        config = dataclasses.replace(base, seed=seed, out=str(args.out / f"seed{seed}"), progress=False)
        started = time.perf_counter()
        with claimed_run_folder(Path(config.out), resume=None, overwrite=True):
            outcome = Trainer(config).fit()
        seconds = time.perf_counter() - started
        test = outcome["test"]
        runs.append(
            {"seed": seed, "top1": test["top1"], "top5": test["top5"], "loss": test["loss"], "seconds": seconds}
        )
        print(
            f"seed {seed}: top-1 {test['top1']:.2f}%, top-5 {test['top5']:.2f}% in {seconds / 60:.1f} min", flush=True
        )
    top1 = [run["top1"] for run in runs]
    payload = {
        "command": "python benchmarks/main_job.py --seeds " + ",".join(map(str, args.seeds)),
        "config": str(CONFIG.relative_to(ROOT)),
        "machine": {**machine_summary(), "torch": torch.__version__, "threads": torch.get_num_threads()},
        "test_images": 10_000,
        "runs": runs,
        "top1_mean": statistics.mean(top1),
        "top1_spread": max(top1) - min(top1),
        "top1_worst": min(top1),
        "int8": _int8(args.out / f"seed{args.seeds[0]}" / "model.pt"),
    }
    write_json(args.json, payload)
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
