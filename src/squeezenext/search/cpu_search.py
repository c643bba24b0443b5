"""The design search on a CPU latency profile (``search --hardware PROFILE``): the paper's method with this
CPU's calibrated latency (:mod:`squeezenext.accel.cpu_latency`) in place of the accelerator model.

Every block distribution of the network space is predicted (the model is linear in the block counts, so
millions per second), the feasible front is selected as in the accelerator search, and then the front's
designs, 1.0-SqNxt-23v5 and SqueezeNet 1.0 are measured in the profile's runtime and thread count, in
interleaved rounds in the same run, so every prediction stands beside a measurement.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from squeezenext.accel.cpu_latency import CpuProfile
from squeezenext.accel.hardware import DEFAULT_HARDWARE, resolve_hardware
from squeezenext.accel.study import VARIANTS
from squeezenext.deploy.calibrate import CalibrationRequest, TimedFile, fastest_ms, probe_network, time_files
from squeezenext.deploy.cpu_profiles import differences_here
from squeezenext.peers import PEERS
from squeezenext.search.evaluate import evaluate_networks
from squeezenext.search.latency import export_for_latency
from squeezenext.search.report import point_name
from squeezenext.search.request import Candidate, SearchRequest, SearchResult, select_front
from squeezenext.search.run import templates_and_distributions
from squeezenext.search.space import SearchError
from squeezenext.sources import SQUEEZENEXT_KINDS, parse_network

CPU_OBJECTIVES = ("time", "params", "macs")
"""What a CPU latency profile can rank by: its predicted time, and the network's own size."""
CPU_METRICS = ("time_ms", "params", "macs", "blocks", "width")
REMEASURE_ROUNDS = 3
PROBE_LABEL = "probe"
REFERENCES = {"v5": "sqnxt23v5_w1", "SqueezeNet 1.0": PEERS["SqueezeNet 1.0"]}
"""Measured beside the front: the hand-made design and the paper's peer."""


def check_cpu_request(request: SearchRequest) -> None:
    """Refuse, before any work, what a CPU latency profile cannot answer."""
    if request.space != "network":
        raise SearchError(f"--space {request.space} searches accelerators; a CPU latency profile describes one CPU")
    unknown = [o for o in request.objectives if o not in CPU_OBJECTIVES]
    bad = [str(c) for c in request.constraints if c.key not in CPU_METRICS]
    if unknown or bad:
        raise SearchError(
            f"{', '.join(unknown + bad)}: a CPU latency profile predicts time only; objectives: "
            f"{', '.join(CPU_OBJECTIVES)}; constraints on {', '.join(CPU_METRICS)}"
        )
    if request.sampler not in ("auto", "exhaustive") or request.storage or request.resume or request.peers:
        raise SearchError(
            "a CPU latency profile is searched exhaustively (predictions are microseconds); drop --sampler, "
            "--storage, --resume and --peers"
        )


def cpu_search(request: SearchRequest, profile: CpuProfile) -> SearchResult:
    """The feasible front of the network space, every design predicted by ``profile`` (exhaustive)."""
    check_cpu_request(request)
    spec = parse_network(request.base, SQUEEZENEXT_KINDS, purpose="the search's --base").architecture()
    templates, distributions = templates_and_distributions(request, spec)
    stand_in = resolve_hardware(DEFAULT_HARDWARE)  # for params and MACs only, which no hardware changes
    evaluation = evaluate_networks(templates, distributions, [stand_in])
    times = [profile.predict_distributions(t.spec((1, 1, 1, 1)), t.input_size, distributions) for t in templates]
    metrics = {key: evaluation.metrics[key] for key in CPU_METRICS if key != "time_ms"}
    metrics["time_ms"] = np.concatenate(times)

    def candidate(i: int) -> Candidate:
        blocks = tuple(int(b) for b in distributions[evaluation.distribution[i]])
        row = {key: float(value[i]) for key, value in metrics.items()}
        return Candidate(stand_in, row, templates[evaluation.template[i]], blocks)  # type: ignore[arg-type]

    result = select_front(request, metrics, candidate, None)
    references = {}
    for label, name in VARIANTS:
        variant = parse_network(name).architecture()
        prediction = profile.predict(variant, request.input_size)
        references[label] = {"time_ms": prediction.total_ms, "blocks": float(sum(variant.blocks))}
    return SearchResult(
        request=request,
        front=result.front,
        evaluated=result.evaluated,
        feasible=result.feasible,
        references=references,
        sampler="exhaustive",
        cloud=result.cloud,
    )


