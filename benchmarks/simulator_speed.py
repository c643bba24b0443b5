"""Speed of the accelerator cost model, against SCALE-Sim 3.0.0 on the same layers.

    python benchmarks/simulator_speed.py [--scalesim-python /tmp/scalesim-venv/bin/python] [--json FILE]

Prints a table and writes JSON (default docs/results/simulator_speed-KIND.json, KIND naming this CPU kind;
``make docs`` quotes every committed file in the README). Without
``--scalesim-python`` the SCALE-Sim side is the wall time recorded in tests/data/scalesim_reference.json
(labelled "recorded"); with it, SCALE-Sim is run again in the same invocation ("measured now").
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from squeezenext.accel.cost import simulate, sweep
from squeezenext.accel.hardware import HardwareConfig, preset
from squeezenext.accel.topology import CSV_COLUMNS, read_scalesim_csv
from squeezenext.cli import OneLineParser, run_script
from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import cpu_kind, machine_summary
from squeezenext.registry import model_plan
from squeezenext.tables import format_table
from squeezenext.workload import LayerDesc, analytic_layers

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "scalesim_reference.json"
REFERENCE_KEYS = ("name", "ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "filters", "stride")


def median_seconds(function: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` calls after one warm-up call."""
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def reference_runs(scalesim_python: str | None) -> tuple[list[dict[str, object]], str]:
    """SCALE-Sim runs with their wall times: recorded, or measured now with the given interpreter."""
    if scalesim_python is None:
        return json.loads(REFERENCE.read_text())["runs"], "recorded"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "runs.json"
        try:
            process = subprocess.run(
                [scalesim_python, str(ROOT / "benchmarks" / "scalesim_reference.py"), "--out", str(out)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        except OSError as error:
            raise SqueezeNextError(
                f"--scalesim-python {scalesim_python} cannot be run ({error.strerror}); give the python of a venv "
                "with scalesim 3.0.0 installed"
            ) from None
        if process.returncode != 0:
            last = (process.stderr.strip().splitlines() or [f"exit status {process.returncode}"])[-1]
            raise SqueezeNextError(f"SCALE-Sim's reference runs failed in {scalesim_python}: {last}")
        return json.loads(out.read_text())["runs"], "measured now"


def run_layers(runs: list[dict[str, object]]) -> list[tuple[list[LayerDesc], HardwareConfig, str]]:
    """Our workloads and configs for the SCALE-Sim reference runs."""
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        for index, run in enumerate(runs):
            layer = run["layer"]
            assert isinstance(layer, dict)
            path = Path(tmp) / f"{index}.csv"
            path.write_text(", ".join(CSV_COLUMNS) + ",\n" + ", ".join(str(layer[k]) for k in REFERENCE_KEYS) + ",\n")
            config = HardwareConfig(
                rows=int(str(run["rows"])),
                cols=int(str(run["cols"])),
                timing="systolic",
                mapping="gemm",
                word_bits=8,
                gb_kib=3 * 65536,
                gb_split=(1 / 3, 1 / 3, 1 / 3),
                dram_bandwidth=1e9,
            )
            cases.append((read_scalesim_csv(path), config, str(run["dataflow"])))
    return cases


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scalesim-python", help="python of a venv with scalesim 3.0.0, to time it now")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / f"simulator_speed-{cpu_kind()}.json")
    parser.add_argument("--configs", type=int, default=1000, help="hardware configs in the sweep")
    args = parser.parse_args()
    check_writable(args.json)

    network = analytic_layers(model_plan("sqnxt23_w1"), 227)
    hardware = preset("array-16x16")
    one_network = median_seconds(lambda: simulate(network, hardware, "time"), 50)

    variants = [analytic_layers(model_plan(n), 227) for n in ("sqnxt23_w1", "sqnxt23v2_w1", "sqnxt23v5_w1")]
    shapes = [(r, c) for r in (4, 8, 12, 16, 24, 32, 48, 64) for c in (4, 8, 12, 16, 24, 32, 48, 64)]
    configs = [
        hardware.replace(rows=r, cols=c, gb_kib=float(64 * (1 + i % 16)))
        for i, (r, c) in enumerate(shapes * (args.configs // len(shapes) + 1))
    ][: args.configs]
    sweep_seconds = median_seconds(lambda: sweep(variants, configs, "time"), 3)
    points = len(variants) * len(configs)

    runs, source = reference_runs(args.scalesim_python)
    cases = run_layers(runs)
    ours = median_seconds(lambda: [simulate(layers, config, df) for layers, config, df in cases], 5)
    theirs = sum(float(str(run["seconds"])) for run in runs)

    rows = [
        ["one network (1.0-SqNxt-23, 3 dataflows, best by time)", f"{one_network * 1e3:.2f} ms", ""],
        [
            f"sweep: {points} (network, hardware) points",
            f"{sweep_seconds:.2f} s",
            f"{points / sweep_seconds:,.0f} points/s",
        ],
        [f"{len(runs)} SCALE-Sim reference layers: this model", f"{ours * 1e3:.1f} ms", ""],
        [f"{len(runs)} SCALE-Sim reference layers: SCALE-Sim ({source})", f"{theirs:.1f} s", ""],
        ["speed-up over SCALE-Sim", f"{theirs / ours:,.0f}x", ""],
    ]
    print(format_table(["measurement", "time", "rate"], rows))
    command = "python benchmarks/simulator_speed.py" + (" --scalesim-python PYTHON" if args.scalesim_python else "")
    payload = {
        "command": command,
        "machine": machine_summary(),
        "python": platform.python_version(),
        "one_network_ms": one_network * 1e3,
        "sweep_points": points,
        "sweep_seconds": sweep_seconds,
        "reference_runs": len(runs),
        "model_seconds_for_reference_runs": ours,
        "scalesim_seconds_for_reference_runs": theirs,
        "scalesim_timing_source": source,
        "speedup_over_scalesim": theirs / ours,
    }
    write_json(args.json, payload)
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    run_script(main)
