"""docs/results/search.json: the paper's design question and co-design, answered by the search.

    python benchmarks/search_report.py

1. From 1.0-SqNxt-23 on the study's 16x16 accelerator (the search's own outputs, spec files included, go to
   docs/search/) (array-16x16: WS or OS per layer), at the paper's depth
   (21 blocks), width 1.0, stem kernels 3/5/7, v5 wiring on or off, with parameters between 1.0-SqNxt-23's
   and 1.0-SqNxt-23v5's and MACs at most 1.0-SqNxt-23's: the exhaustive front for time and energy, and how
   many designs beat the hand-made v5 in both.
2. Co-design: for 1.0-SqNxt-23v5 and SqueezeNet 1.0, every array shape of 256 PEs and every buffer split in
   10% steps, against the default 16x16 preset.
3. Speed: candidates evaluated per second by the exhaustive network x hardware search (best of 3).
Everything is deterministic (the cost model has no randomness); the timing is this machine's. ``make docs``
renders docs/search.md and the README's search paragraph from the JSON (docgen/search.py).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path
from typing import Any

from squeezenext.accel.cost import simulate, total
from squeezenext.accel.hardware import DEFAULT_HARDWARE, resolve_hardware
from squeezenext.cli import OneLineParser, run_script
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import machine_summary
from squeezenext.paper import PAPER_INPUT_SIZE
from squeezenext.rounds import best_of_rounds
from squeezenext.search.objectives import Constraint
from squeezenext.search.report import write_search
from squeezenext.search.request import SearchRequest, SearchResult
from squeezenext.search.run import run_search
from squeezenext.search.space import HardwareSpace
from squeezenext.sources import load_workload

ROOT = Path(__file__).resolve().parents[1]
COMMAND = "python benchmarks/search_report.py"
CODESIGN_NETWORKS = {"1.0-SqNxt-23v5": "sqnxt23v5_w1", "SqueezeNet 1.0": "torchvision:squeezenet1_0"}
JOURNAL_SPEEDUP = "1.9-6.3x"
"""Speed-up from tuning the accelerator to the network (Kwon et al., IBM J. Res. & Dev. 63(6), 2019)."""


def papers_question() -> tuple[SearchRequest, SearchResult]:
    v1 = load_workload("sqnxt23_w1", input_size=PAPER_INPUT_SIZE)
    v5 = load_workload("sqnxt23v5_w1", input_size=PAPER_INPUT_SIZE)
    v1_macs = sum(layer.macs for layer in v1.layers)
    constraints = (f"params>={v1.params}", f"params<={v5.params}", f"macs<={v1_macs}")
    request = SearchRequest(constraints=tuple(Constraint.parse(c) for c in constraints))
    return request, run_search(request)


def codesign(label: str, network: str) -> dict[str, Any]:
    """The fastest 256-PE array shape and buffer split for one network, against the default preset."""
    default = resolve_hardware(DEFAULT_HARDWARE)
    workload = load_workload(network, input_size=PAPER_INPUT_SIZE)
    baseline = total(simulate(workload.layers, default))
    result = run_search(SearchRequest(base=network, space="hardware", objectives=("time",)))
    best = result.front[0]
    return {
        "network": label,
        "candidates": result.evaluated,
        "default_ms": baseline.time_s * 1e3,
        "best_ms": best.metrics["time_ms"],
        "speedup": baseline.time_s * 1e3 / best.metrics["time_ms"],
        "best_array": f"{best.hardware.rows}x{best.hardware.cols}",
        "best_split": list(best.hardware.gb_split),
        "energy_ratio": baseline.energy / best.metrics["energy"],
    }


def search_speed(rounds: int = 3) -> dict[str, float]:
    """Candidates per second of the exhaustive network x hardware search (no references, no output)."""
    request = SearchRequest(space="both")

    def timed(_: str) -> tuple[float, int]:
        started = time.perf_counter()
        evaluated = run_search(request).evaluated
        return time.perf_counter() - started, evaluated

    best, count = best_of_rounds(["search"], timed, rounds, lambda r: r[0], lower_is_better=True)["search"]
    return {"candidates": count, "seconds": best, "candidates_per_s": count / best, "rounds": rounds}


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "search.json")
    parser.add_argument("--front-out", type=Path, default=ROOT / "docs" / "search", help="the search's own outputs")
    args = parser.parse_args()
    check_writable(args.json)
    request, question = papers_question()
    write_search(question, args.front_out)
    codesigns = [codesign(label, name) for label, name in CODESIGN_NETWORKS.items()]
    speed = search_speed()
    v5 = question.references["v5"]
    default = resolve_hardware(DEFAULT_HARDWARE)
    write_json(
        args.json,
        {
            "command": COMMAND,
            "machine": machine_summary(),
            "papers_question": {
                "base": request.base,
                "hardware": request.hardware,
                "constraints": [str(c) for c in request.constraints],
                "network_space": dataclasses.asdict(request.network_space),
                "evaluated": question.evaluated,
                "feasible": question.feasible,
                "front": [
                    {
                        **c.metrics,
                        "blocks_per_stage": list(c.blocks or ()),
                        "stem_kernel": c.template.stem_kernel if c.template else None,
                        "v5_wiring": c.template.v5_wiring if c.template else None,
                        "time_vs_v5": c.metrics["time_ms"] / v5["time_ms"],
                        "energy_vs_v5": c.metrics["energy"] / v5["energy"],
                    }
                    for c in question.front
                ],
                "references": question.references,
            },
            "codesign": {
                "default": default.to_dict(),
                "hardware_space": dataclasses.asdict(HardwareSpace()),
                "journal_speedup": JOURNAL_SPEEDUP,
                "networks": codesigns,
            },
            "speed": speed,
        },
    )
    print(f"wrote {args.json} and {args.front_out}; `make docs` renders docs/search.md from them")


if __name__ == "__main__":
    run_script(main)