def remeasure(result: SearchResult, profile: CpuProfile) -> list[dict[str, Any]]:
    """The front's designs, v5 and SqueezeNet 1.0 timed in the profile's runtime and threads, in interleaved
    rounds exactly as the calibration times (each one's fastest timing in the machine's fast state), beside their
    predictions (None where the profile cannot predict)."""
    size = result.request.input_size
    networks: dict[str, Any] = {}
    predicted: dict[str, float | None] = {}
    for index, candidate in enumerate(result.front):
        label = point_name(index)
        spec = candidate.spec(label)
        assert spec is not None
        networks[label], predicted[label] = spec, candidate.metrics["time_ms"]
    for label, name in REFERENCES.items():
        networks[label] = name
        source = parse_network(name)
        predicted[label] = profile.predict(source.spec, size).total_ms if source.spec is not None else None
    request = CalibrationRequest(backend=profile.backend, threads=profile.threads, rounds=REMEASURE_ROUNDS)
    probe = probe_network(profile)
    same_machine = not differences_here(profile)
    reference = profile.state_probe["best_ms"] if probe is not None and same_machine else math.inf
    with tempfile.TemporaryDirectory(prefix="squeezenext-cpu-search-") as work:

        def exported(label: str, network: Any, at: int) -> TimedFile:
            (Path(work) / label).mkdir()
            return TimedFile(
                label, export_for_latency(parse_network(network), at, Path(work) / label, profile.backend), at
            )

        files = [exported(label, network, size) for label, network in networks.items()]
        if probe is not None and reference < math.inf:  # the calibration's probe first: its best says the state
            files.insert(
                0, exported(PROBE_LABEL, probe.template().spec(probe.blocks, name=probe.key), probe.input_size)
            )
        rounds = time_files(files, request, Path(work), lambda: None, reference)  # timed as the calibration times
    best_probe = min(reference, *(t.probe_ms for timings in rounds.values() for t in timings))
    best = {label: fastest_ms(timings, best_probe, profile.threads) for label, timings in rounds.items()}
    return [
        {"design": label, "predicted_ms": predicted[label], "measured_ms": best[label],
         "error": None if (p := predicted[label]) is None else p / best[label] - 1}
        for label in networks
    ]  # fmt: skip


def cpu_search_json(
    result: SearchResult, profile: CpuProfile, profile_path: Path, rows: list[dict[str, Any]]
) -> dict[str, Any]:
    """front.json of a CPU search: the profile, the front's designs with their predicted and measured latency."""
    measured = {row["design"]: row for row in rows}
    points = []
    for index, candidate in enumerate(result.front):
        name = point_name(index)
        template = candidate.template
        assert template is not None
        points.append({
            "name": name, "spec": f"specs/{name}.yaml", "blocks_per_stage": list(candidate.blocks or ()),
            "width": template.width, "stem_kernel": template.stem_kernel, "v5_wiring": template.v5_wiring,
            "input_size": template.input_size, **candidate.metrics, "measured_ms": measured[name]["measured_ms"],
        })  # fmt: skip
    request = result.request
    return {
        "hardware": {"cpu_profile": str(profile_path), "backend": profile.backend, "threads": profile.threads,
                     "machine": profile.machine.__dict__},
        "base": request.base, "objectives": list(request.objectives),
        "constraints": [str(c) for c in request.constraints], "sampler": result.sampler,
        "evaluated": result.evaluated, "feasible": result.feasible, "points": points,
        "references": result.references, "remeasured": rows, "remeasure_rounds": REMEASURE_ROUNDS,
    }  # fmt: skip
