"""Fashion-MNIST results table: SqueezeNexts against SqueezeNet 1.1 and AlexNet, one recipe, one budget.

    python benchmarks/fashion_mnist_table.py [--epochs 3] [--out runs/fmnist_table] [--json FILE]

Every model is trained from scratch with the short recipe of :mod:`squeezenext.train.recipes` (the main job's,
at 64x64 with the grey channel repeated, standard stems, batch 128, the paper's base learning rate). One extra
row, labelled as such, gives SqueezeNet 1.1 its own lower learning rate, since it does not learn at the shared
one. Writes JSON (default docs/results/fashion_mnist_table.json, with the machine it ran on), from which
``make docs`` renders the README's table and checks the paper's claim that SqueezeNext matches AlexNet's
accuracy with far fewer parameters. ``--models`` re-runs a subset and keeps the other rows of an existing JSON
file of the same epochs.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from squeezenext.argtypes import positive_float, positive_int
from squeezenext.cli import OneLineParser, run_script
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import machine_summary
from squeezenext.train.launch import train_to_completion
from squeezenext.train.recipes import PAPER_BASE_LR, SHORT_INPUT_SIZE, short_fashion_mnist
from squeezenext.train.rundir import claimed_run_folder

ROOT = Path(__file__).resolve().parents[1]
SQUEEZENET_OWN_LR = 0.08
"""At batch 1024: 0.01 at batch 128, where SqueezeNet 1.1 (no BatchNorm) leaves chance level."""
MODELS: tuple[tuple[str, str, float | None], ...] = (
    ("1.0-SqNxt-23", "sqnxt23_w1", None),
    ("1.0-SqNxt-23v5", "sqnxt23v5_w1", None),
    ("1.0-G-SqNxt-23", "sqnxt23g_w1", None),
    ("2.0-SqNxt-23", "sqnxt23_w2", None),
    ("SqueezeNet 1.1", "torchvision:squeezenet1_1", None),
    ("SqueezeNet 1.1, own LR (0.01 at batch 128)", "torchvision:squeezenet1_1", SQUEEZENET_OWN_LR),
    ("AlexNet", "torchvision:alexnet", None),
)


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=positive_int, default=1)
    parser.add_argument("--base-lr", type=positive_float, default=PAPER_BASE_LR, help="at batch 1024 (the paper's)")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "fmnist_table")
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "fashion_mnist_table.json")
    parser.add_argument("--models", nargs="*", help="subset of the registry names above")
    args = parser.parse_args()
    check_writable(args.json)

    kept: dict[str, dict[str, Any]] = {}
    if args.models and args.json.exists():
        previous = json.loads(args.json.read_text())
        if previous.get("epochs") == args.epochs:
            kept = {r["label"]: r for r in previous["results"]}
    results: list[dict[str, Any]] = []
    for label, model, own_lr in MODELS:
        if args.models and model not in args.models:
            if label in kept:
                results.append(kept[label])
            continue
        base_lr = own_lr or args.base_lr
        out = args.out / (model.replace(":", "_") + ("_own_lr" if own_lr else ""))
        config = short_fashion_mnist(model, out=out, epochs=args.epochs, base_lr=base_lr)
        started = time.perf_counter()
        with claimed_run_folder(Path(config.out), resume=None, overwrite=True):
            outcome = train_to_completion(config)
        seconds = time.perf_counter() - started
        test = outcome["test"]
        results.append({"label": label, "model": model, "params": outcome["params"], "seconds": seconds, **test})
        print(f"{label}: top-1 {test['top1']:.2f}% ({outcome['params']:,} parameters, {seconds:.0f} s)", flush=True)

    payload = {
        "command": f"python benchmarks/fashion_mnist_table.py --epochs {args.epochs}",
        "machine": machine_summary(),
        "epochs": args.epochs,
        "input_size": SHORT_INPUT_SIZE,
        "recipe": "configs/fashion_mnist.yaml",
        "results": results,
    }
    write_json(args.json, payload)
    print(f"\nwrote {args.json}; `make docs` renders its table into the README")


if __name__ == "__main__":
    run_script(main)
