"""Objectives, constraints and the Pareto front of a search.

Objectives are written ``time,energy``; constraints ``params<=930016`` or ``macs<=300e6`` (``<=``, ``>=``,
``<``, ``>``, ``==``). Every objective is minimized except ``utilization``, which is maximized.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from squeezenext.search.space import SearchError

OBJECTIVES = {
    "time": "time_ms",
    "energy": "energy",
    "edp": "edp",
    "utilization": "utilization",
    "params": "params",
    "macs": "macs",
    "latency": "latency_ms",
    "error": "error_pct",
}
"""Objective names accepted by ``--objective`` and the metric each one reads."""
MEASURED = frozenset({"latency_ms", "error_pct"})
"""Metrics measured per design (not by the cost model): Optuna samplers only. ``latency_ms``: onnxruntime at
batch 1 (:mod:`squeezenext.search.latency`); ``error_pct``: top-1 error after short training
(:mod:`squeezenext.search.accuracy`), with ``trained_images`` beside it."""
MAXIMIZED = frozenset({"utilization"})
METRICS = ("time_ms", "energy", "edp", "utilization", "params", "macs", "blocks", "width")
"""Every metric of a candidate: simulated time (ms, compute + stalls), energy (the hardware's unit), energy x
time (unit x ms), utilization (MACs / (PEs x cycles)), parameters (paper convention), MACs, total blocks,
width multiplier."""
CONSTRAINT_KEYS = {
    **OBJECTIVES,
    **{metric: metric for metric in ("time_ms", "latency_ms", "error_pct", "blocks", "width")},
}
"""Keys a constraint may name: every objective, and the metrics ``time_ms``, ``latency_ms``, ``error_pct``,
``blocks`` and ``width`` by their own names."""
_CONSTRAINT = re.compile(r"^\s*([a-z_]+)\s*(<=|>=|==|<|>)\s*(\S+)\s*$")
_TOLERANCE = 1e-9


def parse_objectives(text: str) -> tuple[str, ...]:
    """``"time,energy"`` -> ``("time", "energy")``; unknown or repeated names are refused."""
    names = tuple(part.strip() for part in text.split(","))
    unknown = [name for name in names if name not in OBJECTIVES]
    if not text.strip() or unknown:
        raise SearchError(
            f"unknown objective(s) {', '.join(map(repr, unknown or [text]))}; valid: {', '.join(OBJECTIVES)} "
            "(comma-separated, e.g. time,energy)"
        )
    if len(set(names)) != len(names):
        raise SearchError(f"objective listed twice in {text!r}")
    return names


@dataclass(frozen=True)
class Constraint:
    """``key op bound`` on one metric."""

    key: str
    op: str
    bound: float

    @classmethod
    def parse(cls, text: str) -> Constraint:
        match = _CONSTRAINT.match(text) if isinstance(text, str) else None
        if not match:
            raise SearchError(
                f"cannot parse constraint {text!r}; write KEY<=VALUE (or >=, <, >, ==), e.g. 'params<=930016'"
            )
        key, op, value = match.groups()
        if key not in CONSTRAINT_KEYS:
            raise SearchError(f"unknown constraint key {key!r} in {text!r}; valid: {', '.join(CONSTRAINT_KEYS)}")
        try:
            bound = float(value)
        except ValueError:
            raise SearchError(f"constraint {text!r}: {value!r} is not a number") from None
        if not math.isfinite(bound):
            raise SearchError(f"constraint {text!r}: the bound must be a finite number")
        return cls(CONSTRAINT_KEYS[key], op, bound)

    def __str__(self) -> str:
        return f"{self.key}{self.op}{self.bound:g}"

    def violation(self, values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """How far each value is outside the bound, relative to the bound (0 where it holds; inf for NaN, a metric
        the candidate does not have)."""
        holds = {
            "<=": values <= self.bound,
            "<": values < self.bound,
            ">=": values >= self.bound,
            ">": values > self.bound,
            "==": np.abs(values - self.bound) <= _TOLERANCE * max(abs(self.bound), 1.0),
        }[self.op]
        miss = np.maximum(np.abs(values - self.bound) / max(abs(self.bound), 1e-12), 1e-12)
        return np.where(np.isnan(values), np.inf, np.where(holds, 0.0, miss))


def check_contradictions(constraints: Sequence[Constraint]) -> None:
    """Refuse constraints that no value can meet together (e.g. ``params<=1e5`` and ``params>=1e6``)."""
    for key in {c.key for c in constraints}:
        low, high = -math.inf, math.inf
        for c in (c for c in constraints if c.key == key):
            if c.op in (">=", ">", "=="):
                low = max(low, c.bound)
            if c.op in ("<=", "<", "=="):
                high = min(high, c.bound)
        if low > high:
            described = " and ".join(str(c) for c in constraints if c.key == key)
            raise SearchError(f"contradictory constraints {described}: no design can meet them all")


def total_violation(
    metrics: Mapping[str, npt.NDArray[np.float64]], constraints: Sequence[Constraint]
) -> npt.NDArray[np.float64]:
    """Sum of relative violations of every candidate (0: feasible)."""
    size = len(next(iter(metrics.values())))
    result = np.zeros(size)
    for constraint in constraints:
        result = result + constraint.violation(np.asarray(metrics[constraint.key], dtype=np.float64))
    return result


def objective_matrix(
    metrics: Mapping[str, npt.NDArray[np.float64]], objectives: Sequence[str]
) -> npt.NDArray[np.float64]:
    """Objective values to minimize, shape ``(n, k)`` (maximized objectives negated)."""
    columns = [
        -np.asarray(metrics[OBJECTIVES[o]], dtype=np.float64)
        if o in MAXIMIZED
        else np.asarray(metrics[OBJECTIVES[o]], dtype=np.float64)
        for o in objectives
    ]
    return np.stack(columns, axis=1)


def pareto_front(values: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Indices of the non-dominated rows of ``values`` (all minimized), ordered by the first objective.

    Repeatedly takes the remaining row with the smallest sum of range-normalized objectives (it cannot be
    dominated by a remaining row, nor by a removed one, since every removed row is dominated by a chosen one)
    and removes every row it dominates or equals. Cost: O(front size x n x k).
    """
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.all(np.isfinite(values)):
        raise SearchError("an objective is not a finite number (NaN or infinity); no Pareto front can rank it")
    span = np.ptp(values, axis=0)
    normalized = (values - values.min(axis=0)) / np.where(span > 0, span, 1.0)
    score = normalized.sum(axis=1)
    remaining = np.arange(len(values))
    chosen: list[int] = []
    while len(remaining):
        best = remaining[np.argmin(score[remaining])]
        chosen.append(int(best))
        rows = values[remaining]
        covered = np.all(values[best] <= rows, axis=1)  # dominated by or equal to the chosen row
        remaining = remaining[~covered]
    front = np.array(chosen, dtype=np.int64)
    order = np.lexsort(values[front].T[::-1])
    return front[order]
