"""What a search writes: the front as JSON, CSV and Markdown, one spec YAML (and hardware YAML) per front point,
and plots (objectives with the front and the paper's designs marked; convergence over trials)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from squeezenext.accel.scalesim_cfg import CFG_SUFFIX, write_cfg
from squeezenext.fileio import atomic_write_text, write_json
from squeezenext.plotting import save_figure, subplots
from squeezenext.search.objectives import MAXIMIZED, MEASURED, METRICS, OBJECTIVES
from squeezenext.search.request import Candidate, SearchResult
from squeezenext.specfile import write_spec_file
from squeezenext.tables import markdown_table

SEARCH_ENTRIES = (
    "front.json",
    "front.csv",
    "front.md",
    "front.png",
    "convergence.png",
    "specs",
    "hardware",
    "search.db",
)
"""What a search writes into its folder (``--overwrite`` removes exactly these)."""
MEASURED_COLUMNS = (*sorted(MEASURED), "trained_images")
"""Measured metrics, and the training images an ``error_pct`` was measured after (fewer for a pruned design)."""


def point_name(index: int) -> str:
    """Name of the ``index``-th front point (``front-001`` ...)."""
    return f"front-{index + 1:03d}"


def point_json(candidate: Candidate, name: str, spec_path: str | None, hardware_path: str | None) -> dict[str, Any]:
    """One front point: its name, spec file, every metric, the network's fields and the hardware."""
    metrics = {key: (None if np.isnan(value) else value) for key, value in candidate.metrics.items()}
    point: dict[str, Any] = {"name": name, "spec": spec_path, **metrics}
    if candidate.template is not None and candidate.blocks is not None:
        t = candidate.template
        point.update(
            blocks_per_stage=list(candidate.blocks), stem_kernel=t.stem_kernel, groups=t.groups,
            v5_wiring=t.v5_wiring, head_channels=t.head_channels, input_size=t.input_size,
        )  # fmt: skip
    point["hardware"] = candidate.hardware.to_dict()
    point["hardware_file"] = hardware_path
    return point


def front_points(result: SearchResult) -> list[dict[str, Any]]:
    """The JSON form of every front point, with the paths its files get (relative to the output folder)."""
    varies = result.request.space != "network"
    points = []
    for index, candidate in enumerate(result.front):
        name = point_name(index)
        spec = f"specs/{name}.yaml" if candidate.template is not None else None
        hardware = f"hardware/{name}.yaml" if varies else None
        points.append(point_json(candidate, name, spec, hardware))
    return points


