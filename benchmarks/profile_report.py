"""Where inference time goes on this CPU: per-operator profiles of ours and SqueezeNet 1.0 in every runtime.

    python benchmarks/profile_report.py [--runs 100] [--rounds 3]

Profiles 1.0-SqNxt-23v5, 1.0-SqNxt-23 and SqueezeNet 1.0 (batch 1, 224x224, every core) in onnxruntime
(fp32, int8, the exact graph rewrites) and OpenVINO (fp32, int8, and bf16 where the CPU computes bf16
natively) with ``squeezenext.deploy.profile`` (the code behind ``squeezenext profile``), each the fastest of
3 rounds, and writes docs/results/profile-KIND.json, KIND naming this CPU kind (``amd-avx2``, ``intel-amx``,
...), so machines of different kinds keep their own file. docs/deploy.md shows one table per file (checked by
tests/test_profile.py). Profilers add their own cost to each operator; the shares, not the times, are the result.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from squeezenext.argtypes import positive_int
from squeezenext.cli import OneLineParser, run_script
from squeezenext.deploy.backends import PROFILE_BACKENDS, default_backends
from squeezenext.deploy.profile import profile, profiles_markdown
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import cpu_kind, cpu_label, machine_summary

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("sqnxt23v5_w1", "sqnxt23_w1", "torchvision:squeezenet1_0")


def profile_path(kind: str) -> Path:
    """The committed profile file of one CPU kind."""
    return ROOT / "docs" / "results" / f"profile-{kind}.json"


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=positive_int, default=100)
    parser.add_argument("--rounds", type=positive_int, default=3, help="keep each profile's fastest round")
    parser.add_argument("--json", type=Path, default=profile_path(cpu_kind()))
    args = parser.parse_args()
    check_writable(args.json)
    threads = os.cpu_count() or 1
    backends = [b for b in default_backends() if b in PROFILE_BACKENDS]
    profiles = []
    for model in MODELS:
        for backend in backends:
            print(f"profiling {model} in {backend}", flush=True)
            profiles.append(profile(model, backend, threads=threads, runs=args.runs, rounds=args.rounds))
    write_json(
        args.json, {"cpu_kind": cpu_kind(), "cpu": cpu_label(), "machine": machine_summary(), "profiles": profiles}
    )
    print(profiles_markdown(profiles))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    run_script(main)
