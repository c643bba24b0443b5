"""The ``squeezenext`` command line: models (list, info), the accelerator cost model (simulate, study),
design search (search), training (train, eval) and deployment (export, predict, bench, profile)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import NoReturn

from squeezenext.accel.commands import add_simulate_parser, add_study_parser
from squeezenext.argtypes import positive_int
from squeezenext.deploy.commands import add_deploy_parsers
from squeezenext.errors import SIGNAL_EXIT_BASE, SqueezeNextError, missing_extra
from squeezenext.fileio import error_line, settle_created_folders
from squeezenext.paper import PAPER_INPUT_SIZE
from squeezenext.plan import FLAVORS, STEM_KINDS
from squeezenext.registry import get_spec, list_models
from squeezenext.search.commands import add_search_parser
from squeezenext.sources import INPUT_SIZE_HELP, network_help, parse_network
from squeezenext.specs import Provenance
from squeezenext.tables import format_table
from squeezenext.train.commands import add_train_parsers
from squeezenext.workload import analytic_workload, total_macs

EXIT_INTERRUPTED = SIGNAL_EXIT_BASE + signal.SIGINT
"""Exit status after Ctrl-C, as shells report it."""
EXIT_TERMINATED = SIGNAL_EXIT_BASE + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM arrived: raised in the main thread so that it unwinds like Ctrl-C, and every ``finally`` (locks,
    temporary files and folders) runs. ``train`` installs its own handler: it checkpoints first."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


def _millions(value: int) -> str:
    return f"{value / 1e6:.1f}M"


def cmd_list(args: argparse.Namespace) -> int:
    rows = []
    for name in list_models():
        spec = get_spec(name)
        workload = analytic_workload(name, PAPER_INPUT_SIZE)
        rows.append(
            [
                name,
                spec.paper_name,
                str(list(spec.blocks)),
                f"{spec.width:g}",
                f"{workload.params:,}",
                _millions(total_macs(workload.layers)),
                spec.provenance.label,
            ]
        )
    print(
        format_table(["name", "paper name", "blocks", "width", "params", f"MACs@{PAPER_INPUT_SIZE}", "verified"], rows)
    )
    unverified = [n for n in list_models() if get_spec(n).provenance is Provenance.UNVERIFIED]
    print(
        "\nverified: yes = official definition; derived = official template at the paper's other width;\n"
        f"UNVERIFIED = block distribution reconstructed from the paper's text ({', '.join(unverified)}).\n"
        "params follow the paper's convention (conv weights + BatchNorm scale/shift + FC weights)."
    )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    workload = parse_network(args.name).workload(args.input_size, flavor=args.flavor, stem=args.stem)
    macs = total_macs(workload.layers)
    if args.json:
        payload = {
            "name": workload.name,
            "input_size": workload.input_size,
            "flavor": args.flavor,
            "provenance": workload.provenance,
            "params": workload.params,
            "params_numel": workload.params_numel,
            "macs": macs,
            "layers": [layer.to_json() for layer in workload.layers],
        }
        print(json.dumps(payload, indent=2))
        return 0
    rows = [
        [
            layer.name,
            layer.type,
            f"{layer.in_channels}->{layer.out_channels}",
            f"{layer.kernel[0]}x{layer.kernel[1]}",
            layer.stride[0],
            layer.groups,
            f"{layer.in_hw[0]}x{layer.in_hw[1]}",
            f"{layer.out_hw[0]}x{layer.out_hw[1]}",
            f"{layer.params:,}",
            f"{layer.macs:,}",
        ]
        for layer in workload.layers
    ]
    headers = ["layer", "type", "channels", "kernel", "stride", "groups", "in", "out", "params", "MACs"]
    print(format_table(headers, rows))
    print(
        f"\n{workload.name} ({workload.provenance}) at {workload.input_size}x{workload.input_size}: "
        f"{workload.params:,} parameters (paper convention; {workload.params_numel:,} PyTorch numel), "
        f"{macs:,} MACs ({_millions(macs)})"
    )
    return 0


class OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors on one line (``--help`` has the full usage); the commands' and the scripts' in
    benchmarks/."""

    def error(self, message: str) -> NoReturn:
        program, _, command = self.prog.partition(" ")
        where = f"{self.prog}: " if command else ""
        self.exit(2, f"{program}: error: {where}{message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="squeezenext", description=__doc__)
    parser.add_argument("--version", action="version", version=f"squeezenext {metadata.version('squeezenext')}")
    commands = parser.add_subparsers(dest="command", required=True)
    list_parser = commands.add_parser("list", help="table of every registered variant")
    list_parser.set_defaults(func=cmd_list)
    info = commands.add_parser("info", help="per-layer table and totals of one network")
    info.add_argument("name", help=network_help())
    info.add_argument("--input-size", type=positive_int, help=INPUT_SIZE_HELP)
    info.add_argument("--flavor", choices=FLAVORS, default="official")
    info.add_argument("--stem", choices=STEM_KINDS, default="standard")
    info.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    info.set_defaults(func=cmd_info)
    add_simulate_parser(commands)
    add_study_parser(commands)
    add_search_parser(commands)
    add_train_parsers(commands)
    add_deploy_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; user errors print one line to stderr and exit with status 2, Ctrl-C exits with 130 and
    SIGTERM with 143, both after cleaning up."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_terminated) if in_main_thread else None
    try:
        status = _main(argv)
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    except Terminated:
        status = EXIT_TERMINATED
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
    settle_created_folders(failed=status != 0)
    return status


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and not getattr(args, "takes_extra", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exit_:  # --help, --version and usage errors (already printed)
        return exit_.code if isinstance(exit_.code, int) else 2
    args.extra = extra
    try:
        return int(args.func(args))
    except (ValueError, OSError) as error:  # SqueezeNextError, value errors of the libraries underneath, files
        return _fail(error_line(error), getattr(error, "exit_status", 2))
    except ModuleNotFoundError as error:  # an optional dependency of this command (pyproject.toml's extras)
        missing = missing_extra(error, f"squeezenext {args.command}")
        if missing is None:
            raise
        return _fail(str(missing))


def run_script(script_main: Callable[[], object]) -> NoReturn:
    """Entry of a script in benchmarks/ (commands users run, under the same rules as the CLI): a library error
    is one line and status 2, Ctrl-C and SIGTERM exit 130 and 143 after every ``finally`` has run."""
    name = Path(sys.argv[0]).name
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        script_main()
        status = 0
    except (SqueezeNextError, ModuleNotFoundError) as error:
        failure = missing_extra(error, name) if isinstance(error, ModuleNotFoundError) else error
        if failure is None:
            raise
        print(f"{name}: error: {' '.join(str(failure).split())}", file=sys.stderr)
        status = getattr(failure, "exit_status", 2)
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        status = EXIT_INTERRUPTED
    except Terminated:
        print(f"{name}: terminated", file=sys.stderr)
        status = EXIT_TERMINATED
    finally:
        signal.signal(signal.SIGTERM, previous)
    sys.exit(status)


def _fail(message: str, status: int = 2) -> int:
    """Print one error line (newlines in the message folded) and return ``status`` (the usage-error status, or
    the status of a signal that stopped the work)."""
    print(f"squeezenext: error: {' '.join(message.split())}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
