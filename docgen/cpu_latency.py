"""docs/cpu_latency.md's results: every committed CPU latency profile (docs/results/cpu_profile-KIND-BACKEND.yaml,
``squeezenext calibrate``) and its validation (latency_model-KIND-BACKEND.json, benchmarks/latency_model.py)."""

from __future__ import annotations

from docgen.committed import machine_cpu, per_kind, read, relative
from squeezenext.accel.cpu_latency import load_profile, points_table
from squeezenext.tables import markdown_table

WITHIN_GOAL = 0.95
SPEARMAN_GOAL = 0.95
PREDICTIONS_GOAL = 1e4


def _verdict(value: float, goal: float) -> str:
    return "met" if value >= goal else "missed"


def cpu_latency_results() -> str:
    lines: list[str] = []
    for path in per_kind("cpu_profile-*.yaml"):
        profile = load_profile(path)
        headers, rows = points_table(profile)
        probe = profile.state_probe
        state = (
            f" Probe {probe['network']}: best {probe['best_ms']:.2f} ms; "
            f"{len(probe['networks_without_a_clean_timing'])} of {len(profile.measurements)} networks without a "
            f"timing within {probe['gate']:g}x of it."
            if probe
            else ""
        )
        lines += [
            f"### {profile.machine.cpu} ({', '.join(profile.machine.cpu_extensions)}), {profile.backend} "
            f"{profile.runtime_version}, {profile.threads} threads",
            "",
            f"`{relative(path)}`, calibrated in {profile.calibration_seconds:.0f} s.{state}",
            "",
            markdown_table(headers, rows),
            "",
        ]
    for path in per_kind("latency_model-*.json"):
        found = read(path)
        summary = found["summary"]
        worst = summary["worst_error"]
        lines += [
            f"Validation on {machine_cpu(found['machine'])} (`{found['command']}`, {relative(path)}): of "
            f"{summary['designs']} random designs, **{100 * summary['within_10_percent']:.0f}% are predicted within "
            f"+-10%** of their measured latency (goal {100 * WITHIN_GOAL:.0f}%: "
            f"{_verdict(summary['within_10_percent'], WITHIN_GOAL)}), mean absolute error "
            f"{summary['mean_absolute_percentage_error']:.1f}%, Spearman rank correlation {summary['spearman']:.3f} "
            f"(goal {SPEARMAN_GOAL}: {_verdict(summary['spearman'], SPEARMAN_GOAL)}), "
            f"{summary['predictions_per_second']:,.0f} predictions per second (goal {PREDICTIONS_GOAL:,.0f}: "
            f"{_verdict(summary['predictions_per_second'], PREDICTIONS_GOAL)}). The worst design, {worst['design']}, "
            f"was predicted at {worst['predicted_ms']:.2f} ms and measured at {worst['measured_ms']:.2f} ms "
            f"({100 * worst['error']:+.0f}%).",
            "",
        ]
    return "\n".join(lines) or "No CPU latency profile is committed yet."
