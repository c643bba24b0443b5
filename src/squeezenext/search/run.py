"""``squeezenext.search``: the paper's design method as a tool (networks for an accelerator, accelerators for
a network, or both), exhaustive where the space allows and with Optuna's samplers where it does not.

The exhaustive path evaluates every candidate with the vectorized cost model
(:mod:`squeezenext.search.evaluate`) and keeps the feasible Pareto front. The Optuna path (``nsga2`` or
``tpe``) asks one candidate per trial and stores every finished trial in an Optuna storage (by default
``OUT/search.db``, SQLite), so a killed search resumes with ``resume=True`` and several workers can share
one storage URL; its front is computed from all finished trials in the storage.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from squeezenext.accel.cost import simulate, total
from squeezenext.accel.hardware import DEFAULT_HARDWARE, HardwareConfig, resolve_hardware
from squeezenext.accel.study import VARIANTS
from squeezenext.accel.topology import load_network
from squeezenext.errors import SqueezeNextError
from squeezenext.paper import PAPER_INPUT_SIZE, PAPER_RATIOS
from squeezenext.peers import PEERS
from squeezenext.registry import get_spec
from squeezenext.search.accuracy import DEFAULT_RUNGS, check_rungs, short_training_error
from squeezenext.search.evaluate import evaluate_fixed_network, evaluate_networks
from squeezenext.search.latency import LATENCY_BACKEND, check_latency_backend, onnx_latency_ms
from squeezenext.search.objectives import (
    MEASURED,
    OBJECTIVES,
    Constraint,
    check_contradictions,
    objective_matrix,
    pareto_front,
    total_violation,
)
from squeezenext.search.space import HardwareSpace, NetworkSpace, SearchError, Template
from squeezenext.specs import SqueezeNextSpec

SpaceKind = Literal["network", "hardware", "both"]
SPACE_KINDS: tuple[SpaceKind, ...] = ("network", "hardware", "both")
Sampler = Literal["auto", "exhaustive", "nsga2", "tpe"]
SAMPLERS: tuple[Sampler, ...] = ("auto", "exhaustive", "nsga2", "tpe")
EXHAUSTIVE_LIMIT = 5_000_000
"""``auto`` evaluates every candidate up to this many (a few seconds); larger spaces go to NSGA-II."""
STUDY_NAME = "squeezenext-search"


@dataclass(frozen=True)
class SearchRequest:
    """What to search. ``base`` is the network (a name, spec file or any network argument for the hardware
    space) and ``hardware`` the accelerator (preset or YAML) that the fixed part of the space keeps."""

    base: str = "sqnxt23_w1"
    space: SpaceKind = "network"
    hardware: str = DEFAULT_HARDWARE
    network_space: NetworkSpace = field(default_factory=NetworkSpace)
    hardware_space: HardwareSpace = field(default_factory=HardwareSpace)
    objectives: tuple[str, ...] = ("time", "energy")
    constraints: tuple[Constraint, ...] = ()
    sampler: Sampler = "auto"
    trials: int = 200
    storage: str | None = None
    resume: bool = False
    seed: int = 0
    peers: bool = False
    input_size: int = PAPER_INPUT_SIZE
    rungs: tuple[int, ...] = DEFAULT_RUNGS
    """Training images of each fidelity rung of the ``error`` objective (:mod:`squeezenext.search.accuracy`)."""
    latency_backend: str = LATENCY_BACKEND
    """The runtime the ``latency`` objective times designs in (:mod:`squeezenext.search.latency`)."""

    def __post_init__(self) -> None:
        check_rungs(self.rungs)
        if "latency_ms" in self.measured_metrics():
            check_latency_backend(self.latency_backend)
        if self.space not in SPACE_KINDS:
            raise SearchError(f"space must be one of {', '.join(SPACE_KINDS)}, got {self.space!r}")
        if self.sampler not in SAMPLERS:
            raise SearchError(f"sampler must be one of {', '.join(SAMPLERS)}, got {self.sampler!r}")
        if not self.objectives:
            raise SearchError("give at least one objective")
        if self.trials < 1:
            raise SearchError(f"trials must be >= 1, got {self.trials}")
        check_contradictions(self.constraints)

    def measured_metrics(self) -> set[str]:
        """The measured (not simulated) metrics the objectives and constraints need."""
        used = {OBJECTIVES[o] for o in self.objectives} | {c.key for c in self.constraints}
        return used & MEASURED


@dataclass(frozen=True)
class Candidate:
    """One design: a network (template and blocks, or the fixed base workload) on one accelerator."""

    hardware: HardwareConfig
    metrics: dict[str, float]
    template: Template | None = None
    blocks: tuple[int, int, int, int] | None = None

    def spec(self, name: str) -> SqueezeNextSpec | None:
        """The network's spec (None for a fixed non-SqueezeNext network)."""
        if self.template is None or self.blocks is None:
            return None
        return self.template.spec(self.blocks, name)


