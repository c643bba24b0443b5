"""Training throughput of the main job's model on this machine, per precision and memory format.

    python benchmarks/train_speed.py [--steps 40] [--json docs/results/train_speed.json]

Times `--steps` optimizer steps of configs/fashion_mnist.yaml (1.0-SqNxt-23, batch 64, 28x28) after a few
warm-up steps, for amp none and bf16, with and without channels-last, in one process, interleaved over
`--rounds` rounds (each setting keeps its best). This is what `amp: auto` decides from: bf16 pays only
where the CPU computes it natively (AVX-512 BF16 or AMX).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any, Literal

import torch

from squeezenext.argtypes import positive_int
from squeezenext.cli import OneLineParser, run_script
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import cpu_extensions, cpu_model, machine_summary
from squeezenext.rounds import best_of_rounds
from squeezenext.tables import format_table
from squeezenext.train.config import load_config
from squeezenext.train.engine import Trainer

ROOT = Path(__file__).resolve().parents[1]
SETTINGS: tuple[tuple[Literal["none", "bf16"], bool], ...] = (
    ("none", False),
    ("none", True),
    ("bf16", False),
    ("bf16", True),
)
WARMUP_STEPS = 5


def images_per_second(amp: Literal["none", "bf16"], channels_last: bool, steps: int) -> float:
    """Training images per second over ``steps`` steps, after warm-up steps."""
    config = dataclasses.replace(
        load_config(ROOT / "configs" / "fashion_mnist.yaml"), amp=amp, channels_last=channels_last,
        train_subset=64 * (steps + WARMUP_STEPS), test_subset=64, progress=False,
    )  # fmt: skip
    trainer = Trainer(config)
    batches = iter(trainer._train_batches())
    timed = 0.0
    for step in range(steps + WARMUP_STEPS):
        images, labels, _ = next(batches)
        started = time.perf_counter()
        trainer._train_step(images, labels)
        if step >= WARMUP_STEPS:
            timed += time.perf_counter() - started
    return steps * config.batch_size / timed


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=positive_int, default=40)
    parser.add_argument("--rounds", type=positive_int, default=2)
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "train_speed.json")
    args = parser.parse_args()
    check_writable(args.json)
    best = best_of_rounds(
        SETTINGS, lambda setting: images_per_second(*setting, args.steps), args.rounds, float, lower_is_better=False
    )
    fastest = max(best.values())
    results: list[dict[str, Any]] = [
        {"amp": amp, "channels_last": cl, "images_per_s": rate, "vs_fastest": rate / fastest}
        for (amp, cl), rate in best.items()
    ]
    print(
        format_table(
            ["amp", "channels-last", "images/s", "vs fastest"],
            [[r["amp"], r["channels_last"], f"{r['images_per_s']:.0f}", f"{r['vs_fastest']:.2f}"] for r in results],
        )
    )
    machine = {**machine_summary(), "torch": torch.__version__, "threads": torch.get_num_threads()}
    write_json(args.json, {"command": "python benchmarks/train_speed.py", "machine": machine, "results": results})
    print(f"\n{cpu_model()} ({', '.join(cpu_extensions())}); wrote {args.json}")


if __name__ == "__main__":
    run_script(main)
