"""``squeezenext search``: networks for an accelerator, accelerators for a network, or both (docs/search.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from squeezenext.accel.hardware import DATAFLOWS, DEFAULT_HARDWARE, resolve_hardware
from squeezenext.argtypes import non_negative_int, positive_float_list, positive_int, positive_int_list
from squeezenext.errors import SqueezeNextError
from squeezenext.paper import PAPER_INPUT_SIZE
from squeezenext.search.accuracy import DEFAULT_RUNGS
from squeezenext.search.latency import LATENCY_BACKEND, LATENCY_BACKENDS
from squeezenext.search.request import DEFAULT_TRIALS
from squeezenext.sources import SQUEEZENEXT_KINDS, network_help, parse_network

DEFAULT_OUT = Path("runs/search")
WIRINGS = {"standard": (False,), "v5": (True,), "both": (False, True)}
STORAGE_FILE = "search.db"


def _dataflow_sets(text: str) -> list[tuple[str, ...]]:
    """``ws+os,ws+os+is`` -> ``[("ws", "os"), ("ws", "os", "is")]``."""
    sets = [tuple(part.strip().split("+")) for part in text.split(",")]
    for dataflows in sets:
        if not dataflows or any(d not in DATAFLOWS for d in dataflows):
            raise argparse.ArgumentTypeError(f"expected sets like ws+os of {', '.join(DATAFLOWS)}, got {text!r}")
    return sets


def _request(args: argparse.Namespace, accelerator: bool = True) -> Any:
    """The :class:`~squeezenext.search.request.SearchRequest` of the command line (defaults from the base network
    and the base hardware; ``accelerator`` False: ``--hardware`` is a CPU latency profile, not an accelerator)."""
    from squeezenext.search.objectives import Constraint, parse_objectives
    from squeezenext.search.request import SearchRequest
    from squeezenext.search.space import HardwareSpace, NetworkSpace

    base_hardware = resolve_hardware(args.hardware if accelerator else DEFAULT_HARDWARE)
    network_space = NetworkSpace()
    if args.space != "hardware":
        spec = parse_network(args.base, SQUEEZENEXT_KINDS, purpose=f"--space {args.space}'s --base").architecture()
        network_space = NetworkSpace(
            total_blocks=sum(spec.blocks) if args.total_blocks is None else args.total_blocks,
            min_blocks=args.min_blocks,
            max_blocks=args.max_blocks,
            widths=tuple(args.widths or [spec.width]),
            stem_kernels=tuple(args.stem_kernels),
            groups=tuple(args.groups or [spec.groups]),
            v5_wirings=WIRINGS[args.wiring],
            head_channels=tuple(args.head_channels or [spec.head_channels]),
            input_sizes=tuple(args.input_sizes or [PAPER_INPUT_SIZE]),
            stem_channels=spec.stem_channels,
        )
    hardware_space = HardwareSpace()
    if args.space != "network":
        hardware_space = HardwareSpace(
            pe_budget=args.pe_budget or base_hardware.pes,
            min_side=args.min_side,
            gb_kib=tuple(args.gb_kib or [base_hardware.gb_kib]),
            splits=not args.fixed_split,
            dram_bandwidths=tuple(args.dram_bandwidths or [base_hardware.dram_bandwidth]),
            dataflow_sets=tuple(args.dataflow_sets or [base_hardware.dataflows]),
        )
    storage = args.storage
    if storage is None and args.sampler in ("nsga2", "tpe"):
        storage = f"sqlite:///{(Path(args.out) / STORAGE_FILE).resolve()}"
    return SearchRequest(
        base=args.base,
        space=args.space,
        hardware=args.hardware,
        network_space=network_space,
        hardware_space=hardware_space,
        objectives=parse_objectives(args.objective),
        constraints=tuple(Constraint.parse(text) for text in args.constraint),
        sampler=args.sampler,
        trials=args.trials or DEFAULT_TRIALS,
        storage=storage,
        resume=args.resume,
        seed=args.seed,
        peers=args.peers,
        input_size=(args.input_sizes or [PAPER_INPUT_SIZE])[0],
        rungs=tuple(args.rungs),
        latency_backend=args.latency_backend or LATENCY_BACKEND,
    )


def search_on_cpu(args: argparse.Namespace, request: Any, profile_path: Path) -> int:
    """``search --hardware PROFILE``: the network space ranked by a CPU latency profile, the front re-measured."""
    from squeezenext.deploy.cpu_profiles import open_profile, warn_if_measured_elsewhere
    from squeezenext.fileio import atomic_write_text, claimed_folder, write_json
    from squeezenext.search.cpu_search import check_cpu_request, cpu_search, cpu_search_json, remeasure
    from squeezenext.search.report import SEARCH_ENTRIES
    from squeezenext.specfile import write_spec_file
    from squeezenext.tables import format_table, markdown_table

    check_cpu_request(request)
    profile = open_profile(profile_path)
    out = Path(args.out)
    with claimed_folder(out, SEARCH_ENTRIES, resume=False, overwrite=args.overwrite, kind="a search",
                        resume_hint="--resume (Optuna samplers)"):  # fmt: skip
        result = cpu_search(request, profile)
        warn_if_measured_elsewhere(profile, profile_path)
        rows = remeasure(result, profile)
        payload = cpu_search_json(result, profile, profile_path, rows)
        for point, candidate in zip(payload["points"], result.front, strict=True):
            spec = candidate.spec(point["name"])
            assert spec is not None
            write_spec_file(spec, out / point["spec"], f"# {point['name']} of a CPU-latency search ({profile.name})\n")
        table = [
            [r["design"], "" if r["predicted_ms"] is None else f"{r['predicted_ms']:.2f}", f"{r['measured_ms']:.2f}",
             "" if r["error"] is None else f"{100 * r['error']:+.1f}%"]
            for r in rows
        ]  # fmt: skip
        headers = ["design", "predicted ms", "measured ms", "error"]
        atomic_write_text(
            out / "front.md", f"# CPU-latency search on {profile.name}\n\n{markdown_table(headers, table)}\n"
        )
        write_json(out / "front.json", payload)
    if args.json:
        print(json.dumps(payload, indent=2))
        return 0
    print(format_table(headers, table))
    print(
        f"\n{result.evaluated:,} designs predicted, {result.feasible:,} feasible, {len(result.front)} on the front; "
        f"measured in {profile.backend} ({profile.threads} threads), best of interleaved rounds. Wrote {out}"
    )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from squeezenext.accel.hardware import cpu_profile_path
    from squeezenext.fileio import claimed_folder
    from squeezenext.search.report import SEARCH_ENTRIES, front_markdown, front_points, search_json, write_search
    from squeezenext.search.run import exhaustive, run_search, space_size
    from squeezenext.search.storage import check_storage_folder

    profile_path = cpu_profile_path(args.hardware)
    request = _request(args, accelerator=profile_path is None)
    if profile_path is not None:
        return search_on_cpu(args, request, profile_path)
    if args.latency_backend is not None and "latency_ms" not in request.measured_metrics():
        raise SqueezeNextError("--latency-backend applies to the latency objective or a latency_ms constraint")
    if args.storage is not None:
        check_storage_folder(args.storage)
    if request.sampler == "auto" and (args.storage or args.resume):
        raise SqueezeNextError("--storage and --resume need an Optuna sampler: add --sampler nsga2 (or tpe)")
    size = space_size(request)
    if args.trials is not None and exhaustive(request.sampler, size):
        raise SqueezeNextError(
            f"--trials counts Optuna trials, but this space ({size:,} designs) is searched exhaustively; drop "
            "--trials, or add --sampler nsga2 (or tpe)"
        )
    out = Path(args.out)
    finished = [name for name in SEARCH_ENTRIES if (out / name).exists()]
    if args.resume and args.storage is None and finished and STORAGE_FILE not in finished:
        raise SqueezeNextError(
            f"{out} holds a search without {STORAGE_FILE} (exhaustive, or stored elsewhere): there is nothing here to "
            "--resume; give its --storage, replace it with --overwrite, or choose another --out"
        )
    with claimed_folder(out, SEARCH_ENTRIES, resume=args.resume, overwrite=args.overwrite, kind="a search",
                        resume_hint="--resume (Optuna samplers)"):  # fmt: skip
        with tqdm(total=request.trials if request.sampler in ("nsga2", "tpe") else size, disable=None,
                  desc="search", unit="design") as bar:  # fmt: skip

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            result = run_search(request, progress)
        write_search(result, out)
    if args.json:
        print(json.dumps(search_json(result), indent=2))
        return 0
    print(front_markdown(result, front_points(result)))
    print(f"wrote {out}/front.json, front.csv, front.md, front.png and one spec YAML per front point under {out}/specs")
    return 0


def add_search_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "search",
        help="design search: networks for an accelerator, accelerators for a network, or both (Pareto front)",
        description="Search SqueezeNext networks and/or PE-array accelerators with the cost model and report the "
        "Pareto front (docs/search.md). Small spaces are searched exhaustively; larger ones with Optuna.",
    )
    parser.add_argument("--base", default="sqnxt23_w1", help=f"the starting network: {network_help()}")
    parser.add_argument("--space", choices=("network", "hardware", "both"), default="network")
    parser.add_argument(
        "--hardware",
        default=DEFAULT_HARDWARE,
        help=f"preset, accelerator YAML file, or a CPU latency profile (squeezenext calibrate; with --objective time) "
        f"(default {DEFAULT_HARDWARE})",
    )
    parser.add_argument(
        "--objective",
        default="time,energy",
        help="comma-separated: time, energy, edp, utilization, params, macs; measured per design (Optuna samplers, "
        "slow): latency (batch 1, in --latency-backend), error (top-1 error after short Fashion-MNIST training)",
    )
    parser.add_argument(
        "--latency-backend",
        choices=LATENCY_BACKENDS,
        help=f"latency objective: the runtime designs are timed in, one of {', '.join(LATENCY_BACKENDS)} "
        f"(default {LATENCY_BACKEND}; openvino-bf16 where the CPU computes bf16 natively: AMX, AVX-512 BF16)",
    )
    parser.add_argument(
        "--rungs",
        type=positive_int_list,
        default=list(DEFAULT_RUNGS),
        help="error objective: training images of each fidelity rung, pruned between rungs "
        f"(default {','.join(map(str, DEFAULT_RUNGS))})",
    )
    parser.add_argument("--constraint", action="append", default=[], metavar="KEY<=VALUE",
                        help="e.g. 'params<=930016', 'macs<=300e6', 'blocks==21' (repeatable)")  # fmt: skip
    parser.add_argument("--sampler", choices=("auto", "exhaustive", "nsga2", "tpe"), default="auto",
                        help="auto: exhaustive up to 5,000,000 candidates, else nsga2")  # fmt: skip
    parser.add_argument(
        "--trials",
        type=positive_int,
        help=f"Optuna samplers: finished trials in all, feasible or not (default {DEFAULT_TRIALS})",
    )
    parser.add_argument("--storage", help="Optuna storage URL shared by workers (default sqlite:///OUT/search.db)")
    parser.add_argument("--resume", action="store_true", help="continue the search in the storage (Optuna samplers)")
    parser.add_argument("--overwrite", action="store_true", help="delete the search already in --out first")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--peers", action="store_true", help="also mark SqueezeNet 1.0 and AlexNet (torchvision)")
    parser.add_argument("--json", action="store_true", help="print front.json's object instead of the table")
    network = parser.add_argument_group("network space (--space network or both)")
    network.add_argument("--total-blocks", type=non_negative_int,
                         help="blocks in all (default: the base's; 0: any total)")  # fmt: skip
    network.add_argument("--min-blocks", type=positive_int, default=1, help="per stage (default 1)")
    network.add_argument("--max-blocks", type=positive_int, default=18, help="per stage (default 18)")
    network.add_argument("--widths", type=positive_float_list, help="width multipliers (default: the base's)")
    network.add_argument("--stem-kernels", type=positive_int_list, default=[3, 5, 7], help="default 3,5,7")
    network.add_argument("--groups", type=positive_int_list, help="groups of the grouped convs (default: the base's)")
    network.add_argument("--wiring", choices=tuple(WIRINGS), default="both", help="v5 wiring off, on, or both")
    network.add_argument("--head-channels", type=positive_int_list, help="default: the base's")
    network.add_argument("--input-sizes", type=positive_int_list, help=f"default {PAPER_INPUT_SIZE}")
    hardware = parser.add_argument_group("hardware space (--space hardware or both)")
    hardware.add_argument("--pe-budget", type=positive_int, help="PEs of every array (default: the base hardware's)")
    hardware.add_argument("--min-side", type=positive_int, default=2, help="smallest array side (default 2)")
    hardware.add_argument("--gb-kib", type=positive_float_list, help="global-buffer sizes (default: the base's)")
    hardware.add_argument(
        "--fixed-split", action="store_true", help="keep the base's buffer split (else every 10%% step)"
    )
    hardware.add_argument("--dram-bandwidths", type=positive_float_list, help="bytes/cycle (default: the base's)")
    hardware.add_argument("--dataflow-sets", type=_dataflow_sets,
                          help="supported dataflows, e.g. ws+os,ws+os+is (default: the base's)")  # fmt: skip
    parser.set_defaults(func=cmd_search)
