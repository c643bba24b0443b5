"""``squeezenext simulate`` and ``squeezenext study``: the accelerator cost model on the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from squeezenext.accel.cost import Cost, costs_csv, simulate, total
from squeezenext.accel.hardware import DATAFLOWS, MAPPINGS, TIMINGS, HardwareConfig, resolve_hardware
from squeezenext.accel.plots import plot_layers
from squeezenext.accel.study import DEFAULT_HARDWARE as STUDY_HARDWARE
from squeezenext.accel.study import run_study
from squeezenext.accel.topology import load_network, write_scalesim_csv
from squeezenext.fileio import atomic_write_text
from squeezenext.plan import FLAVORS
from squeezenext.tables import format_table

DEFAULT_HARDWARE = "array-16x16"
OBJECTIVES = ("time", "energy", "edp")
LAYER_COLUMNS = ("name", "dataflow", "macs", "cycles", "stall_cycles", "utilization", "energy", "time_s")


def hardware_from_args(args: argparse.Namespace) -> HardwareConfig:
    """The ``--hardware`` preset or file, with ``--rows/--cols/--timing/--mapping`` applied on top."""
    config = resolve_hardware(args.hardware)
    changes = {
        key: getattr(args, key) for key in ("rows", "cols", "timing", "mapping") if getattr(args, key, None) is not None
    }
    if changes:
        config = config.replace(**changes)
    return config


def policy_from_args(args: argparse.Namespace) -> str:
    """A fixed dataflow, or the ``--objective`` when ``--dataflow best``."""
    return str(args.objective if args.dataflow == "best" else args.dataflow)


def add_hardware_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``simulate`` and ``study``."""
    parser.add_argument("--rows", type=int, help="PE array rows (overrides the hardware file)")
    parser.add_argument("--cols", type=int, help="PE array columns (overrides the hardware file)")
    parser.add_argument("--timing", choices=TIMINGS, help="systolic (SCALE-Sim skew) or broadcast")
    parser.add_argument("--mapping", choices=MAPPINGS, help="gemm (SCALE-Sim im2col) or spatial")
    add_policy_arguments(parser)


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dataflow`` and ``--objective``: how the dataflow of each layer is chosen."""
    parser.add_argument("--dataflow", choices=(*DATAFLOWS, "best"), default="best")
    parser.add_argument("--objective", choices=OBJECTIVES, default="time", help="what 'best' minimizes")


def layer_rows(costs: list[Cost]) -> list[list[object]]:
    """Rows of the per-layer table."""
    return [
        [
            c.name,
            c.dataflow,
            f"{c.macs:,}",
            f"{c.cycles:,}",
            f"{c.stall_cycles:,}",
            f"{c.utilization:.3f}",
            f"{c.energy:.4g}",
            f"{c.time_s * 1e6:.1f}",
        ]
        for c in costs
    ]


def cmd_simulate(args: argparse.Namespace) -> int:
    hardware = hardware_from_args(args)
    policy = policy_from_args(args)
    layers = load_network(args.network, input_size=args.input_size, flavor=args.flavor)
    costs = simulate(layers, hardware, policy)
    network = total(costs)
    if args.write_topology:
        write_scalesim_csv(layers, args.write_topology)
    if args.csv:
        atomic_write_text(args.csv, costs_csv(costs))
    if args.plot:
        plot_layers(costs, f"{args.network} on {hardware.name} ({policy})", args.plot)
    if args.json:
        payload: dict[str, Any] = {
            "network": args.network,
            "input_size": args.input_size,
            "hardware": hardware.to_dict(),
            "policy": policy,
            "energy_unit": hardware.energy.unit,
            "layers": [cost.to_json() for cost in costs],
            "total": network.to_json(),
        }
        print(json.dumps(payload, indent=2))
        return 0
    headers = ["layer", "dataflow", "MACs", "cycles", "stall", "util", "energy", "time (us)"]
    rows = layer_rows(costs)
    rows.append(["TOTAL", *layer_rows([network])[0][1:]])
    print(format_table(headers, rows))
    print(
        f"\n{args.network} on {hardware.name} ({hardware.rows}x{hardware.cols} PEs, {hardware.timing}, "
        f"{hardware.mapping} mapping, policy {policy}): {network.cycles:,} cycles "
        f"({network.time_s * 1e3:.3f} ms at {hardware.clock_mhz:g} MHz), "
        f"utilization {network.utilization:.3f}, "
        f"energy {network.energy:.4g} ({hardware.energy.unit}). Analytic model: see docs/accelerator.md."
    )
    return 0


def add_simulate_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "simulate",
        help="per-layer time, energy and utilization of a network on an accelerator",
        description="Run the analytic accelerator cost model (docs/accelerator.md) on one network.",
    )
    parser.add_argument("network", help="registered name, paper name, torchvision:<model>, FILE.csv or FILE.onnx")
    parser.add_argument("--hardware", default=DEFAULT_HARDWARE, help="preset name or YAML file")
    add_hardware_arguments(parser)
    parser.add_argument("--input-size", type=int, default=227)
    parser.add_argument("--flavor", choices=FLAVORS, default="official")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    parser.add_argument("--csv", type=Path, help="write per-layer results to this CSV file")
    parser.add_argument("--plot", type=Path, help="write per-layer time/energy/utilization plots (PNG)")
    parser.add_argument("--write-topology", type=Path, help="write the workload as a SCALE-Sim topology CSV")
    parser.set_defaults(func=cmd_simulate)


def cmd_study(args: argparse.Namespace) -> int:
    run_study(args.out, hardware_name=args.hardware, policy=policy_from_args(args))
    report = Path(args.out) / "REPORT.md"
    print(report.read_text())
    print(f"\nwrote {report}, results.json, per-layer CSVs and plots under {args.out}")
    return 0


def add_study_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "study",
        help="reproduce the paper's hardware study (v1..v5, peers) as a Markdown report with plots",
        description="Redo the SqueezeNext hardware study with this library's cost model (docs/accelerator.md).",
    )
    parser.add_argument("--out", type=Path, default=Path("docs/study"), help="report folder (default docs/study)")
    parser.add_argument("--hardware", default=STUDY_HARDWARE, help="preset name or YAML file")
    add_policy_arguments(parser)
    parser.set_defaults(func=cmd_study)