@dataclass(frozen=True)
class SearchResult:
    """A finished search: its front, how many candidates it saw and met the constraints, the references."""

    request: SearchRequest
    front: list[Candidate]
    evaluated: int
    feasible: int
    references: dict[str, dict[str, float]]
    sampler: str
    cloud: npt.NDArray[np.float64]
    """Objective values of (a sample of up to 20,000) feasible candidates, for the plot."""
    history: list[dict[str, float]] = field(default_factory=list)
    """Optuna path: every finished trial's metrics, in trial order (the convergence plot)."""


def _templates_and_distributions(request: SearchRequest, base: SqueezeNextSpec) -> tuple[list[Template], Any]:
    if request.space == "hardware":
        return [Template.of(base, request.input_size)], np.array([base.blocks], dtype=np.int64)
    space = request.network_space
    return space.templates(), space.distributions()


def _base_spec(request: SearchRequest) -> SqueezeNextSpec | None:
    """The base as a SqueezeNext spec, or None when it is another network (allowed for the hardware space)."""
    try:
        return get_spec(request.base)
    except SqueezeNextError:
        if request.space != "hardware":
            raise
        return None


def _configs(request: SearchRequest, base_hardware: HardwareConfig) -> list[HardwareConfig]:
    if request.space == "network":
        return [base_hardware]
    return request.hardware_space.configs(base_hardware)


def space_size(request: SearchRequest) -> int:
    """Number of candidates in the request's space."""
    base_hardware = resolve_hardware(request.hardware)
    configs = len(_configs(request, base_hardware))
    if request.space == "hardware":
        return configs
    return request.network_space.size * configs


def _check_metric_keys(request: SearchRequest, spec: SqueezeNextSpec | None) -> None:
    if spec is None:
        bad = [str(c) for c in request.constraints if c.key in ("blocks", "width")]
        if bad:
            raise SearchError(f"{', '.join(bad)}: blocks and width exist only for SqueezeNext networks")


def reference_metrics(request: SearchRequest, hardware: HardwareConfig) -> dict[str, dict[str, float]]:
    """v1..v5 (and the peers) on the base accelerator, for the report and the plot."""
    if request.space == "hardware":
        return {}
    names = list(VARIANTS)  # the paper's hand-made designs (v2-v4 UNVERIFIED)
    if request.peers:
        names += [(label, PEERS[label]) for label in PAPER_RATIOS]
    result = {}
    for label, name in names:
        workload = load_network(name, input_size=request.input_size)
        cost = total(simulate(workload.layers, hardware))
        spec = None if ":" in name else get_spec(name)
        measured = {}
        if "latency_ms" in request.measured_metrics():
            # in the same run and runtime as the designs
            measured["latency_ms"] = onnx_latency_ms(name, request.input_size, backend=request.latency_backend)
        if "error_pct" in request.measured_metrics():  # the last rung's training, never pruned
            images = request.rungs[-1]
            measured.update(error_pct=short_training_error(name, images, request.seed), trained_images=images)
        result[label] = {
            **measured,
            "time_ms": cost.time_s * 1e3,
            "energy": cost.energy,
            "edp": cost.energy * cost.time_s * 1e3,
            "utilization": cost.utilization,
            "params": float(workload.params),
            "macs": float(cost.macs),
            "blocks": float(sum(spec.blocks)) if spec else math.nan,
            "width": spec.width if spec else math.nan,
        }
    return result


