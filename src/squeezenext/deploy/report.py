"""Tables, targets and a plot from ``squeezenext bench`` results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from squeezenext.deploy.backends import BF16_BACKENDS, PYTORCH_BACKENDS, REDUCED_PRECISION_BACKENDS
from squeezenext.machine import cpu_label, native_bf16
from squeezenext.paper import PAPER_RATIOS
from squeezenext.peers import PEERS
from squeezenext.plotting import save_figure, subplots
from squeezenext.sources import short_label
from squeezenext.tables import format_table, markdown_table

SQUEEZENET_SPEEDUP = PAPER_RATIOS["SqueezeNet 1.0"][0]
"""The paper's speed-up of 1.0-SqNxt-23v5 over SqueezeNet (on its simulated accelerator)."""
V5, SQUEEZENET = "sqnxt23v5_w1", PEERS["SqueezeNet 1.0"]
MATMUL_FRACTION = 0.70
RUNTIME_COMPARISONS = ("onnxruntime", "onnxruntime-rewritten", "openvino", "openvino-bf16")
"""The deployment runtimes in which v5 is compared with SqueezeNet 1.0 (the PyTorch backends are compared too)."""
INT8_SPEEDUP = 1.5


def _entry(results: list[dict[str, Any]], model: str, backend: str, batch: int) -> dict[str, Any] | None:
    for entry in results:
        if (entry["model"], entry["backend"], entry["batch"]) == (model, backend, batch) and "median_ms" in entry:
            return entry
    return None


def _median(results: list[dict[str, Any]], model: str, backend: str, batch: int) -> float | None:
    entry = _entry(results, model, backend, batch)
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
"""The backend whose peak memory the README's table shows (the deployment runtime; every case's is in the JSON)."""


def _cpu(env: dict[str, Any]) -> str:
    """The run's CPU model with its vector/matrix extensions, e.g. ``AMD EPYC (AVX2, FMA)``."""
    return cpu_label(env["processor"], env.get("cpu_extensions") or [])


def machine_line(payload: dict[str, Any]) -> str:
    """The machine every column of a run came from: CPU model, extensions, threads, runtime versions."""
    env = payload["environment"]
    runtimes = f"onnxruntime {env['onnxruntime']}" + (f", OpenVINO {env['openvino']}" if env.get("openvino") else "")
    threads = f"{env['threads']} threads"
    return f"All columns: {_cpu(env)}, {threads}, torch {env['torch']}, {runtimes}."


def run_line(payload: dict[str, Any]) -> str:
    """The README's sentence on how the run was made: rounds and this machine's matmul rate in the same run."""
    return (
        f"Median latency from one `squeezenext bench` run ({payload['rounds']} interleaved rounds, each case's "
        f"best kept; fp32 matrix multiply in the same run: {payload['matmul_gmacs_per_s']:.1f} GMAC/s)."
    )


