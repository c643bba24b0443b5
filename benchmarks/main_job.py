"""The README's main job, measured and committed: Fashion-MNIST accuracy per seed, training time, int8.

    python benchmarks/main_job.py [--seeds 0,1,2] [--reuse] [--json docs/results/main_job-{cpu_kind}.json]

Trains configs/fashion_mnist.yaml (what `make run` runs) once per seed, each into runs/main_job/seed<N>,
then exports the first seed's model to ONNX fp32 and int8 and measures both on the 10,000 test images.
Writes the JSON of this CPU kind that the README's main-job and int8 lines are rendered from (`make docs`;
tests/test_results.py checks each), with the machine (CPU model and extensions) it ran on and the SHA-256 of the
configuration file.

``--reuse`` keeps the seeds (and the int8 figures) that the existing JSON already holds for the same
configuration file (same SHA-256) on the same CPU (model and extensions), and the finished runs in the output
folders whose configuration is exactly the one the seed would run (a run that ended before the int8 export
failed, say), and trains only the others: the job is deterministic, so a rerun would reproduce them exactly (the
slow test checks seed 0). Minutes are each run's own training time (``train_seconds_this_session``).
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
from squeezenext.cli import OneLineParser, run_script
from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import check_writable, file_sha256, write_json
from squeezenext.machine import CPU_KIND_PLACEHOLDER, machine_summary, with_cpu_kind
from squeezenext.train.config import TrainConfig, load_config
from squeezenext.train.launch import train_to_completion
from squeezenext.train.rundir import claimed_run_folder

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "fashion_mnist.yaml"


def _int8(model: Path) -> dict[str, Any]:
    """`squeezenext export MODEL --out model.onnx --int8 --json --overwrite`, as a user runs it (the ONNX files are
    this script's own, beside the checkpoint)."""
    command = [sys.executable, "-m", "squeezenext.cli", "export", str(model), "--out", str(model.with_suffix(".onnx"))]
    started = time.perf_counter()
    done = subprocess.run([*command, "--int8", "--json", "--overwrite"], capture_output=True, text=True)
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise SqueezeNextError(f"the int8 export of {model} failed: {last[0]}")
    report: dict[str, Any] = json.loads(done.stdout)
    return {**report["accuracy"], "seconds": time.perf_counter() - started}


def _finished_run(config: TrainConfig) -> dict[str, Any] | None:
    """The results of a finished run of exactly ``config`` in its output folder (its config.yaml and
    results.json), or None."""
    out = Path(config.out)
    if not (out / "results.json").is_file() or not (out / "config.yaml").is_file():
        return None
    if load_config(out / "config.yaml") != config:
        return None
    results: dict[str, Any] = json.loads((out / "results.json").read_text())
    return results


def _reusable(path: Path, config_sha256: str, machine: dict[str, Any]) -> dict[str, Any]:
    """The runs (by seed) and int8 figures of an earlier JSON made from the same configuration on the same CPU."""
    if not path.is_file():
        return {}
    earlier = json.loads(path.read_text())
    same_cpu = all(earlier["machine"].get(key) == machine[key] for key in ("cpu", "cpu_extensions", "threads"))
    if earlier.get("config_sha256") != config_sha256 or not same_cpu:
        return {}
    return {"runs": {run["seed"]: run for run in earlier["runs"]}, "int8": earlier["int8"]}


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=seed_list, default=[0], help="comma-separated; 0 is the default")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "main_job")
    default = ROOT / "docs" / "results" / f"main_job-{CPU_KIND_PLACEHOLDER}.json"
    parser.add_argument("--json", type=Path, default=default, help=f"{CPU_KIND_PLACEHOLDER}: this CPU's kind")
    parser.add_argument("--reuse", action="store_true", help="keep the seeds the JSON holds for this config and CPU")
    args = parser.parse_args()
    args.json = with_cpu_kind(args.json)
    check_writable(args.json)

    base = load_config(CONFIG)
    config_sha256 = file_sha256(CONFIG)
    machine = {**machine_summary(), "torch": torch.__version__, "threads": torch.get_num_threads()}
    reused = _reusable(args.json, config_sha256, machine) if args.reuse else {}
    reused_runs: dict[int, dict[str, Any]] = reused.get("runs", {})
    runs = []
    for seed in args.seeds:
        if seed in reused_runs:
            runs.append(reused_runs[seed])
            print(f"seed {seed}: reused from {args.json} (same configuration and CPU)", flush=True)
            continue
        config = dataclasses.replace(base, seed=seed, out=str(args.out / f"seed{seed}"), progress=False)
        outcome = _finished_run(config) if args.reuse else None
        if outcome is not None:
            print(f"seed {seed}: reused the finished run in {config.out} (same configuration)", flush=True)
        else:
            with claimed_run_folder(Path(config.out), resume=None, overwrite=True):
                outcome = train_to_completion(config)
        test, seconds = outcome["test"], outcome["train_seconds_this_session"]
        runs.append(
            {"seed": seed, "top1": test["top1"], "top5": test["top5"], "loss": test["loss"], "seconds": seconds}
        )
        print(
            f"seed {seed}: top-1 {test['top1']:.2f}%, top-5 {test['top5']:.2f}% in {seconds / 60:.1f} min", flush=True
        )
    top1 = [run["top1"] for run in runs]
    first_model = args.out / f"seed{args.seeds[0]}" / "model.pt"
    payload = {
        "command": f"python benchmarks/main_job.py --seeds {','.join(map(str, args.seeds))}" + " --reuse" * args.reuse,
        "config": str(CONFIG.relative_to(ROOT)),
        "config_sha256": config_sha256,
        "machine": machine,
        "test_images": 10_000,
        "runs": runs,
        "top1_mean": statistics.mean(top1),
        "top1_spread": max(top1) - min(top1),
        "top1_worst": min(top1),
        "int8": reused["int8"] if args.seeds[0] in reused_runs else _int8(first_model),
    }
    write_json(args.json, payload)
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    run_script(main)