def run_search(request: SearchRequest, progress: Callable[[int, int], None] | None = None) -> SearchResult:
    """Search the request's space and return the feasible Pareto front (nothing is written; see
    :func:`squeezenext.search.report.write_search`). ``progress(done, total)`` is called as work proceeds."""
    spec = _base_spec(request)
    _check_metric_keys(request, spec)
    base_hardware = resolve_hardware(request.hardware)
    size = space_size(request)
    sampler = request.sampler
    if sampler == "auto":
        sampler = "exhaustive" if size <= EXHAUSTIVE_LIMIT else "nsga2"
    if sampler == "exhaustive" and request.measured_metrics():
        raise SearchError(
            f"{', '.join(sorted(request.measured_metrics()))} is measured per design (seconds each); use --sampler "
            "nsga2 (or tpe) with --trials"
        )
    if sampler == "exhaustive":
        if request.storage or request.resume:
            raise SearchError("--storage and --resume belong to the Optuna samplers (nsga2, tpe); an exhaustive "
                              "search takes seconds and keeps no state")  # fmt: skip
        if size > EXHAUSTIVE_LIMIT:
            raise SearchError(
                f"the space holds {size:,} candidates, more than the exhaustive limit {EXHAUSTIVE_LIMIT:,}; use "
                "--sampler nsga2 (or tpe) with --trials, or narrow the space"
            )
        result = _exhaustive(request, spec, base_hardware, progress)
    else:
        from squeezenext.search.optuna_search import optuna_search

        result = optuna_search(request, spec, base_hardware, sampler, progress)
    return dataclasses.replace(result, references=reference_metrics(request, base_hardware), sampler=sampler)


def _exhaustive(
    request: SearchRequest,
    spec: SqueezeNextSpec | None,
    base_hardware: HardwareConfig,
    progress: Callable[[int, int], None] | None,
) -> SearchResult:
    configs = _configs(request, base_hardware)
    if spec is None:
        workload = load_network(request.base, input_size=request.input_size)
        metrics = evaluate_fixed_network(workload.layers, workload.params, configs)
        return select_front(request, metrics, lambda i: Candidate(configs[i], _row(metrics, i)), progress)
    templates, distributions = _templates_and_distributions(request, spec)
    evaluation = evaluate_networks(templates, distributions, configs)
    if progress:
        progress(len(evaluation), len(evaluation))

    def candidate(i: int) -> Candidate:
        blocks = tuple(int(b) for b in distributions[evaluation.distribution[i]])
        return Candidate(
            configs[evaluation.config[i]],
            _row(evaluation.metrics, i),
            templates[evaluation.template[i]],
            blocks,  # type: ignore[arg-type]
        )

    return select_front(request, evaluation.metrics, candidate, None)


def _row(metrics: dict[str, npt.NDArray[np.float64]], index: int) -> dict[str, float]:
    return {key: float(metrics[key][index]) for key in metrics}


def select_front(
    request: SearchRequest,
    metrics: dict[str, npt.NDArray[np.float64]],
    candidate: Callable[[int], Candidate],
    progress: Callable[[int, int], None] | None,
) -> SearchResult:
    """The feasible front of evaluated candidates (or the error that shows the closest designs)."""
    count = len(metrics["time_ms"])
    if progress:
        progress(count, count)
    violation = total_violation(metrics, request.constraints)
    feasible = np.flatnonzero(violation == 0)
    if not len(feasible):
        raise SearchError(no_feasible_message(request, metrics, violation, candidate))
    values = objective_matrix(metrics, request.objectives)
    front = feasible[pareto_front(values[feasible])]
    rng = np.random.default_rng(request.seed)
    sample = feasible if len(feasible) <= 20_000 else rng.choice(feasible, 20_000, replace=False)
    return SearchResult(
        request=request,
        front=[candidate(int(i)) for i in front],
        evaluated=count,
        feasible=len(feasible),
        references={},
        sampler="",
        cloud=values[np.sort(sample)],
    )


def no_feasible_message(
    request: SearchRequest,
    metrics: dict[str, npt.NDArray[np.float64]],
    violation: npt.NDArray[np.float64],
    candidate: Callable[[int], Candidate],
) -> str:
    """ "No design meets the constraints", with the three closest designs and what each misses."""
    closest = np.argsort(violation, kind="stable")[:3]
    described = []
    for index in closest:
        design = candidate(int(index))
        where = f"blocks {list(design.blocks)}" if design.blocks else design.hardware.name
        misses = ", ".join(
            f"{c.key}={metrics[c.key][index]:.4g}"
            for c in request.constraints
            if c.violation(metrics[c.key][index : index + 1])[0] > 0
        )
        described.append(f"{where} ({misses})")
    constraints = ", ".join(str(c) for c in request.constraints)
    return (
        f"no design of the {len(violation):,} evaluated meets every constraint ({constraints}); the closest: "
        + "; ".join(described)
        + ". Loosen a constraint or widen the space."
    )