def latency_markdown(payload: dict[str, Any]) -> str:
    """The README's table: one row per model, one column per backend, median ms at each batch size, the
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
            values = [_median(results, model, backend, batch) for batch in batches]
            cells.append(" / ".join("failed" if v is None else f"{v:.1f}" for v in values))
        if with_memory:
            entries = [_entry(results, model, MEMORY_BACKEND, batch) for batch in batches]
            cells.append(" / ".join(f"{e['peak_rss_mib']:.0f}" if e else "failed" for e in entries))
        rows.append([model, *cells])
    return markdown_table(headers, rows) + "\n" + machine_line(payload) + "\n"


def _fastest(payload: dict[str, Any], batch: int, fp32_only: bool) -> dict[str, tuple[float, str]]:
    fastest: dict[str, tuple[float, str]] = {}
    for entry in payload["results"]:
        reduced = entry["backend"] in REDUCED_PRECISION_BACKENDS
        if entry["batch"] != batch or "median_ms" not in entry or (fp32_only and reduced):
            continue
        best = fastest.get(entry["model"])
        if best is None or entry["median_ms"] < best[0]:
            fastest[entry["model"]] = (entry["median_ms"], entry["backend"])
    return fastest


def fastest_backends(payload: dict[str, Any], batch: int = 1) -> dict[str, str]:
    """Per model, the backend with the lowest median latency at ``batch`` in this run."""
    return {model: backend for model, (_, backend) in _fastest(payload, batch, fp32_only=False).items()}


def fastest_line(payload: dict[str, Any], models: tuple[str, ...], batch: int = 1) -> str:
    """The README's sentence: for each of ``models``, the fastest backend at ``batch`` and the fastest fp32 one,
    on the machine of the run."""
    overall, fp32 = _fastest(payload, batch, fp32_only=False), _fastest(payload, batch, fp32_only=True)
    parts = [
        f"{model} {overall[model][1]} ({overall[model][0]:.2f} ms; fp32: {fp32[model][1]}, {fp32[model][0]:.2f} ms)"
        for model in models
        if model in overall and model in fp32
    ]
    return f"Fastest at batch {batch} on {_cpu(payload['environment'])}: {'; '.join(parts)}."


MACHINE_COMPARISONS = ("onnxruntime", "openvino", "onnxruntime-int8", "openvino-int8", "openvino-bf16")
"""Runtimes in which the per-CPU-kind table compares 1.0-SqNxt-23v5 with SqueezeNet 1.0 at batch 1."""


def machines_markdown(payloads: list[dict[str, Any]]) -> str:
    """One row per bench run (one per CPU kind): v5's speed-up over SqueezeNet 1.0 at batch 1 in each runtime
    of :data:`MACHINE_COMPARISONS`, and v5's fastest runtime (overall and fp32), with their latencies."""
    rows = []
    for payload in payloads:
        env, results = payload["environment"], payload["results"]
        cells = []
        for backend in MACHINE_COMPARISONS:
            v5, squeezenet = _median(results, V5, backend, 1), _median(results, SQUEEZENET, backend, 1)
            without_bf16 = backend in BF16_BACKENDS and not native_bf16(env.get("cpu_extensions") or [])
            if v5 is None or squeezenet is None:
                cells.append("no native bf16" if without_bf16 else "not measured")
            else:
                cells.append(f"{squeezenet / v5:.2f}x ({v5:.2f} vs {squeezenet:.2f} ms)")
        overall, fp32 = _fastest(payload, 1, fp32_only=False), _fastest(payload, 1, fp32_only=True)
        fastest = [f"{best[V5][1]} ({best[V5][0]:.2f} ms)" if V5 in best else "" for best in (overall, fp32)]
        rows.append([f"{_cpu(env)}, {env['threads']} threads", *cells, *fastest])
    headers = [
        "CPU",
        *(f"v5 vs SqueezeNet 1.0, {backend}" for backend in MACHINE_COMPARISONS),
        "fastest for v5",
        "fastest fp32 for v5",
    ]
    return markdown_table(headers, rows)


