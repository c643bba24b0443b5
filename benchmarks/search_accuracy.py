"""Does the searched design keep v5's accuracy? Short Fashion-MNIST training of the search's front beside v5.

    python benchmarks/search_accuracy.py [--epochs 1] [--seeds 0,1] [--json docs/results/search_accuracy.json]

Trains 1.0-SqNxt-23v5 and every spec file of the paper's-question front (docs/search/specs/, written by
``python benchmarks/search_report.py``) with the short recipe of :mod:`squeezenext.train.recipes` (64x64, standard
stems, so the stem kernel matters), the same seeds for all, and reports test top-1 per seed and the mean. The
paper claims its hardware-driven changes came "without accuracy degradation"; this measures that claim for the
searched designs, at this small budget, on this small task.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

from squeezenext.argtypes import positive_int, seed_list
from squeezenext.cli import OneLineParser, run_script
from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import machine_summary
from squeezenext.train.launch import train_to_completion
from squeezenext.train.recipes import short_fashion_mnist
from squeezenext.train.rundir import claimed_run_folder

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ("1.0-SqNxt-23v5 (hand-made)", "sqnxt23v5_w1")


def designs(specs: Path) -> list[tuple[str, str]]:
    """v5 and every front spec file, as (label, network argument)."""
    files = sorted(specs.glob("front-*.yaml"))
    if not files:
        raise SqueezeNextError(f"no front-*.yaml under {specs}; run benchmarks/search_report.py first")
    return [REFERENCE, *((path.stem, str(path.relative_to(ROOT))) for path in files)]


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=positive_int, default=1)
    parser.add_argument("--seeds", type=seed_list, default=[0, 1])
    parser.add_argument("--specs", type=Path, default=ROOT / "docs" / "search" / "specs")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "search_accuracy")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "search_accuracy.json")
    args = parser.parse_args()
    check_writable(args.json)
    results: list[dict[str, Any]] = []
    for label, network in designs(args.specs):
        runs = []
        for seed in args.seeds:
            out = args.out / f"{Path(network).stem}_seed{seed}"
            config = short_fashion_mnist(network, out=out, epochs=args.epochs, seed=seed)
            started = time.perf_counter()
            with claimed_run_folder(out, resume=None, overwrite=True):
                outcome = train_to_completion(config)
            seconds = time.perf_counter() - started
            runs.append({"seed": seed, "top1": outcome["test"]["top1"], "seconds": seconds})
            print(f"{label} seed {seed}: top-1 {outcome['test']['top1']:.2f}% ({seconds:.0f} s)", flush=True)
        top1 = [run["top1"] for run in runs]
        results.append(
            {"label": label, "network": network, "params": outcome["params"], "runs": runs,
             "mean_top1": statistics.fmean(top1), "min_top1": min(top1), "max_top1": max(top1)}
        )  # fmt: skip
    command = f"python benchmarks/search_accuracy.py --epochs {args.epochs} --seeds {','.join(map(str, args.seeds))}"
    write_json(
        args.json,
        {"command": command, "machine": machine_summary(), "epochs": args.epochs, "seeds": args.seeds,
         "recipe": "squeezenext.train.recipes.short_fashion_mnist", "results": results},
    )  # fmt: skip
    print(f"\nwrote {args.json}; `make docs` renders its table into docs/search.md")


if __name__ == "__main__":
    run_script(main)
