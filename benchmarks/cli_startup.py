"""Wall time of the light commands (no PyTorch import), best of several runs each.

    python benchmarks/cli_startup.py [--runs 5]

Each command runs in a fresh interpreter, as a user starts it (`python -m squeezenext ...`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from squeezenext.argtypes import positive_int
from squeezenext.cli import OneLineParser, run_script
from squeezenext.machine import cpu_model
from squeezenext.tables import format_table

COMMANDS = (["--help"], ["--version"], ["list"], ["info", "sqnxt23_w1"], ["simulate", "sqnxt23_w1"])


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=positive_int, default=5)
    args = parser.parse_args()
    rows = []
    for argv in COMMANDS:
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-m", "squeezenext", *argv], capture_output=True, check=True)
            times.append(time.perf_counter() - started)
        rows.append(["squeezenext " + " ".join(argv), f"{min(times):.2f}", f"{sorted(times)[len(times) // 2]:.2f}"])
    print(format_table(["command", "best s", "median s"], rows))
    print(f"\n{cpu_model()}, {args.runs} runs each")


if __name__ == "__main__":
    run_script(main)
