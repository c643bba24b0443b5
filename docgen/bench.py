"""The speed tables of ``squeezenext bench`` runs: one committed run per CPU kind (``docs/bench/KIND.json``).

The README shows one row per kind (:func:`machines_markdown`); docs/deploy.md shows each run in full, with
its targets (:mod:`docgen.targets`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docgen.committed import BENCH, read, relative
from docgen.targets import SQUEEZENET, V5, check_targets, targets_table
from squeezenext.deploy.backends import BF16_BACKENDS
from squeezenext.deploy.bench import OURS
from squeezenext.deploy.report import fastest, latency_markdown, median_ms, run_cpu
from squeezenext.machine import native_bf16
from squeezenext.tables import markdown_table

MACHINE_COMPARISONS = ("onnxruntime", "openvino", "onnxruntime-int8", "openvino-int8", "openvino-bf16")
"""Runtimes in which the per-CPU-kind table compares 1.0-SqNxt-23v5 with SqueezeNet 1.0 at batch 1."""


def runs() -> list[tuple[Path, dict[str, Any]]]:
    """The committed runs, one per CPU kind, sorted by kind."""
    return [(path, read(path)) for path in sorted(BENCH.glob("*.json"))]


def missing_bench_plots() -> list[Path]:
    """The plots of committed runs that have none (each run's plot is drawn from its JSON; an existing plot is
    kept: the bench draws it from the same numbers, and PNG bytes differ between Matplotlib versions)."""
    return [path.with_suffix(".png") for path, _ in runs() if not path.with_suffix(".png").exists()]


def run_line(payload: dict[str, Any]) -> str:
    """How a run was made: rounds, and the machine's matmul rates measured in the same run (int8's since the
    bench measures it: an int8 case's share of the machine is of that rate)."""
    rates = f"fp32 matrix multiply in the same run: {payload['matmul_gmacs_per_s']:.1f} GMAC/s"
    if "int8_matmul_gmacs_per_s" in payload:
        rates += f", int8: {payload['int8_matmul_gmacs_per_s']:.1f} GMAC/s"
    return (
        f"Median latency from one `squeezenext bench` run ({payload['rounds']} interleaved rounds, each case's "
        f"best kept; {rates})."
    )


INT8_PAIRS = (("onnxruntime", "onnxruntime-int8"), ("openvino", "openvino-int8"))
"""The runtimes in which int8 and fp32 run the same exported network (the int8 QDQ file and the fp32 file)."""


def int8_gains_markdown(payloads: list[dict[str, Any]]) -> str:
    """Per CPU kind and runtime: how much int8 speeds up 1.0-SqNxt-23v5 and SqueezeNet 1.0 at batch 1 (fp32 ms /
    int8 ms), and so what happens to v5's lead."""
    rows = []
    for payload in payloads:
        env, results = payload["environment"], payload["results"]
        for fp32, int8 in INT8_PAIRS:
            times = {
                (model, backend): median_ms(results, model, backend, 1)
                for model in (V5, SQUEEZENET)
                for backend in (fp32, int8)
            }
            if any(ms is None for ms in times.values()):
                continue
            gain = {model: times[model, fp32] / times[model, int8] for model in (V5, SQUEEZENET)}  # type: ignore[operator]
            lead = {backend: times[SQUEEZENET, backend] / times[V5, backend] for backend in (fp32, int8)}  # type: ignore[operator]
            rows.append(
                [f"{run_cpu(env)}, {env['threads']} threads", fp32, f"{gain[V5]:.2f}x", f"{gain[SQUEEZENET]:.2f}x",
                 f"{lead[fp32]:.2f}x -> {lead[int8]:.2f}x"]
            )  # fmt: skip
    headers = ["CPU", "runtime", "int8 speed-up, v5", "int8 speed-up, SqueezeNet 1.0", "v5's lead, fp32 -> int8"]
    return markdown_table(headers, rows)


def deploy_int8_gains() -> str:
    """docs/deploy.md's int8 table, from every committed run."""
    found = runs()
    return (
        int8_gains_markdown([payload for _, payload in found])
        + "\n\nFrom "
        + ", ".join(f"`{relative(path)}`" for path, _ in found)
        + " (batch 1, each run's own timings)."
    )


def fastest_line(payload: dict[str, Any], models: tuple[str, ...], batch: int = 1) -> str:
    """For each of ``models``, the fastest backend at ``batch`` and the fastest fp32 one, on the run's CPU."""
    overall, fp32 = fastest(payload, batch, fp32_only=False), fastest(payload, batch, fp32_only=True)
    parts = [
        f"{model} {overall[model][1]} ({overall[model][0]:.2f} ms; fp32: {fp32[model][1]}, {fp32[model][0]:.2f} ms)"
        for model in models
        if model in overall and model in fp32
    ]
    return f"Fastest at batch {batch} on {run_cpu(payload['environment'])}: {'; '.join(parts)}."


def machines_markdown(payloads: list[dict[str, Any]]) -> str:
    """One row per run (one per CPU kind): v5's speed-up over SqueezeNet 1.0 at batch 1 in each runtime of
    :data:`MACHINE_COMPARISONS`, and v5's fastest runtime (overall and fp32), with their latencies."""
    rows = []
    for payload in payloads:
        env, results = payload["environment"], payload["results"]
        cells = []
        for backend in MACHINE_COMPARISONS:
            v5, squeezenet = median_ms(results, V5, backend, 1), median_ms(results, SQUEEZENET, backend, 1)
            without_bf16 = backend in BF16_BACKENDS and not native_bf16(env.get("cpu_extensions") or [])
            if v5 is None or squeezenet is None:
                cells.append("no native bf16" if without_bf16 else "not measured")
            else:
                cells.append(f"{squeezenet / v5:.2f}x ({v5:.2f} vs {squeezenet:.2f} ms)")
        overall, fp32 = fastest(payload, 1, fp32_only=False), fastest(payload, 1, fp32_only=True)
        best = [f"{b[V5][1]} ({b[V5][0]:.2f} ms)" if V5 in b else "" for b in (overall, fp32)]
        rows.append([f"{run_cpu(env)}, {env['threads']} threads", *cells, *best])
    headers = [
        "CPU",
        *(f"v5 vs SqueezeNet 1.0, {backend}" for backend in MACHINE_COMPARISONS),
        "fastest for v5",
        "fastest fp32 for v5",
    ]
    return markdown_table(headers, rows)


def readme_machines() -> str:
    """The README's table: every committed run, one row per CPU kind, and where each full run is."""
    found = runs()
    files = ", ".join(f"`{relative(path)}`" for path, _ in found)
    return (
        machines_markdown([payload for _, payload in found])
        + f"\n\nFrom {files}; each run in full, with its plot and the project's speed targets: "
        "[docs/deploy.md](docs/deploy.md#every-committed-run)."
    )


def deploy_runs() -> str:
    """docs/deploy.md's section: each committed run's latency table, fastest backends, plot and targets."""
    lines: list[str] = []
    for path, payload in runs():
        env = payload["environment"]
        lines += [
            f"### {run_cpu(env)}, {env['threads']} threads (`{relative(path)}`)",
            "",
            run_line(payload),
            "",
            latency_markdown(payload).rstrip("\n"),
            "",
            fastest_line(payload, OURS),
            "",
            f"![batch-1 latency per model and backend, {path.stem}](../{relative(path.with_suffix('.png'))})",
            "",
            "The speed targets, as ratios between cases of this run (docgen/targets.py):",
            "",
            "```",
            targets_table(check_targets(payload)),
            "```",
            "",
        ]
    return "\n".join(lines)
