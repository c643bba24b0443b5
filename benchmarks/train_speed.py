"""Training throughput on this machine's CPU: the main job as configured, in one process and in its
``cpu_processes``, per precision; the main job before issue 23; and our SqueezeNext against pytorchcv's in the
same loop; each as images/s and as a share of the machine's matmul rate.

    python benchmarks/train_speed.py [--steps 40] [--rounds 2] [--json docs/results/train_speed-{cpu_kind}.json]

Every setting is a real run of ``squeezenext train`` (``squeezenext.train.launch.run_training``: data loading,
the step, logging, and the processes' gradient averaging all inside the time), stopped after a few warm-up
steps and ``--steps`` timed ones, in one process of this script, interleaved over ``--rounds`` rounds (each
setting keeps its best):

* the main job (configs/fashion_mnist.yaml) in fp32 and bf16, in its ``cpu_processes`` and in one process with
  all the threads: what ``amp: auto`` and ``cpu_processes`` decide from;
* the main job as it was before issue 23 (batch 64, one process), in the precision ``amp: auto`` picks here:
  the speed-up's baseline, measured in the same run;
* 1.0-SqNxt-23 (ours, official flavor) and pytorchcv's ``sqnxt23_w1`` at 224x224 (batch 32, synthetic images,
  fp32, channels-last, one process), the same loop for both.

Each row's ``of matmul`` is its training MAC rate (three times the forward MACs per image: forward, and the
backward's two products) over the machine's matrix-multiply rate in the row's precision, measured in the same run
(``squeezenext.deploy.bench.matmul_gmacs``). Writes one JSON per CPU kind.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
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
from squeezenext.train.engine import Trainer, resolve_amp
from squeezenext.train.launch import run_training
from squeezenext.workload import traced_workload

ROOT = Path(__file__).resolve().parents[1]
WARMUP_STEPS = 5
LOG_EVERY = 5
"""Steps per timed window (the run's ``log_every``); the windows that end after the warm-up are timed."""
BACKWARD_FACTOR = 3
"""Training MACs per image over forward MACs: the forward product, and the backward's products for the input
and for the weights."""
PEER_SIZE, PEER_BATCH = 224, 32
BEFORE_BATCH = 64
"""The main job's batch before issue 23 (one process, two threads)."""
AMPS: tuple[Literal["none", "bf16"], ...] = ("none", "bf16")


@dataclasses.dataclass(frozen=True)
class Setting:
    label: str
    model: str
    input_size: int
    amp: Literal["none", "bf16"]
    processes: int
    batch: int


def settings(job: TrainConfig) -> list[Setting]:
    auto: Literal["none", "bf16"] = "bf16" if resolve_amp("auto", torch.device("cpu")) == "bf16" else "none"
    counts = sorted({1, job.cpu_processes})
    main_job = [
        Setting("main job", job.model, job.input_size, amp, processes, job.batch_size)
        for amp in AMPS
        for processes in counts
    ]
    before = Setting("before issue 23", job.model, job.input_size, auto, 1, BEFORE_BATCH)
    peers = [
        Setting("224x224", model, PEER_SIZE, "none", 1, PEER_BATCH) for model in ("sqnxt23_w1", "pytorchcv:sqnxt23_w1")
    ]
    return [*main_job, before, *peers]


def config_of(job: TrainConfig, setting: Setting, steps: int, out: Path) -> TrainConfig:
    """The main job's configuration with the setting's changes, or the 224x224 comparison's (synthetic
    3-channel images, standard stem)."""
    total = steps + WARMUP_STEPS
    if setting.input_size == job.input_size:
        changes: dict[str, Any] = {"train_subset": setting.batch * total}
    else:
        changes = {
            "model": setting.model, "data": "fake", "input_size": PEER_SIZE, "stem": "standard", "grey": "repeat",
            "transform": "small", "fake_images": setting.batch * total, "fake_classes": 10,
            "flavor": "pytorchcv" if setting.model.startswith("pytorchcv:") else "official",
        }  # fmt: skip
    return dataclasses.replace(
        job, **changes, amp=setting.amp, cpu_processes=setting.processes, batch_size=setting.batch, epochs=1,
        max_steps=total, log_every=LOG_EVERY, test_subset=64, progress=False, out=str(out), test_flip=False,
    )  # fmt: skip


def images_per_second(job: TrainConfig, setting: Setting, steps: int) -> float:
    """Training images per second of a real run over the logged windows after the warm-up."""
    with tempfile.TemporaryDirectory(prefix="train-speed-") as folder:
        run_training(config_of(job, setting, steps, Path(folder) / "run"))
        lines = (Path(folder) / "run" / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    timed = [r for r in records if r["kind"] == "step" and r["step"] > WARMUP_STEPS]
    return float(sum(r["images_per_s"] * r["seconds"] for r in timed) / sum(r["seconds"] for r in timed))


def forward_macs(config: TrainConfig) -> int:
    """Forward MACs per image of the model a configuration trains, traced as built (stem, input channels)."""
    channels = 1 if config.data.startswith("fashion-mnist") and config.grey == "stem" else 3
    layers = traced_workload(Trainer(config).model, config.model, config.input_size, channels, "trained").layers
    return sum(layer.macs for layer in layers)


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=positive_int, default=40, help=f"timed steps (a multiple of {LOG_EVERY})")
    parser.add_argument("--rounds", type=positive_int, default=2)
    parser.add_argument(
        "--json", type=Path, default=ROOT / "docs" / "results" / f"train_speed-{CPU_KIND_PLACEHOLDER}.json"
    )
    args = parser.parse_args()
    if args.steps % LOG_EVERY:
        parser.error(f"--steps must be a multiple of {LOG_EVERY}, got {args.steps}")
    out = with_cpu_kind(args.json)
    check_writable(out)
    job = load_config(ROOT / "configs" / "fashion_mnist.yaml")
    threads = torch.get_num_threads()
    rates = {amp: matmul_gmacs(threads, precision="fp32" if amp == "none" else "bf16") for amp in AMPS}
    best = best_of_rounds(
        settings(job), lambda setting: images_per_second(job, setting, args.steps), args.rounds, float,
        lower_is_better=False,
    )  # fmt: skip
    before = next(rate for setting, rate in best.items() if setting.label == "before issue 23")
    results: list[dict[str, Any]] = []
    for setting, rate in best.items():
        macs = forward_macs(config_of(job, dataclasses.replace(setting, processes=1), 1, Path("unused")))
        gmacs = rate * BACKWARD_FACTOR * macs / 1e9
        same_input = setting.input_size == job.input_size
        results.append({**dataclasses.asdict(setting), "images_per_s": rate, "train_gmacs_per_s": gmacs,
                        "fraction_of_matmul": gmacs / rates[setting.amp],
                        "vs_before": rate / before if same_input else None})  # fmt: skip
    rows = [
        [r["label"], r["model"], r["amp"], r["processes"], r["batch"], f"{r['images_per_s']:.0f}",
         f"{r['train_gmacs_per_s']:.1f}", f"{100 * r['fraction_of_matmul']:.1f}%",
         "" if r["vs_before"] is None else f"{r['vs_before']:.2f}x"]
        for r in results
    ]  # fmt: skip
    headers = ["setting", "model", "amp", "processes", "batch", "images/s", "GMAC/s", "of matmul", "vs before"]
    print(format_table(headers, rows))
    machine = {**machine_summary(), "torch": torch.__version__, "threads": threads}
    write_json(out, {"command": "python benchmarks/train_speed.py", "machine": machine, "steps": args.steps,
                     "rounds": args.rounds, "matmul_gmacs_per_s": rates, "results": results})  # fmt: skip
    matmul = f"matmul fp32 {rates['none']:.0f}, bf16 {rates['bf16']:.0f} GMAC/s"
    print(f"\n{cpu_model()} ({', '.join(cpu_extensions())}); {matmul}; wrote {out}")


if __name__ == "__main__":
    run_script(main)
