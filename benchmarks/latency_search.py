"""The paper's question on this CPU: the SqueezeNext family member fastest in one runtime, from its CPU profile.

    python benchmarks/latency_search.py --profile docs/results/cpu_profile-KIND-BACKEND.yaml [--seeds 0,1]

Ranks every design of the paper's-question space (21 blocks in four stages, width 1.0, stems 3/5/7, v5 wiring on
or off, parameters between 1.0-SqNxt-23's and 1.0-SqNxt-23v5's, 227x227) by the latency the profile predicts
(``squeezenext search --hardware PROFILE --objective time``, exhaustive), then times the fastest design, v5 and
SqueezeNet 1.0 in the profile's runtime and threads in interleaved rounds in the same run (best of each), and
trains the fastest design with the short Fashion-MNIST recipe and the seeds docs/results/search_accuracy.json used
for v5, so its accuracy is compared under the same recipe and seeds. Writes
docs/results/latency_search-KIND-BACKEND.json (`make docs` renders each file into docs/search.md).
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from squeezenext.argtypes import seed_list
from squeezenext.cli import OneLineParser, run_script
from squeezenext.deploy.cpu_profiles import open_profile, require_measured_here
from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import cpu_kind, machine_summary
from squeezenext.paper import PAPER_INPUT_SIZE
from squeezenext.search.cpu_search import REMEASURE_ROUNDS, cpu_search, remeasure
from squeezenext.search.objectives import Constraint
from squeezenext.search.request import SearchRequest
from squeezenext.sources import load_workload
from squeezenext.specfile import write_spec_file
from squeezenext.train.launch import train_to_completion
from squeezenext.train.recipes import short_fashion_mnist
from squeezenext.train.rundir import claimed_run_folder

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", type=Path, required=True, help="a CPU profile (squeezenext calibrate)")
    parser.add_argument("--seeds", type=seed_list, default=[0, 1])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "latency_search")
    parser.add_argument("--json", type=Path, help="default: docs/results/latency_search-KIND-BACKEND.json")
    args = parser.parse_args()
    profile = open_profile(args.profile)
    require_measured_here(profile, args.profile, "the paper's question on this CPU")
    out_json = args.json or ROOT / "docs" / "results" / f"latency_search-{cpu_kind()}-{profile.backend}.json"
    check_writable(out_json)
    accuracy = json.loads((ROOT / "docs" / "results" / "search_accuracy.json").read_text())
    v5_runs = {run["seed"]: run["top1"] for run in accuracy["results"][0]["runs"]}
    if sorted(v5_runs) != sorted(args.seeds) or accuracy["epochs"] != 1:
        raise SqueezeNextError(
            f"v5's accuracy (docs/results/search_accuracy.json) was measured with seeds {sorted(v5_runs)}, not "
            f"{sorted(args.seeds)}; give those --seeds or rerun benchmarks/search_accuracy.py"
        )
    v1, v5 = (load_workload(name, input_size=PAPER_INPUT_SIZE) for name in ("sqnxt23_w1", "sqnxt23v5_w1"))
    constraints = (f"params>={v1.params}", f"params<={v5.params}")
    request = SearchRequest(objectives=("time",), constraints=tuple(Constraint.parse(c) for c in constraints))
    result = cpu_search(request, profile)
    rows = remeasure(result, profile)
    fastest = result.front[0]
    assert fastest.template is not None
    args.out.mkdir(parents=True, exist_ok=True)
    spec_path = args.out / "fastest.yaml"
    spec = fastest.spec("fastest")
    assert spec is not None
    write_spec_file(spec, spec_path, f"the fastest design on {profile.name}")
    runs = []
    design = f"b{'-'.join(map(str, fastest.blocks or ()))}-k{fastest.template.stem_kernel}-" + (
        "v5" if fastest.template.v5_wiring else "std"
    )
    trained = args.out / "trained.json"  # a design found fastest in several runtimes is trained once per seed
    known = json.loads(trained.read_text()) if trained.exists() else {}
    for seed in args.seeds:
        key = f"{design}-seed{seed}"
        if key not in known:
            out = args.out / key
            with claimed_run_folder(out, resume=None, overwrite=True):
                outcome = train_to_completion(short_fashion_mnist(str(spec_path), out=out, seed=seed))
            known[key] = outcome["test"]["top1"]
            write_json(trained, known)
        runs.append({"seed": seed, "top1": known[key]})
        print(f"fastest design {design} seed {seed}: top-1 {known[key]:.2f}%", flush=True)
    seeds = ",".join(map(str, args.seeds))
    payload = {
        "command": f"python benchmarks/latency_search.py --profile {args.profile} --seeds {seeds}",
        "profile": str(args.profile),
        "backend": profile.backend,
        "threads": profile.threads,
        "machine": machine_summary(),
        "evaluated": result.evaluated,
        "feasible": result.feasible,
        "constraints": list(constraints),
        "fastest": {
            "blocks_per_stage": list(fastest.blocks or ()),
            "stem_kernel": fastest.template.stem_kernel,
            "v5_wiring": fastest.template.v5_wiring,
            "params": fastest.metrics["params"],
            "macs": fastest.metrics["macs"],
            "runs": runs,
            "mean_top1": statistics.fmean(run["top1"] for run in runs),
        },
        "predicted_variants_ms": {label: values["time_ms"] for label, values in result.references.items()},
        "remeasure_rounds": REMEASURE_ROUNDS,
        "remeasured": [
            {**row, "design": "fastest found" if index == 0 else row["design"]} for index, row in enumerate(rows)
        ],
        "v5_mean_top1": statistics.fmean(v5_runs.values()),
    }
    write_json(out_json, payload)
    print(json.dumps(payload, indent=2))


if __name__ == "__main__":
    run_script(main)
