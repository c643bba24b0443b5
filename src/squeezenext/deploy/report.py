"""Tables and a plot from ``squeezenext bench`` results (the speed targets are the docs' business: docgen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from squeezenext.deploy.backends import REDUCED_PRECISION_BACKENDS
from squeezenext.machine import cpu_label
from squeezenext.plotting import save_figure, subplots
from squeezenext.sources import short_label
from squeezenext.tables import format_table, markdown_table


def measured_entry(results: list[dict[str, Any]], model: str, backend: str, batch: int) -> dict[str, Any] | None:
    """The measured case of ``model`` in ``backend`` at ``batch`` (None when it failed or was not run)."""
    for entry in results:
        if (entry["model"], entry["backend"], entry["batch"]) == (model, backend, batch) and "median_ms" in entry:
            return entry
    return None


def median_ms(results: list[dict[str, Any]], model: str, backend: str, batch: int) -> float | None:
    """That case's median latency in milliseconds."""
    entry = measured_entry(results, model, backend, batch)
    return None if entry is None else float(entry["median_ms"])


def results_table(payload: dict[str, Any]) -> str:
    """One row per measurement."""
    rows = []
    for e in payload["results"]:
        if "median_ms" not in e:
            rows.append([e["model"], e["backend"], e["batch"], "failed", "", "", "", "", e.get("error", "")])
            continue
        rows.append(
            [
                e["model"],
                e["backend"],
                e["batch"],
                f"{e['median_ms']:.2f}",
                f"{e['p90_ms']:.2f}",
                f"{e['images_per_s']:.1f}",
                f"{e['gmacs_per_s']:.1f}",
                f"{100 * e['fraction_of_matmul']:.0f}%",
                f"{e['peak_rss_mib']:.0f}" if e.get("peak_rss_mib") else "",
            ]
        )
    headers = ["model", "backend", "batch", "median ms", "p90 ms", "images/s", "GMAC/s", "of matmul", "peak MiB"]
    return format_table(headers, rows)


OWN_PEAK_MEMORY = "each case's own peak (VmHWM of its worker process)"
"""How ``peak_rss_mib`` is measured; results without this mark (older runs, whose workers inherited the
parent's peak) get no memory column."""
MEMORY_BACKEND = "onnxruntime"
"""The backend whose peak memory the latency table shows (the deployment runtime; every case's is in the JSON)."""


def run_cpu(env: dict[str, Any]) -> str:
    """The run's CPU model with its vector/matrix extensions, e.g. ``AMD EPYC (AVX2, FMA)``."""
    return cpu_label(env["processor"], env.get("cpu_extensions") or [])


def machine_line(payload: dict[str, Any]) -> str:
    """The machine every column of a run came from: CPU model, extensions, threads, runtime versions."""
    env = payload["environment"]
    runtimes = f"onnxruntime {env['onnxruntime']}" + (f", OpenVINO {env['openvino']}" if env.get("openvino") else "")
    threads = f"{env['threads']} threads"
    return f"All columns: {run_cpu(env)}, {threads}, torch {env['torch']}, {runtimes}."


def latency_markdown(payload: dict[str, Any]) -> str:
    """The run's table: one row per model, one column per backend, median ms at each batch size, the
    onnxruntime case's own peak memory, and the machine they all came from."""
    results = payload["results"]
    models = list(dict.fromkeys(e["model"] for e in results))
    backends = list(dict.fromkeys(e["backend"] for e in results))
    batches = sorted({e["batch"] for e in results})
    size = payload["input_size"]
    batch_label = " / ".join(str(b) for b in batches)
    headers = [f"model ({size}x{size})", *(f"{b} ms (batch {batch_label})" for b in backends)]
    with_memory = MEMORY_BACKEND in backends and payload.get("memory") == OWN_PEAK_MEMORY
    if with_memory:
        headers.append(f"{MEMORY_BACKEND} peak MiB (batch {batch_label})")
    rows = []
    for model in models:
        cells = []
        for backend in backends:
            values = [median_ms(results, model, backend, batch) for batch in batches]
            cells.append(" / ".join("failed" if v is None else f"{v:.1f}" for v in values))
        if with_memory:
            entries = [measured_entry(results, model, MEMORY_BACKEND, batch) for batch in batches]
            cells.append(" / ".join(f"{e['peak_rss_mib']:.0f}" if e else "failed" for e in entries))
        rows.append([model, *cells])
    return markdown_table(headers, rows) + "\n" + machine_line(payload) + "\n"


def fastest(payload: dict[str, Any], batch: int, fp32_only: bool) -> dict[str, tuple[float, str]]:
    """Per model, the lowest median latency at ``batch`` and its backend (``fp32_only``: among fp32 backends)."""
    best_of: dict[str, tuple[float, str]] = {}
    for entry in payload["results"]:
        reduced = entry["backend"] in REDUCED_PRECISION_BACKENDS
        if entry["batch"] != batch or "median_ms" not in entry or (fp32_only and reduced):
            continue
        best = best_of.get(entry["model"])
        if best is None or entry["median_ms"] < best[0]:
            best_of[entry["model"]] = (entry["median_ms"], entry["backend"])
    return best_of


def fastest_backends(payload: dict[str, Any], batch: int = 1) -> dict[str, str]:
    """Per model, the backend with the lowest median latency at ``batch`` in this run."""
    return {model: backend for model, (_, backend) in fastest(payload, batch, fp32_only=False).items()}


def plot_latency(payload: dict[str, Any], path: str | Path, batch: int = 1) -> None:
    """Median latency per model, one bar per backend."""
    results = [e for e in payload["results"] if e["batch"] == batch and "median_ms" in e]
    models = list(dict.fromkeys(e["model"] for e in results))
    backends = list(dict.fromkeys(e["backend"] for e in results))
    width = 0.8 / max(len(backends), 1)
    figure, axis = subplots(figsize=(max(8, 1.3 * len(models)), 4.5))
    for i, backend in enumerate(backends):
        values = [median_ms(results, m, backend, batch) or 0.0 for m in models]
        axis.bar([j + i * width for j in range(len(models))], values, width, label=backend)
    labels = [short_label(m) for m in models]
    axis.set_xticks([j + 0.4 - width / 2 for j in range(len(models))], labels, rotation=30)
    axis.set_ylabel(f"median latency, batch {batch} (ms)")
    axis.legend()
    axis.set_title(f"Inference on {payload['environment']['processor']} ({payload['environment']['threads']} threads)")
    save_figure(figure, path)
