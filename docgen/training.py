"""Trained-model results: the main job (docs/results/main_job-KIND.json), int8 accuracy, fine-tuning
(finetune.json), the one-recipe Fashion-MNIST table (fashion_mnist_table.json) and GPU training throughput
(gpu_train_speed*.json), in the README and docs/training.md."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from docgen.committed import RESULTS, ROOT, machine_cpu, machine_kind, per_kind, read, relative, result
from squeezenext.fileio import file_sha256, read_jsonl
from squeezenext.tables import markdown_table
from squeezenext.train.recipes import EARLIER_MAIN_JOB

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


MAIN_JOB_CONFIG = ROOT / "configs" / "fashion_mnist.yaml"


def main_jobs() -> list[tuple[Path, dict[str, Any]]]:
    """Every committed main-job result, by CPU kind."""
    return [(path, read(path)) for path in per_kind(MAIN_JOB)]


def runs_current_config(job: dict[str, Any]) -> bool:
    """Whether a committed main-job result ran today's configs/fashion_mnist.yaml (same SHA-256)."""
    return bool(job["config_sha256"] == file_sha256(MAIN_JOB_CONFIG))


def _recipe(job: dict[str, Any]) -> str:
    return "current" if runs_current_config(job) else "earlier"


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
                "current" if runs_current_config(job) else f"earlier (before issue 23: {_changes(EARLIER_MAIN_JOB)})",
                f"`{relative(path)}`",
            ]
        )
    return (
        "The main job (`make run`), 1.0-SqNxt-23 on the 10,000 Fashion-MNIST test images, as measured on each kind of "
        "CPU so far (`python benchmarks/main_job.py --seeds 0,1,2 --reuse` runs the same configuration; seed 0 is "
        "what `make run` gives; the seed tables: [docs/training.md](docs/training.md)):\n\n"
        + markdown_table(
            ["CPU kind", "top-1, seed 0", "minutes of training", "mean over seeds", "recipe", "file"], rows
        )
        + "\n\nA kind measured with an earlier configs/fashion_mnist.yaml (another SHA-256 in its file) is rerun "
        "there with `python benchmarks/main_job.py --seeds 0,1,2`."
    )


def readme_int8() -> str:
    """The README's int8-accuracy sentence, per CPU kind."""
    parts = []
    for _, job in main_jobs():
        int8 = job["int8"]
        parts.append(
            f"{machine_kind(job['machine'])} ({_recipe(job)} recipe): {int8['fp32_top1']:.2f}% "
            f"(fp32 ONNX) -> {int8['int8_top1']:.2f}% (int8), "
            f"{int8['change_points']:+.2f} points, the two agreeing on {100 * int8['top1_agreement']:.1f}% of images"
        )
    return (
        "int8 accuracy of the main job's seed-0 model (`squeezenext export runs/fashion_mnist/model.pt --out "
        "model.onnx --int8`, run by `python benchmarks/main_job.py`) on the 10,000 Fashion-MNIST test images, one view "
        "per image (the exported model does not average mirror images as the training run's evaluation does): "
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
            f"{machine_cpu(job['machine'])}, {job['machine']['cpus']} cores, {_recipe(job)} recipe "
            f"(`{job['command']}`, `{relative(path)}`, with the machine it ran on and the configuration file's "
            "SHA-256):",
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
        "The Fashion-MNIST main job of the earlier recipe (batch 64) on the H200 (`squeezenext train --config "
        "configs/fashion_mnist.yaml --device cuda`, one process: `cpu_processes` applies to CPUs only) logged a "
        f"median of {median:,.0f} images/s over its step windows ({relative(path)}, the run's own "
        f"`metrics.jsonl`; stopped by the lease's time limit after {max(r['step'] for r in steps):,} steps)."
    )


TRAIN_SPEED = "train_speed-*.json"
"""CPU training throughput per kind (``python benchmarks/train_speed.py``)."""


