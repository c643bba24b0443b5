"""A CPU-latency search: the SqueezeNext family member fastest in one runtime on this machine, beside v5.

    python benchmarks/latency_search.py [--trials 40] [--seeds 0,1] [--backend onnxruntime]

Searches the paper's-question space (21 blocks, width 1.0, stem 3/5/7, v5 wiring on or off, parameters between
1.0-SqNxt-23's and 1.0-SqNxt-23v5's) with NSGA-II for measured latency at batch 1 in ``--backend`` (onnxruntime
fp32 by default; ``openvino-bf16`` on a CPU with AMX or AVX-512 BF16 searches for the member fastest on its
bf16 units), with v1..v5 timed in the same run and runtime; the fastest design, v5 and SqueezeNet 1.0 are then
timed again in 3 interleaved rounds (best of each, the numbers the docs compare), and the fastest design is trained
with the short Fashion-MNIST recipe and the seeds that docs/results/search_accuracy.json used for v5, so its
accuracy is compared under the same recipe and seeds. Writes docs/results/latency_search-KIND-BACKEND.json,
KIND naming this CPU kind (`make docs` renders each file into docs/search.md, one section per file).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from squeezenext.argtypes import positive_int, seed_list
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import cpu_kind, machine_summary
from squeezenext.peers import PEERS
from squeezenext.search.latency import LATENCY_BACKEND, LATENCY_BACKENDS, onnx_latency_ms
from squeezenext.search.objectives import Constraint
from squeezenext.search.report import write_search
from squeezenext.search.request import SearchRequest
from squeezenext.search.run import run_search
from squeezenext.sources import load_workload
from squeezenext.train.engine import Trainer
from squeezenext.train.recipes import short_fashion_mnist
from squeezenext.train.rundir import claimed_run_folder

ROOT = Path(__file__).resolve().parents[1]


CONFIRM_ROUNDS = 3
"""Interleaved rounds in which the fastest design, v5 and SqueezeNet 1.0 are timed again after the search."""


def confirm_latency(networks: dict[str, str], input_size: int, backend: str) -> dict[str, float]:
    """Each network's best latency over :data:`CONFIRM_ROUNDS` interleaved rounds: the search times every
    design once, so its fastest may owe part of its lead to a quiet moment on a shared machine."""
    times: dict[str, list[float]] = {label: [] for label in networks}
    for _ in range(CONFIRM_ROUNDS):
        for label, network in networks.items():
            times[label].append(onnx_latency_ms(network, input_size, backend=backend))
    return {label: min(values) for label, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=positive_int, default=40)
    parser.add_argument("--seeds", type=seed_list, default=[0, 1])
    parser.add_argument("--backend", choices=LATENCY_BACKENDS, default=LATENCY_BACKEND)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "latency_search")
    parser.add_argument("--json", type=Path, help="default: docs/results/latency_search-KIND-BACKEND.json")
    args = parser.parse_args()
    args.json = args.json or ROOT / "docs" / "results" / f"latency_search-{cpu_kind()}-{args.backend}.json"
    check_writable(args.json)
    v1, v5 = (load_workload(name, input_size=227) for name in ("sqnxt23_w1", "sqnxt23v5_w1"))
    constraints = (f"params>={v1.params}", f"params<={v5.params}")
    request = SearchRequest(
        objectives=("latency",), constraints=tuple(Constraint.parse(c) for c in constraints), sampler="nsga2",
        trials=args.trials, storage=f"sqlite:///{(args.out / 'search.db').resolve()}", resume=True,
        latency_backend=args.backend,
    )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    result = run_search(request)
    write_search(result, args.out / "front")
    fastest = result.front[0]
    spec_path = args.out / "front" / "specs" / "front-001.yaml"
    confirmed = confirm_latency(
        {"fastest found": str(spec_path), "v5": "sqnxt23v5_w1", "SqueezeNet 1.0": PEERS["SqueezeNet 1.0"]},
        request.input_size,
        args.backend,
    )
    runs = []
    for seed in args.seeds:
        out = args.out / f"train_seed{seed}"
        with claimed_run_folder(out, resume=None, overwrite=True):
            outcome = Trainer(short_fashion_mnist(str(spec_path), out=out, seed=seed)).fit()
        runs.append({"seed": seed, "top1": outcome["test"]["top1"]})
        print(f"fastest design seed {seed}: top-1 {outcome['test']['top1']:.2f}%", flush=True)
    accuracy = json.loads((ROOT / "docs" / "results" / "search_accuracy.json").read_text())
    v5_runs = {run["seed"]: run["top1"] for run in accuracy["results"][0]["runs"]}
    if sorted(v5_runs) != sorted(args.seeds) or accuracy["epochs"] != 1:
        raise SystemExit("latency_search: error: v5's accuracy was measured with other seeds; rerun search_accuracy.py")
    seeds = ",".join(map(str, args.seeds))
    backend = f" --backend {args.backend}" if args.backend != LATENCY_BACKEND else ""
    payload = {
        "command": f"python benchmarks/latency_search.py --trials {args.trials} --seeds {seeds}{backend}",
        "backend": args.backend,
        "machine": machine_summary(),
        "trials": result.evaluated,
        "constraints": list(constraints),
        "fastest": {
            "blocks_per_stage": list(fastest.blocks or ()),
            "stem_kernel": fastest.template.stem_kernel if fastest.template else None,
            "v5_wiring": fastest.template.v5_wiring if fastest.template else None,
            **fastest.metrics,
            "runs": runs,
            "mean_top1": statistics.fmean(run["top1"] for run in runs),
        },
        "references_latency_ms": {label: values["latency_ms"] for label, values in result.references.items()},
        "confirm_rounds": CONFIRM_ROUNDS,
        "confirmed_latency_ms": confirmed,
        "v5_mean_top1": statistics.fmean(v5_runs.values()),
    }
    write_json(args.json, payload)
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
