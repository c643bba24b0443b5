"""How good the calibrated CPU latency model is: predicted against measured on random designs of the space.

    python benchmarks/latency_model.py --profile docs/results/cpu_profile-KIND-onnxruntime.yaml [--designs 100]

Draws ``--designs`` random designs (seeded): blocks summing to 21 in four stages of at least one, widths
0.5-2.0 in steps of 0.25 (so half of them between calibrated widths, interpolated), stems 3/5/7, both
wirings, sizes 224 and 227. Each is exported and timed exactly as the calibration times its networks (the
same runtime and threads, batch 1, interleaved rounds, each beside the probe that keeps timings to the machine's
fast state, fastest clean timing kept), then predicted from the profile.
Writes docs/results/latency_model-KIND-BACKEND.json: the share within +-10% (goal >= 95% for onnxruntime
fp32), the mean absolute percentage error, Spearman's rank correlation (goal >= 0.95), the calibration time
and the predictions per second (goal >= 10^4), with every design.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from squeezenext.accel.cpu_latency import load_profile
from squeezenext.argtypes import positive_int
from squeezenext.cli import OneLineParser, run_script
from squeezenext.deploy.calibrate import (
    CalibrationNetwork,
    CalibrationRequest,
    TimedFile,
    export_networks,
    fastest_ms,
    time_files,
)
from squeezenext.deploy.cpu_profiles import open_profile, require_measured_here
from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import cpu_kind, machine_summary
from squeezenext.registry import get_spec
from squeezenext.specs import STAGES

ROOT = Path(__file__).resolve().parents[1]
TOTAL_BLOCKS = 21
WIDTHS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
STEMS = (3, 5, 7)
SIZES = (224, 227)
WITHIN = 0.10
SPACE_SIZE = math.comb(TOTAL_BLOCKS - 1, STAGES - 1) * len(WIDTHS) * len(SIZES) * len(STEMS) * 2
"""Distinct designs: block distributions x widths x sizes x stems x wirings."""


def random_designs(count: int, seed: int) -> list[CalibrationNetwork]:
    """Distinct random designs of the space (see the module docstring)."""
    rng = np.random.default_rng(seed)
    designs: dict[str, CalibrationNetwork] = {}
    while len(designs) < count:
        cuts = np.sort(rng.choice(np.arange(1, TOTAL_BLOCKS), size=STAGES - 1, replace=False))
        sizes = np.diff(np.concatenate(([0], cuts, [TOTAL_BLOCKS])))
        blocks = (int(sizes[0]), int(sizes[1]), int(sizes[2]), int(sizes[3]))
        design = CalibrationNetwork(
            float(rng.choice(WIDTHS)), int(rng.choice(SIZES)), int(rng.choice(STEMS)), bool(rng.integers(2)), blocks
        )
        designs[design.key] = design
    return list(designs.values())


def spearman(a: list[float], b: list[float]) -> float:
    """Spearman's rank correlation (no ties in measured times)."""
    rank_a, rank_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(rank_a, rank_b)[0, 1])


def predictions_per_second(profile_path: Path) -> float:
    """Designs predicted per second by the vectorized path the search uses (one template, 10^5 designs)."""
    profile = load_profile(profile_path)
    distributions = np.tile(np.array([[2, 4, 14, 1]]), (100_000, 1))
    started = time.perf_counter()
    profile.predict_distributions(get_spec("sqnxt23v5_w1"), profile.input_sizes[0], distributions)
    return len(distributions) / (time.perf_counter() - started)


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, required=True)
    parser.add_argument("--designs", type=positive_int, default=100)
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.designs > SPACE_SIZE:
        raise SqueezeNextError(f"--designs {args.designs}: the space has {SPACE_SIZE:,} designs")
    profile = open_profile(args.profile)
    require_measured_here(profile, args.profile, "the validation")
    out = args.json or ROOT / "docs" / "results" / f"latency_model-{cpu_kind()}-{profile.backend}.json"
    check_writable(out)
    designs = random_designs(args.designs, args.seed)
    predicted = {
        d.key: profile.predict(d.template().spec(d.blocks, name=d.key), d.input_size).total_ms for d in designs
    }
    request = CalibrationRequest(backend=profile.backend, threads=profile.threads, rounds=args.rounds)
    with tempfile.TemporaryDirectory(prefix="squeezenext-latency-model-") as work:
        files = export_networks(designs, profile.backend, Path(work), lambda: None)
        timed = [TimedFile(d.key, files[d.key], d.input_size) for d in designs]
        rounds = time_files(timed, request, Path(work), lambda: None)
    best_probe = min(t.probe_ms for timings in rounds.values() for t in timings)
    rows: list[dict[str, Any]] = []
    for design in designs:
        measured = fastest_ms(rounds[design.key], best_probe, profile.threads)
        rows.append({"design": design.key, "predicted_ms": predicted[design.key], "measured_ms": measured,
                     "error": predicted[design.key] / measured - 1})  # fmt: skip
    errors = [abs(row["error"]) for row in rows]
    summary: dict[str, Any] = {
        "designs": len(rows),
        "within_10_percent": sum(e <= WITHIN for e in errors) / len(errors),
        "mean_absolute_percentage_error": 100 * statistics.fmean(errors),
        "worst_error": max(rows, key=lambda row: abs(row["error"])),
        "spearman": spearman([r["predicted_ms"] for r in rows], [r["measured_ms"] for r in rows]),
        "calibration_seconds": profile.calibration_seconds,
        "predictions_per_second": predictions_per_second(args.profile),
    }
    command = f"python benchmarks/latency_model.py --profile {args.profile} --designs {args.designs}"
    write_json(out, {"command": command, "profile": str(args.profile), "backend": profile.backend,
                     "threads": profile.threads, "rounds": args.rounds, "seed": args.seed,
                     "machine": machine_summary(), "summary": summary, "results": rows})  # fmt: skip
    print(
        f"{len(rows)} designs: {100 * summary['within_10_percent']:.0f}% within +-10%, MAPE "
        f"{summary['mean_absolute_percentage_error']:.1f}%, Spearman {summary['spearman']:.3f}, "
        f"{summary['predictions_per_second']:,.0f} predictions/s; wrote {out}"
    )


if __name__ == "__main__":
    run_script(main)
