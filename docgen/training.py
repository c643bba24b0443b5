"""Trained-model results: the main job (docs/results/main_job-KIND.json), int8 accuracy, fine-tuning
(finetune.json), the one-recipe Fashion-MNIST table (fashion_mnist_table.json) and GPU training throughput
(gpu_train_speed*.json), in the README and docs/training.md."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from docgen.committed import RESULTS, machine_cpu, machine_kind, per_kind, read, relative, result
from squeezenext.fileio import read_jsonl
from squeezenext.tables import markdown_table

DEFAULT_SEED = 0


def _default_run(job: dict[str, Any]) -> dict[str, Any]:
    run: dict[str, Any] = next(run for run in job["runs"] if run["seed"] == DEFAULT_SEED)
    return run


def _seeds_summary(job: dict[str, Any]) -> str:
    return (
        f"the mean is {job['top1_mean']:.2f}% (worst {job['top1_worst']:.2f}%, spread {job['top1_spread']:.2f} points)"
    )


MAIN_JOB = "main_job-*.json"
"""One committed main-job result per CPU kind (``python benchmarks/main_job.py``)."""


def main_jobs() -> list[tuple[Path, dict[str, Any]]]:
    """Every committed main-job result, by CPU kind."""
    return [(path, read(path)) for path in per_kind(MAIN_JOB)]


def readme_main_job() -> str:
    """The README's main-job table: per CPU kind, the default seed's figures and the seeds' mean."""
    rows = []
    for path, job in main_jobs():
        run = _default_run(job)
        seeds = ", ".join(str(r["seed"]) for r in job["runs"])
        rows.append(
            [
                f"{machine_kind(job['machine'])} ({machine_cpu(job['machine'])}, {job['machine']['cpus']} cores)",
                f"**{run['top1']:.2f}%**",
                f"{run['seconds'] / 60:.1f}",
                f"{job['top1_mean']:.2f}% (worst {job['top1_worst']:.2f}%, seeds {seeds})",
                f"`{relative(path)}`",
            ]
        )
    return (
        "The main job (`make run`), 1.0-SqNxt-23 on the 10,000 Fashion-MNIST test images, as measured on each kind of "
        "CPU so far (`python benchmarks/main_job.py --seeds 0,1,2 --reuse` runs the same configuration; seed 0 is "
        "what `make run` gives; the seed tables: [docs/training.md](docs/training.md)):\n\n"
        + markdown_table(["CPU kind", "top-1, seed 0", "minutes of training", "mean over seeds", "file"], rows)
    )


def readme_int8() -> str:
    """The README's int8-accuracy sentence, per CPU kind."""
    parts = []
    for _, job in main_jobs():
        int8 = job["int8"]
        parts.append(
            f"{machine_kind(job['machine'])}: {int8['fp32_top1']:.2f}% (fp32 ONNX) -> {int8['int8_top1']:.2f}% (int8), "
            f"{int8['change_points']:+.2f} points, the two agreeing on {100 * int8['top1_agreement']:.1f}% of images"
        )
    return (
        "int8 accuracy of the main job's seed-0 model (`squeezenext export runs/fashion_mnist/model.pt --out "
        "model.onnx --int8`, run by `python benchmarks/main_job.py`) on the 10,000 Fashion-MNIST test images: "
        + "; ".join(parts)
        + "."
    )


def training_seeds() -> str:
    """docs/training.md's table of every seed of the main job, per CPU kind."""
    sections = []
    for path, job in main_jobs():
        rows = [
            [
                f"{run['seed']} (the default, what `make run` gives)" if run["seed"] == DEFAULT_SEED else run["seed"],
                f"{run['top1']:.2f}",
                f"{run['top5']:.2f}",
                f"{run['seconds'] / 60:.1f}",
            ]
            for run in job["runs"]
        ]
        int8 = job["int8"]
        sections += [
            f"{machine_cpu(job['machine'])}, {job['machine']['cpus']} cores (`{job['command']}`, `{relative(path)}`, "
            "with the machine it ran on and the configuration file's SHA-256):",
            "",
            markdown_table(["seed", "top-1 (%)", "top-5 (%)", "minutes of training"], rows),
            "",
            f"Mean {job['top1_mean']:.2f}%, worst seed {job['top1_worst']:.2f}%, spread {job['top1_spread']:.2f} "
            f"points. int8 (seed {DEFAULT_SEED}): {int8['fp32_top1']:.2f}% -> {int8['int8_top1']:.2f}% "
            f"({int8['change_points']:+.2f} points).",
            "",
        ]
    return "\n".join(sections).rstrip("\n")


def _finetune() -> dict[str, Any]:
    return result("finetune.json")