def check_targets(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's speed targets as ratios from this run: each with the measured ratio and the goal."""
    results = payload["results"]
    checks: list[dict[str, Any]] = []

    def ratio(name: str, slow: float | None, fast: float | None, goal: float) -> None:
        if slow is None or fast is None:
            checks.append({"target": name, "ratio": None, "goal": goal, "met": None})
            return
        value = slow / fast
        checks.append({"target": name, "ratio": value, "goal": goal, "met": value >= goal})

    for backend in (*RUNTIME_COMPARISONS, "eager", "eager-opt", "torchscript"):
        if not any(e["backend"] == backend for e in results):
            continue
        v5 = _median(results, V5, backend, 1)
        ratio(
            f"v5 vs SqueezeNet 1.0, {backend}, batch 1",
            _median(results, SQUEEZENET, backend, 1),
            v5,
            SQUEEZENET_SPEEDUP,
        )
        for peer in ("torchvision:squeezenet1_1", "torchvision:mobilenet_v2"):
            ratio(f"v5 vs {peer.split(':')[1]}, {backend}, batch 1", _median(results, peer, backend, 1), v5, 1.0)
    backends = sorted({e["backend"] for e in results})
    for backend in backends:
        for batch in sorted({e["batch"] for e in results}):
            ours = _median(results, "sqnxt23_w1", backend, batch)
            ratio(
                f"sqnxt23_w1 vs pytorchcv, {backend}, batch {batch}",
                _median(results, "pytorchcv:sqnxt23_w1", backend, batch),
                ours,
                1.0,
            )
    for batch in sorted({e["batch"] for e in results}):
        shipped = _median(results, "pytorchcv:sqnxt23_w1", "eager", batch)
        for name, ours_backends in (("eager-opt", ("eager", "eager-opt")), ("PyTorch", PYTORCH_BACKENDS)):
            best = min(filter(None, [_median(results, "sqnxt23_w1", b, batch) for b in ours_backends]), default=None)
            ratio(f"sqnxt23_w1 best {name} vs pytorchcv as shipped (eager), batch {batch}", shipped, best, 2.0)
    for entry in results:
        fp32 = entry["backend"] in ("onnxruntime", "onnxruntime-rewritten", "eager-opt", "torchscript", "compile")
        if entry["model"] == "sqnxt23_w1" and entry["batch"] == 32 and "fraction_of_matmul" in entry and fp32:
            checks.append(
                {
                    "target": f"sqnxt23_w1 fp32 {entry['backend']} batch 32: fraction of matmul rate",
                    "ratio": entry["fraction_of_matmul"],
                    "goal": MATMUL_FRACTION,
                    "met": entry["fraction_of_matmul"] >= MATMUL_FRACTION,
                }
            )
    for model in ("sqnxt23_w1", "sqnxt23v5_w1"):
        for batch in sorted({e["batch"] for e in results}):
            ratio(
                f"{model} int8 vs fp32 onnxruntime, batch {batch}",
                _median(results, model, "onnxruntime", batch),
                _median(results, model, "onnxruntime-int8", batch),
                INT8_SPEEDUP,
            )
    return checks


def targets_table(checks: list[dict[str, Any]]) -> str:
    """Targets with the measured ratio, the goal and how far off a missed one is."""
    rows = []
    for check in checks:
        if check["ratio"] is None:
            rows.append([check["target"], "not measured", f"{check['goal']:.2f}", ""])
            continue
        shortfall = 100 * (1 - check["ratio"] / check["goal"])
        status = "met" if check["met"] else f"MISSED by {shortfall:.0f}%" if shortfall >= 1 else "MISSED by <1%"
        rows.append([check["target"], f"{check['ratio']:.2f}", f"{check['goal']:.2f}", status])
    return format_table(["target", "measured", "goal", "status"], rows)


def plot_latency(payload: dict[str, Any], path: str | Path, batch: int = 1) -> None:
    """Median latency per model, one bar per backend."""
    results = [e for e in payload["results"] if e["batch"] == batch and "median_ms" in e]
    models = list(dict.fromkeys(e["model"] for e in results))
    backends = list(dict.fromkeys(e["backend"] for e in results))
    width = 0.8 / max(len(backends), 1)
    figure, axis = subplots(figsize=(max(8, 1.3 * len(models)), 4.5))
    for i, backend in enumerate(backends):
        values = [_median(results, m, backend, batch) or 0.0 for m in models]
        axis.bar([j + i * width for j in range(len(models))], values, width, label=backend)
    labels = [short_label(m) for m in models]
    axis.set_xticks([j + 0.4 - width / 2 for j in range(len(models))], labels, rotation=30)
    axis.set_ylabel(f"median latency, batch {batch} (ms)")
    axis.legend()
    axis.set_title(f"Inference on {payload['environment']['processor']} ({payload['environment']['threads']} threads)")
    save_figure(figure, path)
