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
from typing import Any

import numpy as np
import numpy.typing as npt

from squeezenext.accel.cost import simulate, total
from squeezenext.accel.hardware import HardwareConfig, resolve_hardware
from squeezenext.accel.study import VARIANTS
from squeezenext.paper import PAPER_RATIOS
from squeezenext.peers import PEERS
from squeezenext.search.accuracy import short_training_error
from squeezenext.search.evaluate import evaluate_fixed_network, evaluate_networks
from squeezenext.search.latency import onnx_latency_ms
from squeezenext.search.request import Candidate, SearchRequest, SearchResult, select_front
from squeezenext.search.space import SearchError, Template
from squeezenext.sources import ALL_KINDS, SQUEEZENEXT_KINDS, parse_network
from squeezenext.specs import SqueezeNextSpec

EXHAUSTIVE_LIMIT = 5_000_000
"""``auto`` evaluates every candidate up to this many (a few seconds); larger spaces go to NSGA-II."""


def templates_and_distributions(request: SearchRequest, base: SqueezeNextSpec) -> tuple[list[Template], Any]:
    """The network space's templates and block distributions (one row per distribution)."""
    if request.space == "hardware":
        return [Template.of(base, request.input_size)], np.array([base.blocks], dtype=np.int64)
    space = request.network_space
    return space.templates(), space.distributions()


def _base_spec(request: SearchRequest) -> SqueezeNextSpec | None:
    """The base as a SqueezeNext spec, or None when it is another network (allowed for the hardware space)."""
    kinds = ALL_KINDS if request.space == "hardware" else SQUEEZENEXT_KINDS
    return parse_network(request.base, kinds, purpose=f"--space {request.space}").spec


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
        source = parse_network(name)
        workload = source.workload(request.input_size)
        cost = total(simulate(workload.layers, hardware))
        spec = source.spec
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


def exhaustive(sampler: str, size: int) -> bool:
    """Whether a search of ``size`` candidates with ``sampler`` is exhaustive (``auto``: up to the limit)."""
    return sampler == "exhaustive" or (sampler == "auto" and size <= EXHAUSTIVE_LIMIT)


def run_search(request: SearchRequest, progress: Callable[[int, int], None] | None = None) -> SearchResult:
    """Search the request's space and return the feasible Pareto front (nothing is written; see
    :func:`squeezenext.search.report.write_search`). ``progress(done, total)`` is called as work proceeds."""
    spec = _base_spec(request)
    _check_metric_keys(request, spec)
    base_hardware = resolve_hardware(request.hardware)
    size = space_size(request)
    sampler = "exhaustive" if exhaustive(request.sampler, size) else request.sampler
    if sampler == "auto":
        sampler = "nsga2"
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
        workload = parse_network(request.base).workload(request.input_size)
        metrics = evaluate_fixed_network(workload.layers, workload.params, configs)
        return select_front(request, metrics, lambda i: Candidate(configs[i], _row(metrics, i)), progress)
    templates, distributions = templates_and_distributions(request, spec)
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
