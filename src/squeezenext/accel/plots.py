"""Plots of simulated costs: per-layer time and energy (stacked by memory level), utilization, variants."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from squeezenext.accel.cost import Cost
from squeezenext.plotting import save_figure, subplots

LEVEL_COLORS = {
    "MAC": "#4c72b0",
    "RF": "#55a868",
    "PE-to-PE": "#c44e52",
    "global buffer": "#8172b2",
    "DRAM": "#ccb974",
}


LOG_SCALE_RATIO = 20
"""Bars spanning more than this ratio are drawn on a log scale."""


def _short(name: str) -> str:
    return name.replace("stages.", "s").replace(".blocks.", ".b").replace(".conv", "")


def plot_layers(costs: Sequence[Cost], title: str, path: str | Path) -> None:
    """Per-layer cycles (compute and stall), energy stacked by memory level, and PE utilization."""
    names = [_short(c.name) for c in costs]
    x = range(len(costs))
    figure, (ax_time, ax_energy, ax_util) = subplots(3, 1, figsize=(max(8, 0.22 * len(costs)), 10), sharex=True)
    ax_time.bar(x, [c.compute_cycles for c in costs], label="compute", color="#4c72b0")
    ax_time.bar(
        x,
        [c.stall_cycles for c in costs],
        bottom=[c.compute_cycles for c in costs],
        label="DRAM stall",
        color="#dd8452",
    )
    ax_time.set_ylabel("cycles")
    ax_time.legend(loc="upper right")
    ax_time.set_title(title)
    bottom = [0.0] * len(costs)
    for level, color in LEVEL_COLORS.items():
        values = [c.energy_by_level()[level] for c in costs]
        ax_energy.bar(x, values, bottom=bottom, label=level, color=color)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax_energy.set_ylabel("energy")
    ax_energy.legend(loc="upper right", ncol=5, fontsize="small")
    ax_util.bar(x, [c.utilization for c in costs], color="#55a868")
    ax_util.set_ylabel("PE utilization")
    ax_util.set_ylim(0, 1)
    ax_util.set_xticks(list(x), names, rotation=90, fontsize=6)
    save_figure(figure, path)


def plot_variants(totals: Mapping[str, Cost], title: str, path: str | Path) -> None:
    """Networks side by side: time, energy (stacked by level) and utilization."""
    names = list(totals)
    x = range(len(names))
    figure, (ax_time, ax_energy, ax_util) = subplots(1, 3, figsize=(max(12, 1.5 * len(names)), 4.5))
    times = [totals[n].time_s * 1e3 for n in names]
    ax_time.bar(x, times, color="#4c72b0")
    ax_time.set_ylabel("time (ms)")
    energies = [totals[n].energy for n in names]
    if max(times) > LOG_SCALE_RATIO * min(times):
        ax_time.set_yscale("log")
        ax_time.set_ylabel("time (ms, log scale)")
    if max(energies) > LOG_SCALE_RATIO * min(energies):
        ax_energy.set_yscale("log")
    bottom = [0.0] * len(names)
    for level, color in LEVEL_COLORS.items():
        values = [totals[n].energy_by_level()[level] for n in names]
        ax_energy.bar(x, values, bottom=bottom, label=level, color=color)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax_energy.set_ylabel("energy (log scale)" if ax_energy.get_yscale() == "log" else "energy")
    ax_energy.legend(fontsize="small")
    ax_util.bar(x, [totals[n].utilization for n in names], color="#55a868")
    ax_util.set_ylabel("PE utilization")
    ax_util.set_ylim(0, 1)
    for axis in (ax_time, ax_energy, ax_util):
        axis.set_xticks(list(x), names, rotation=45, ha="right", fontsize=8)
    figure.suptitle(title)
    save_figure(figure, path)