def search_json(result: SearchResult) -> dict[str, Any]:
    """``front.json``: ``{"points": [...]}`` with the search's definition, counts and reference designs."""
    request = result.request
    return {
        "points": front_points(result),
        "base": request.base,
        "space": request.space,
        "hardware": request.hardware,
        "objectives": list(request.objectives),
        "constraints": [str(c) for c in request.constraints],
        "latency_backend": request.latency_backend if "latency_ms" in request.measured_metrics() else None,
        "sampler": result.sampler,
        "evaluated": result.evaluated,
        "feasible": result.feasible,
        "references": {
            label: {key: (None if np.isnan(v) else v) for key, v in values.items()}
            for label, values in result.references.items()
        },
        "note": "costs from the analytic accelerator model (docs/accelerator.md); accuracy is not part of them",
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def front_csv(points: list[dict[str, Any]]) -> str:
    """One row per front point: name, spec, network fields, every metric, the array shape."""
    columns = ["name", "spec", "blocks_per_stage", "stem_kernel", "groups", "v5_wiring", "head_channels", "input_size"]
    columns += [*METRICS, *MEASURED_COLUMNS, "rows", "cols", "gb_kib", "gb_split", "dram_bandwidth", "dataflows"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for point in points:
        hardware = point["hardware"]
        row = {**point, **{key: hardware[key] for key in ("rows", "cols", "gb_kib", "gb_split", "dram_bandwidth")}}
        row["dataflows"] = "+".join(hardware["dataflows"])
        writer.writerow([_cell(row.get(column)) for column in columns])
    return buffer.getvalue()


def front_markdown(result: SearchResult, points: list[dict[str, Any]]) -> str:
    """``front.md``: the search in words and the front as a table, references beside it."""
    request = result.request
    shown = ["time_ms", "energy", "utilization", "params", "macs"]
    shown += [key for key in MEASURED_COLUMNS if points and key in points[0]]
    headers = ["name", "blocks", "stem", "v5 wiring", "array", "split", *shown]
    rows = [
        [
            point["name"],
            str(point.get("blocks_per_stage", "")),
            point.get("stem_kernel", ""),
            point.get("v5_wiring", ""),
            f"{point['hardware']['rows']}x{point['hardware']['cols']}",
            "/".join(f"{v:g}" for v in point["hardware"]["gb_split"]),
            *(_cell(point[key]) for key in shown),
        ]
        for point in points
    ]
    lines = [
        f"# Search front: {request.space} space, base {request.base} on {request.hardware}",
        "",
        f"Objectives {', '.join(request.objectives)}; constraints "
        f"{', '.join(str(c) for c in request.constraints) or 'none'}; sampler {result.sampler}: "
        f"{result.evaluated:,} candidates evaluated, {result.feasible:,} feasible, {len(points)} on the front. "
        "Costs come from the analytic accelerator model (docs/accelerator.md); accuracy is not among them.",
        "",
        markdown_table(headers, rows),
        "",
    ]
    if result.references:
        ref_rows = [[label, *(_cell(values.get(key)) for key in shown)] for label, values in result.references.items()]
        lines += [
            "References on the base accelerator (v2-v4 UNVERIFIED):",
            "",
            markdown_table(["design", *shown], ref_rows),
            "",
        ]
    return "\n".join(lines)


def plot_front(result: SearchResult, path: Path) -> None:
    """The first two objectives: feasible candidates, the front, and the reference designs."""
    objectives = list(result.request.objectives)
    x_name = objectives[0]
    y_name = objectives[1] if len(objectives) > 1 else "params"
    sign = {name: (-1.0 if name in MAXIMIZED else 1.0) for name in OBJECTIVES}
    figure, axes = subplots(figsize=(7, 5))
    if result.cloud.shape[1] >= 2:
        axes.scatter(sign[x_name] * result.cloud[:, 0], sign[y_name] * result.cloud[:, 1], s=4, color="#bbbbbb",
                     label="feasible candidates")  # fmt: skip
    xs = [c.metrics[OBJECTIVES[x_name]] for c in result.front]
    ys = [c.metrics[OBJECTIVES[y_name]] for c in result.front]
    axes.plot(xs, ys, "o-", color="#c44e52", label="Pareto front", markersize=5)
    for label, values in result.references.items():
        if OBJECTIVES[x_name] not in values or OBJECTIVES[y_name] not in values:
            continue  # a metric the references were not measured for
        axes.scatter([values[OBJECTIVES[x_name]]], [values[OBJECTIVES[y_name]]], marker="*", s=120, color="#4c72b0")
        axes.annotate(label, (values[OBJECTIVES[x_name]], values[OBJECTIVES[y_name]]), textcoords="offset points",
                      xytext=(5, 5))  # fmt: skip
    axes.set_xlabel(f"{x_name} ({OBJECTIVES[x_name]})")
    axes.set_ylabel(f"{y_name} ({OBJECTIVES[y_name]})")
    axes.set_title(f"{result.request.space} search on {result.request.hardware}")
    axes.legend()
    save_figure(figure, path)


def plot_convergence(result: SearchResult, path: Path) -> None:
    """Best value found so far of each objective over finished trials (the Optuna path)."""
    objectives = list(result.request.objectives)
    figure, axes = subplots(len(objectives), 1, figsize=(7, 2.5 * len(objectives)), squeeze=False)
    for axis, name in zip(axes[:, 0], objectives, strict=True):
        values = np.array([trial[OBJECTIVES[name]] for trial in result.history])
        best = np.maximum.accumulate(values) if name in MAXIMIZED else np.minimum.accumulate(values)
        axis.plot(np.arange(1, len(values) + 1), best, color="#4c72b0")
        axis.set_ylabel(name)
    axes[-1, 0].set_xlabel("finished trials")
    save_figure(figure, path)


def write_search(result: SearchResult, out: str | Path) -> None:
    """Every output of a search under ``out`` (each file written atomically)."""
    out = Path(out)
    points = front_points(result)
    for point, candidate in zip(points, result.front, strict=True):
        spec = candidate.spec(point["name"])
        if spec is not None and point["spec"]:
            header = (f"{point['name']} of a {result.request.space} search from {result.request.base}: "
                      f"time {candidate.metrics['time_ms']:.4g} ms, energy {candidate.metrics['energy']:.4g}, "
                      f"{int(candidate.metrics['params']):,} parameters on {candidate.hardware.name}")  # fmt: skip
            write_spec_file(spec, out / point["spec"], header)
        if point["hardware_file"]:
            data = candidate.hardware.to_dict()
            atomic_write_text(out / point["hardware_file"], yaml.safe_dump(data, sort_keys=False))
            write_cfg(candidate.hardware, (out / point["hardware_file"]).with_suffix(CFG_SUFFIX))  # for SCALE-Sim
    for folder, key in (("specs", "spec"), ("hardware", "hardware_file")):  # a resumed search's front may shrink
        kept = {out / point[key] for point in points if point[key]}
        kept |= {path.with_suffix(CFG_SUFFIX) for path in kept}
        for stale in sorted((out / folder).glob("front-*")):
            if stale not in kept:
                stale.unlink()
    write_json(out / "front.json", search_json(result))
    atomic_write_text(out / "front.csv", front_csv(points))
    atomic_write_text(out / "front.md", front_markdown(result, points))
    plot_front(result, out / "front.png")
    if result.history:
        plot_convergence(result, out / "convergence.png")
