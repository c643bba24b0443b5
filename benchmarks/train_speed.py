"""Training throughput on this machine's CPU: the main job per precision and memory format, and our SqueezeNext
against pytorchcv's in the same loop; each as images/s and as a share of the machine's matmul rate.

    python benchmarks/train_speed.py [--steps 40] [--rounds 2] [--json docs/results/train_speed-{cpu_kind}.json]

Times ``--steps`` optimizer steps after a few warm-up steps, with the Trainer's own step (so everything the main
job does per step is in the time), in one process, interleaved over ``--rounds`` rounds (each setting keeps its
best):

* the main job (configs/fashion_mnist.yaml: 1.0-SqNxt-23, batch 64, 28x28 grey) in fp32 and bf16, with and
  without channels-last: what ``amp: auto`` decides from (bf16 pays only where the CPU computes it natively);
* 1.0-SqNxt-23 (ours, official flavor) and pytorchcv's ``sqnxt23_w1`` at 224x224 (batch 32, synthetic images,
  fp32, channels-last), the same Trainer step for both.

Each row's ``of matmul`` is its training MAC rate (three times the forward MACs per image: forward, and the
backward's two products) over the machine's matrix-multiply rate in the row's precision, measured in the same run
(``squeezenext.deploy.bench.matmul_gmacs``). Writes one JSON per CPU kind.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path
from typing import Any, Literal

import torch

from squeezenext.argtypes import positive_int
from squeezenext.cli import OneLineParser, run_script
from squeezenext.deploy.bench import matmul_gmacs
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import CPU_KIND_PLACEHOLDER, cpu_extensions, cpu_model, machine_summary, with_cpu_kind
from squeezenext.rounds import best_of_rounds
from squeezenext.tables import format_table
from squeezenext.train.config import TrainConfig, load_config
from squeezenext.train.engine import Trainer
from squeezenext.workload import traced_workload

ROOT = Path(__file__).resolve().parents[1]
WARMUP_STEPS = 5
BACKWARD_FACTOR = 3
"""Training MACs per image over forward MACs: the forward product, and the backward's products for the input
and for the weights."""
PEER_SIZE, PEER_BATCH = 224, 32
AMPS: tuple[Literal["none", "bf16"], ...] = ("none", "bf16")


@dataclasses.dataclass(frozen=True)
class Setting:
    label: str
    model: str
    input_size: int
    amp: Literal["none", "bf16"]
    channels_last: bool


def settings() -> list[Setting]:
    main_job = [
        Setting("main job", "sqnxt23_w1", 28, amp, channels_last) for amp in AMPS for channels_last in (False, True)
    ]
    peers = [Setting("224x224", model, PEER_SIZE, "none", True) for model in ("sqnxt23_w1", "pytorchcv:sqnxt23_w1")]
    return [*main_job, *peers]


def config_of(setting: Setting, steps: int) -> TrainConfig:
    """The main job's configuration, or the 224x224 comparison's (synthetic 3-channel images, standard stem)."""
    job = load_config(ROOT / "configs" / "fashion_mnist.yaml")
    if setting.label == "main job":
        changes: dict[str, Any] = {"train_subset": job.batch_size * (steps + WARMUP_STEPS)}
    else:
        changes = {
            "model": setting.model, "data": "fake", "input_size": PEER_SIZE, "stem": "standard", "grey": "repeat",
            "transform": "small", "batch_size": PEER_BATCH, "fake_images": PEER_BATCH * (steps + WARMUP_STEPS),
            "fake_classes": 10, "flavor": "pytorchcv" if setting.model.startswith("pytorchcv:") else "official",
        }  # fmt: skip
    return dataclasses.replace(
        job, **changes, amp=setting.amp, channels_last=setting.channels_last, test_subset=64, progress=False
    )


def images_per_second(setting: Setting, steps: int) -> float:
    """Training images per second over ``steps`` steps of the Trainer, after warm-up steps."""
    config = config_of(setting, steps)
    trainer = Trainer(config)
    batches = iter(trainer._train_batches())
    timed = []
    for step in range(steps + WARMUP_STEPS):
        images, labels, _ = next(batches)
        started = time.perf_counter()
        trainer._train_step(images, labels)
        if step >= WARMUP_STEPS:
            timed.append(time.perf_counter() - started)
    return config.batch_size / statistics.median(timed)


def forward_macs(config: TrainConfig) -> int:
    """Forward MACs per image of the model a configuration trains, traced as built (stem, input channels)."""
    channels = 1 if config.data.startswith("fashion-mnist") and config.grey == "stem" else 3
    layers = traced_workload(Trainer(config).model, config.model, config.input_size, channels, "trained").layers
    return sum(layer.macs for layer in layers)


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=positive_int, default=40)
    parser.add_argument("--rounds", type=positive_int, default=2)
    parser.add_argument(
        "--json", type=Path, default=ROOT / "docs" / "results" / f"train_speed-{CPU_KIND_PLACEHOLDER}.json"
    )
    args = parser.parse_args()
    out = with_cpu_kind(args.json)
    check_writable(out)
    threads = torch.get_num_threads()
    rates = {amp: matmul_gmacs(threads, precision="fp32" if amp == "none" else "bf16") for amp in AMPS}
    best = best_of_rounds(
        settings(), lambda setting: images_per_second(setting, args.steps), args.rounds, float, lower_is_better=False
    )
    results: list[dict[str, Any]] = []
    for setting, rate in best.items():
        gmacs = rate * BACKWARD_FACTOR * forward_macs(config_of(setting, args.steps)) / 1e9
        results.append({**dataclasses.asdict(setting), "images_per_s": rate, "train_gmacs_per_s": gmacs,
                        "fraction_of_matmul": gmacs / rates[setting.amp]})  # fmt: skip
    rows = [
        [r["label"], r["model"], r["amp"], r["channels_last"], f"{r['images_per_s']:.0f}",
         f"{r['train_gmacs_per_s']:.1f}", f"{100 * r['fraction_of_matmul']:.1f}%"]
        for r in results
    ]  # fmt: skip
    print(format_table(["setting", "model", "amp", "channels-last", "images/s", "GMAC/s", "of matmul"], rows))
    machine = {**machine_summary(), "torch": torch.__version__, "threads": threads}
    write_json(out, {"command": "python benchmarks/train_speed.py", "machine": machine, "steps": args.steps,
                     "rounds": args.rounds, "matmul_gmacs_per_s": rates, "results": results})  # fmt: skip
    matmul = f"matmul fp32 {rates['none']:.0f}, bf16 {rates['bf16']:.0f} GMAC/s"
    print(f"\n{cpu_model()} ({', '.join(cpu_extensions())}); {matmul}; wrote {out}")


if __name__ == "__main__":
    run_script(main)