def finetune_gain() -> str:
    found = _finetune()
    seeds = len({run["seed"] for run in found["runs"]})
    summary = found["summary"]
    return (
        f"reached {summary['fine-tuned']['top1_mean']:.2f}% against {summary['scratch']['top1_mean']:.2f}% from "
        f"scratch in the same budget ({found['gain_points']:+.2f} points, mean of {seeds} seeds; "
        f"`{found['command']}`, docs/results/finetune.json, {machine_cpu(found['machine'])})"
    )


def backbone_finetune() -> str:
    """docs/backbone.md's sentence on the fine-tuning example."""
    found = _finetune()
    return (
        "The main job's checkpoint fine-tuned to Fashion-MNIST's classes merged into 5 groups, from "
        f"{found['task']['train_subset']:,} training images, {finetune_gain()}; table in "
        "[training.md](training.md#fine-tuning)."
    )


def training_finetune() -> str:
    found = _finetune()
    summary = found["summary"]
    rows = [[arm, f"{s['top1_mean']:.2f}", f"{s['top1_worst']:.2f}-{s['top1_best']:.2f}"] for arm, s in summary.items()]
    every_seed = summary["fine-tuned"]["top1_worst"] > summary["scratch"]["top1_best"]
    return "\n".join(
        [
            markdown_table(["start", "top-1 mean (%)", "range (%)"], rows),
            "",
            f"Fine-tuning gains {found['gain_points']:+.2f} points on average"
            + (" and wins on every seed." if every_seed else "; it does not win on every seed."),
        ]
    )


def fashion_table() -> str:
    """docs/training.md's one-recipe table of ours and the peers, and the paper's claim checked on it."""
    found = result("fashion_mnist_table.json")
    results = found["results"]
    rows = [
        [r["label"], f"{r['params']:,}", f"{r['top1']:.2f}", f"{r['top5']:.2f}", f"{r['seconds'] / 60:.1f}"]
        for r in results
    ]
    by_model = {r["model"]: r for r in results}
    ours, alexnet = by_model["sqnxt23_w1"], by_model["torchvision:alexnet"]
    ratio = alexnet["params"] / ours["params"]
    holds = ours["top1"] >= alexnet["top1"]
    return "\n".join(
        [
            f"From `{found['command']}` (docs/results/fashion_mnist_table.json; {machine_cpu(found['machine'])}, "
            f"{found['machine']['cpus']} cores; {found['epochs']} epoch{'' if found['epochs'] == 1 else 's'} each at "
            f"{found['input_size']}x{found['input_size']}):",
            "",
            markdown_table(["model", "parameters", "test top-1 (%)", "test top-5 (%)", "train minutes"], rows),
            "",
            f"1.0-SqNxt-23 has {ratio:.0f}x fewer parameters than AlexNet and {ours['top1'] - alexnet['top1']:+.2f} "
            "points of top-1 against it: on this data and budget the paper's claim (AlexNet's accuracy with about "
            f"100x fewer parameters) {'holds' if holds else 'does not hold'}.",
        ]
    )


def _gpu_label(machine: dict[str, Any]) -> str:
    cudnn = machine["cudnn"]
    return (
        f"one {machine['gpu']} (PyTorch {machine['torch']}, cuDNN {cudnn // 10000}.{cudnn // 100 % 100}; "
        f"host: {machine['cpu']})"
    )


def gpu_throughput() -> str:
    """docs/training.md's GPU tables, one per committed gpu_train_speed*.json."""
    lines: list[str] = []
    for path in per_kind("gpu_train_speed*.json"):
        found = read(path)
        rows = [
            [r["network"], r["build"], r["precision"], f"{r['images_per_s']:.0f}", f"{r['vs_pytorchcv']:.2f}"]
            for r in found["results"]
        ]
        modes = found["settings"].get("modes", ["eager"])
        lines += [
            f"On {_gpu_label(found['machine'])}, {', '.join(modes)} mode ({relative(path)}):",
            "",
            markdown_table(["network", "build", "precision", "images/s", "vs pytorchcv"], rows),
            "",
        ]
    return "\n".join(lines)


def gpu_main_job() -> str:
    """The GPU main job's throughput, the median of the run's own step log."""
    path = RESULTS / "gpu_main_job-h200.jsonl"
    steps = [row for row in read_jsonl(path) if row["kind"] == "step"]
    median = statistics.median(row["images_per_s"] for row in steps)
    return (
        "The Fashion-MNIST main job on the H200 (`squeezenext train --config configs/fashion_mnist.yaml --device "
        f"cuda`) logged a median of {median:,.0f} images/s over its step windows ({relative(path)}, the run's own "
        f"`metrics.jsonl`; stopped by the lease's time limit after {max(r['step'] for r in steps):,} steps)."
    )
