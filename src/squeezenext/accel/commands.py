"""``squeezenext simulate`` and ``squeezenext study``: the accelerator cost model on the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from squeezenext.accel.cost import BEST_OF_POLICIES, DEFAULT_POLICY, Cost, costs_csv, simulate, total
from squeezenext.accel.hardware import (
    DATAFLOWS,
    DEFAULT_HARDWARE,
    MAPPINGS,
    TIMINGS,
    HardwareConfig,
    cpu_profile_path,
    resolve_hardware,
)
from squeezenext.accel.topology import write_scalesim_csv
from squeezenext.argtypes import positive_int
from squeezenext.errors import ConfigError
from squeezenext.fileio import atomic_write_text, check_new_files, claimed_folder
from squeezenext.paper import PAPER_INPUT_SIZE
from squeezenext.plan import FLAVORS
from squeezenext.sources import INPUT_SIZE_HELP, SQUEEZENEXT_KINDS, network_help, parse_network
from squeezenext.tables import format_table

LAYER_COLUMNS = ("name", "dataflow", "macs", "cycles", "stall_cycles", "utilization", "energy", "time_s")


def hardware_from_args(args: argparse.Namespace) -> HardwareConfig:
    """The ``--hardware`` preset or file, with ``--rows/--cols/--timing/--mapping`` applied on top."""
    config = resolve_hardware(args.hardware)
    changes = {
        key: getattr(args, key) for key in ("rows", "cols", "timing", "mapping") if getattr(args, key, None) is not None
    }
    if changes:
        described = ", ".join(f"{key}={value}" for key, value in changes.items())
        config = config.replace(name=f"{config.name} with {described}", **changes)
    return config


def policy_from_args(args: argparse.Namespace) -> str:
    """A fixed dataflow, or the ``--objective`` (default time) when ``--dataflow best``."""
    if args.dataflow != "best":
        if args.objective is not None:
            raise ConfigError(
                f"--objective {args.objective} chooses among dataflows, but --dataflow {args.dataflow} fixes one; "
                "drop one of them (--dataflow best --objective ... picks per layer)"
            )
        return str(args.dataflow)
    return str(args.objective or DEFAULT_POLICY)


def add_hardware_arguments(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``simulate`` and ``study``."""
    parser.add_argument("--rows", type=positive_int, help="PE array rows (overrides the hardware file)")
    parser.add_argument("--cols", type=positive_int, help="PE array columns (overrides the hardware file)")
    parser.add_argument("--timing", choices=TIMINGS, help="systolic (SCALE-Sim skew) or broadcast")
    parser.add_argument("--mapping", choices=MAPPINGS, help="gemm (SCALE-Sim im2col) or spatial")
    add_policy_arguments(parser)


