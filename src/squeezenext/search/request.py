"""What a design search is asked and what it returns: the request, a candidate design, the result and its
feasible Pareto front (shared by the exhaustive path, :mod:`squeezenext.search.run`, and the Optuna path,
:mod:`squeezenext.search.optuna_search`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from squeezenext.accel.hardware import DEFAULT_HARDWARE, HardwareConfig
from squeezenext.paper import PAPER_INPUT_SIZE
from squeezenext.search.accuracy import DEFAULT_RUNGS, check_rungs
from squeezenext.search.latency import LATENCY_BACKEND, check_latency_backend
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
from squeezenext.search.storage import check_storage
from squeezenext.specs import SqueezeNextSpec

SpaceKind = Literal["network", "hardware", "both"]
SPACE_KINDS: tuple[SpaceKind, ...] = ("network", "hardware", "both")
Sampler = Literal["auto", "exhaustive", "nsga2", "tpe"]
SAMPLERS: tuple[Sampler, ...] = ("auto", "exhaustive", "nsga2", "tpe")
STUDY_NAME = "squeezenext-search"
DEFAULT_TRIALS = 200
"""Finished trials an Optuna search runs unless told (``--trials``)."""


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
    trials: int = DEFAULT_TRIALS
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
        if isinstance(self.objectives, str) or not all(isinstance(o, str) for o in self.objectives):
            raise SearchError(f"objectives must be a tuple of names ({', '.join(OBJECTIVES)}), got {self.objectives!r}")
        unknown = [o for o in self.objectives if o not in OBJECTIVES]
        if unknown:
            raise SearchError(f"unknown objective(s) {', '.join(map(repr, unknown))}; valid: {', '.join(OBJECTIVES)}")
        if isinstance(self.constraints, str):
            raise SearchError(f"constraints must be a tuple (one KEY<=VALUE each), got the string {self.constraints!r}")
        object.__setattr__(  # a constraint given as text, as the command line gives it, is parsed here
            self,
            "constraints",
            tuple(c if isinstance(c, Constraint) else Constraint.parse(c) for c in self.constraints),
        )
        check_rungs(self.rungs)
        if self.storage is not None:
            check_storage(self.storage)
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