def _speed_row(row: dict[str, Any]) -> list[str]:
    """One row of a train-speed table; files from before issue 23 hold only the main job at batch 64, one
    process, without the matmul share."""
    if "label" not in row:
        layout = "channels-last" if row["channels_last"] else "contiguous"
        return [f"main job before issue 23 ({layout})", row["amp"], "1", "64", f"{row['images_per_s']:.0f}", "", ""]
    share = f"{100 * row['fraction_of_matmul']:.1f}%"
    ratio = "" if row["vs_before"] is None else f"{row['vs_before']:.2f}x"
    model = "" if row["model"] == "sqnxt23_w1" else f", {row['model']}"
    setting = f"{row['label']}{model}"
    values = [row["amp"], str(row["processes"]), str(row["batch"]), f"{row['images_per_s']:.0f}", share, ratio]
    return [setting, *values]


def train_speed() -> str:
    """docs/training.md's CPU training-throughput tables, one per committed train_speed-KIND.json."""
    sections = []
    for path in per_kind(TRAIN_SPEED):
        found = read(path)
        machine = found["machine"]
        rows = [_speed_row(row) for row in found["results"]]
        rates = found.get("matmul_gmacs_per_s")
        matmul = f"; matmul fp32 {rates['none']:.0f}, bf16 {rates['bf16']:.0f} GMAC/s" if rates else ""
        sections += [
            f"{machine_kind(machine)}: {machine_cpu(machine)}, {machine['threads']} threads, torch "
            f"{machine['torch']}{matmul} (`{relative(path)}`):",
            "",
            markdown_table(["setting", "amp", "processes", "batch", "images/s", "of matmul", "vs before"], rows),
            "",
        ]
    return "\n".join(sections).rstrip("\n")


RECIPE_TRIALS = "recipe_trials-*.json"
"""The trials that chose the main job's recipe (issue 23), per CPU kind."""


def _changes(changes: dict[str, Any]) -> str:
    """``key value, ...`` as a configuration file writes them (``true``, not ``True``)."""
    written = (f"{key} {str(value).lower() if isinstance(value, bool) else value}" for key, value in changes.items())
    return ", ".join(written) or "none (the earlier recipe)"


def main_job_trials() -> str:
    """docs/training.md's table of the recipe trials, one per committed recipe_trials-KIND.json."""
    sections = []
    for path in per_kind(RECIPE_TRIALS):
        found = read(path)
        rows = [
            [
                f"{trial['name']}{' *' if trial['shared'] else ''}",
                _changes(trial["changes"]),
                f"{trial['top1']:.2f}",
                f"{trial['top1_test_flip']:.2f}",
                f"{trial['minutes']:.1f}",
            ]
            for trial in found["trials"]
        ]
        sections += [
            f"{machine_cpu(found['machine'])}, {found['machine']['cpus']} cores (`{relative(path)}`: each trial's "
            "command, run from today's configuration):",
            "",
            markdown_table(["trial", "changes from the earlier recipe", "top-1 (%)", "mirrored (%)", "minutes"], rows),
            "",
            found["note"],
            "",
        ]
    return "\n".join(sections).rstrip("\n")


MAKE_RUN_LOG = "make_run-*.log"
"""`make run` on a clean clone, timed (``/usr/bin/time -f 'make run: %e s'``), with its output, per CPU kind."""


def make_run_times() -> str:
    """docs/training.md's sentence on how long `make run` takes in all, from each committed log."""
    parts = []
    for path in per_kind(MAKE_RUN_LOG):
        lines = path.read_text().splitlines()
        seconds = float(next(line for line in reversed(lines) if line.startswith("make run: ")).split()[2])
        top1 = next(line for line in reversed(lines) if ": test top-1 " in line).split("test top-1 ")[1].split("%")[0]
        kind = path.stem.removeprefix("make_run-")
        parts.append(f"{kind}: {seconds / 60:.1f} minutes in all, {top1}% (`{relative(path)}`)")
    return (
        "`make run` on a clean clone, installation included (`git clone`, then `/usr/bin/time -f 'make run: %e s' "
        "make run`): " + "; ".join(parts) + "."
    )