def add_policy_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dataflow`` and ``--objective``: how the dataflow of each layer is chosen."""
    parser.add_argument("--dataflow", choices=(*DATAFLOWS, "best"), default="best")
    parser.add_argument(
        "--objective",
        choices=BEST_OF_POLICIES,
        help=f"what --dataflow best minimizes per layer (default {DEFAULT_POLICY})",
    )


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


ACCELERATOR_OPTIONS = ("rows", "cols", "timing", "mapping", "objective", "csv", "plot")
"""simulate options that describe or report an accelerator, refused with a CPU latency profile."""


def simulate_on_cpu(args: argparse.Namespace, profile_path: Path) -> int:
    """``simulate NETWORK --hardware PROFILE``: the calibrated CPU latency model's prediction, part by part."""
    from squeezenext.accel.cpu_latency import STAGE_NAMES, ProfileError
    from squeezenext.deploy.cpu_profiles import open_profile, warn_if_measured_elsewhere

    given = [f"--{name.replace('_', '-')}" for name in ACCELERATOR_OPTIONS if getattr(args, name, None) is not None]
    if args.dataflow != "best":
        given.append("--dataflow")
    if given:
        raise ConfigError(f"{', '.join(given)} describe an accelerator; {profile_path} is a CPU latency profile")
    profile = open_profile(profile_path)
    source = parse_network(args.network, SQUEEZENEXT_KINDS, purpose="a CPU latency profile")
    if args.flavor != "official":
        raise ProfileError("a CPU latency profile is calibrated on the official flavor; drop --flavor")
    spec = source.architecture()
    input_size = args.input_size or PAPER_INPUT_SIZE
    prediction = profile.predict(spec, input_size)
    warn_if_measured_elsewhere(profile, profile_path)
    parts = [{"part": "base: stem, first block of each stage, head", "blocks": 4, "time_ms": prediction.base_ms}]
    parts += [
        {"part": f"{name}: repeated blocks", "blocks": blocks - 1, "ms_per_block": cost, "time_ms": ms}
        for name, blocks, cost, ms in zip(
            STAGE_NAMES, spec.blocks, prediction.per_block_ms, prediction.stage_ms, strict=True
        )
    ]
    if args.json:
        payload = {
            "network": args.network,
            "input_size": input_size,
            "hardware": {"cpu_profile": str(profile_path), "backend": profile.backend, "threads": profile.threads,
                         "machine": profile.machine.__dict__},
            "parts": parts,
            "total": {"time_s": prediction.total_ms / 1e3, "time_ms": prediction.total_ms},
        }  # fmt: skip
        print(json.dumps(payload, indent=2))
        return 0
    rows = [[p["part"], p["blocks"], f"{p['ms_per_block']:.3f}" if "ms_per_block" in p else "", f"{p['time_ms']:.3f}"]
            for p in parts]  # fmt: skip
    rows.append(["TOTAL", sum(spec.blocks), "", f"{prediction.total_ms:.3f}"])
    print(format_table(["part", "blocks", "ms per block", "ms"], rows))
    print(
        f"\n{args.network} at {input_size}x{input_size}, batch 1, predicted for {profile.name} by the calibrated "
        f"latency model ({profile_path}): {prediction.total_ms:.2f} ms. Model: docs/cpu_latency.md."
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    profile_path = cpu_profile_path(args.hardware)
    if profile_path is not None:
        return simulate_on_cpu(args, profile_path)
    source = parse_network(args.network)
    hardware = hardware_from_args(args)
    policy = policy_from_args(args)
    check_new_files([o for o in (args.write_topology, args.csv, args.plot) if o is not None], overwrite=args.overwrite)
    workload = source.workload(args.input_size, flavor=args.flavor)
    layers = workload.layers
    costs = simulate(layers, hardware, policy)
    network = total(costs)
    if args.write_topology:
        write_scalesim_csv(layers, args.write_topology)
    if args.csv:
        atomic_write_text(args.csv, costs_csv(costs))
    if args.plot:
        from squeezenext.accel.plots import plot_layers

        plot_layers(costs, f"{args.network} on {hardware.name} ({policy})", args.plot)
    if args.json:
        payload: dict[str, Any] = {
            "network": args.network,
            "input_size": workload.input_size,
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
    parser.add_argument("network", help=network_help())
    parser.add_argument(
        "--hardware", default=DEFAULT_HARDWARE,
        help="preset name, accelerator YAML file, or a CPU latency profile (squeezenext calibrate)",
    )  # fmt: skip
    add_hardware_arguments(parser)
    parser.add_argument("--input-size", type=positive_int, help=INPUT_SIZE_HELP)
    parser.add_argument("--flavor", choices=FLAVORS, default="official")
    parser.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    parser.add_argument("--csv", type=Path, help="write per-layer results to this CSV file")
    parser.add_argument("--plot", type=Path, help="write per-layer time/energy/utilization plots (PNG)")
    parser.add_argument("--write-topology", type=Path, help="write the workload as a SCALE-Sim topology CSV")
    parser.add_argument("--overwrite", action="store_true", help="replace existing --csv, --plot, --write-topology")
    parser.set_defaults(func=cmd_simulate)


def cmd_study(args: argparse.Namespace) -> int:
    from squeezenext.accel.study import STUDY_ENTRIES, run_study

    policy = policy_from_args(args)
    with claimed_folder(args.out, STUDY_ENTRIES, overwrite=args.overwrite, kind="a study"):
        run_study(args.out, hardware_name=args.hardware, policy=policy)
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
    parser.add_argument("--hardware", default=DEFAULT_HARDWARE, help="preset name or YAML file")
    parser.add_argument("--overwrite", action="store_true", help="replace a study already in --out")
    add_policy_arguments(parser)
    parser.set_defaults(func=cmd_study)
