"""Fine-tuning the main job's checkpoint to another task, against training from scratch in the same budget.

    python benchmarks/finetune.py [--source runs/main_job/seed0/model.pt] [--seeds 0,1,2]
                                  [--json docs/results/finetune.json]

The task: ``fashion-mnist-5`` (Fashion-MNIST's 10 classes merged into 5 groups: tops, trousers, dresses,
footwear, bags), learned from the first 1,000 training images only and evaluated on all 10,000 test images.
Both arms run configs/fashion_mnist.yaml with that data, batch 32 and 10 epochs (the same steps, images and
schedule); the fine-tuned arm starts from ``--source`` (``init``: every tensor but the 10-way classifier,
which is re-initialized for 5 classes) with the backbone at a tenth of the learning rate
(``backbone_lr_scale: 0.1``). ``--source`` is the main job's checkpoint (``python benchmarks/main_job.py``
writes it). Writes the JSON behind docs/training.md's fine-tuning table, with the machine it ran on.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from squeezenext.argtypes import seed_list
from squeezenext.cli import OneLineParser, run_script
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import machine_summary
from squeezenext.tables import format_table
from squeezenext.train.config import TrainConfig, load_config
from squeezenext.train.launch import train_to_completion
from squeezenext.train.rundir import claimed_run_folder

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "fashion_mnist.yaml"
TASK = {
    "data": "fashion-mnist-5",
    "train_subset": 1000,
    "epochs": 10,
    "batch_size": 32,
    "warmup_iters": 1,  # at base_batch 1024: 32 steps at batch 32
    "eval_every": 0,
}
FINE_TUNE = {"backbone_lr_scale": 0.1}


def _run(config: TrainConfig) -> dict[str, Any]:
    started = time.perf_counter()
    with claimed_run_folder(Path(config.out), resume=None, overwrite=True):
        outcome = train_to_completion(config)
    return {"top1": outcome["test"]["top1"], "seconds": time.perf_counter() - started, "init": outcome["init"]}


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT / "runs" / "main_job" / "seed0" / "model.pt")
    parser.add_argument("--seeds", type=seed_list, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "finetune")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "finetune.json")
    args = parser.parse_args()
    check_writable(args.json)
    args.source = args.source.resolve()  # the runs train in other folders; the JSON names it relative to the repo
    if not args.source.is_file():
        sys.exit(f"finetune.py: {args.source} does not exist; run `python benchmarks/main_job.py` first")
    base = dataclasses.replace(load_config(CONFIG), progress=False, **TASK)  # type: ignore[arg-type]
    arms: dict[str, dict[str, Any]] = {
        "scratch": {},
        "fine-tuned": {"init": str(args.source), **FINE_TUNE},
    }
    runs = []
    for seed in args.seeds:
        for arm, change in arms.items():
            config = dataclasses.replace(base, seed=seed, out=str(args.out / f"{arm}-seed{seed}"), **change)
            result = _run(config)
            runs.append({"arm": arm, "seed": seed, **result})
            print(f"{arm} seed {seed}: top-1 {result['top1']:.2f}% in {result['seconds']:.0f} s", flush=True)
    summary = {
        arm: {
            "top1_mean": statistics.mean(r["top1"] for r in runs if r["arm"] == arm),
            "top1_worst": min(r["top1"] for r in runs if r["arm"] == arm),
            "top1_best": max(r["top1"] for r in runs if r["arm"] == arm),
        }
        for arm in arms
    }
    source = str(args.source.relative_to(ROOT) if args.source.is_relative_to(ROOT) else args.source)
    rows = [[arm, f"{s['top1_mean']:.2f}", f"{s['top1_worst']:.2f}-{s['top1_best']:.2f}"] for arm, s in summary.items()]
    print(format_table(["start", "top-1 mean %", "range %"], rows))
    write_json(
        args.json,
        {
            "command": f"python benchmarks/finetune.py --source {source} --seeds {','.join(map(str, args.seeds))}",
            "config": str(CONFIG.relative_to(ROOT)),
            "task": TASK,
            "fine_tune": FINE_TUNE,
            "source": source,
            "machine": {**machine_summary(), "torch": torch.__version__, "threads": torch.get_num_threads()},
            "test_images": 10_000,
            "runs": runs,
            "summary": summary,
            "gain_points": summary["fine-tuned"]["top1_mean"] - summary["scratch"]["top1_mean"],
        },
    )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    run_script(main)
