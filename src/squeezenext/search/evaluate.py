"""Vectorized evaluation of (network, accelerator) candidates with the cost model.

Exactness by linearity: every layer's cost depends only on its own shape and the accelerator, and the layers
of a SqueezeNext network are those of its stem, head and FC plus, per stage, one first block (with the
projection and stride) and ``b - 1`` repeated blocks whose separable pair alternates 3x1/1x3 (odd blocks)
and 1x3/3x1 (even blocks). So the cost of any block distribution ``b`` is

    cost(b) = base + sum_s [ first_s + (b_s // 2) odd_s + ((b_s - 1) // 2) even_s ]

with 13 segment costs computed once per (template, accelerator) from a network with 3 blocks per stage.
Parameters and MACs decompose the same way. A distribution then costs one small integer matrix product,
which is what makes exhaustive searches of millions of candidates possible (``tests/test_search.py``
checks the decomposition against the whole-network simulation).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from squeezenext.accel.cost import HardwareArrays, LayerArrays, Policy, layer_totals
from squeezenext.accel.hardware import HardwareConfig
from squeezenext.plan import build_plan
from squeezenext.search.space import Template
from squeezenext.specs import STAGES
from squeezenext.workload import LayerDesc, analytic_layers

KINDS_PER_STAGE = 3  # first, odd, even blocks
SEGMENTS = 1 + STAGES * KINDS_PER_STAGE
REPRESENTATIVE_BLOCKS = (3, 3, 3, 3)
"""Blocks per stage of the network whose layers give every segment (block 0: first, 1: odd, 2: even)."""
NUM_CLASSES = 1000
"""Classifier outputs of searched networks (ImageNet, as the paper)."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def segment_index(name: str) -> int:
    """Segment of a layer by its module name: 0 for stem/head/FC, else ``1 + 3 stage + kind``."""
    if not name.startswith("stages."):
        return 0
    _, stage, _, block, *_ = name.split(".")
    j = int(block)
    kind = 0 if j == 0 else (1 if j % 2 else 2)
    return 1 + KINDS_PER_STAGE * int(stage) + kind


def segment_counts(distributions: IntArray) -> IntArray:
    """How many times each segment occurs in each distribution: shape ``(n, SEGMENTS)``."""
    n = len(distributions)
    counts = np.zeros((n, SEGMENTS), dtype=np.int64)
    counts[:, 0] = 1
    for s in range(STAGES):
        b = distributions[:, s]
        counts[:, 1 + KINDS_PER_STAGE * s] = 1
        counts[:, 2 + KINDS_PER_STAGE * s] = b // 2
        counts[:, 3 + KINDS_PER_STAGE * s] = (b - 1) // 2
    return counts


def paper_params(layer: LayerDesc) -> int:
    """A layer's parameters in the paper's convention: weights (and biases) plus BatchNorm scale and shift."""
    return layer.params + (2 * layer.out_channels if layer.type == "conv" else 0)


@dataclass(frozen=True)
class SegmentCosts:
    """Costs of the 13 segments of one template on every accelerator."""

    cycles: IntArray  # (SEGMENTS, H)
    energy: FloatArray  # (SEGMENTS, H)
    macs: IntArray  # (SEGMENTS,)
    params: IntArray  # (SEGMENTS,)


def segment_costs(template: Template, hardware: HardwareArrays, policy: Policy) -> SegmentCosts:
    """Segment costs of one template (see the module docstring)."""
    plan = build_plan(template.spec(REPRESENTATIVE_BLOCKS), flavor="official", num_classes=NUM_CLASSES)
    layers = analytic_layers(plan, template.input_size)
    owner = np.array([segment_index(layer.name) for layer in layers])
    one_hot = np.zeros((len(layers), SEGMENTS), dtype=np.int64)
    one_hot[np.arange(len(layers)), owner] = 1
    cycles, energy = layer_totals(LayerArrays.from_layers(layers), hardware, policy)
    macs = np.array([layer.macs for layer in layers], dtype=np.int64)
    params = np.array([paper_params(layer) for layer in layers], dtype=np.int64)
    return SegmentCosts(
        cycles=one_hot.T @ cycles,
        energy=one_hot.T.astype(np.float64) @ energy,
        macs=one_hot.T @ macs,
        params=one_hot.T @ params,
    )


@dataclass(frozen=True)
class Evaluation:
    """Metrics of candidates: one entry per (template, distribution, config), flattened in that order."""

    template: IntArray
    distribution: IntArray
    config: IntArray
    metrics: dict[str, npt.NDArray[np.float64]]

    def __len__(self) -> int:
        return len(self.template)


def candidate_metrics(
    cycles: FloatArray, energy: FloatArray, macs: FloatArray, params: FloatArray, hardware: HardwareArrays
) -> dict[str, FloatArray]:
    """The cost metrics of candidates from their totals; ``cycles`` and ``energy`` are ``(n, H)``, ``macs``
    and ``params`` broadcast against them."""
    time_ms = cycles / hardware.clock_hz[None, :] * 1e3
    pes = (hardware.rows * hardware.cols).astype(np.float64)
    shape = cycles.shape
    return {
        "time_ms": time_ms,
        "energy": energy,
        "edp": energy * time_ms,
        "utilization": macs / (pes[None, :] * cycles),
        "params": np.broadcast_to(params, shape),
        "macs": np.broadcast_to(macs, shape),
    }


def distribution_metrics(
    seg: SegmentCosts, distributions: IntArray, hardware: HardwareArrays, width: float
) -> dict[str, FloatArray]:
    """Metrics of block distributions of one template on every config: arrays of shape ``(n, H)``."""
    counts = segment_counts(distributions)
    shape = (len(distributions), len(hardware.rows))
    values = candidate_metrics(
        (counts @ seg.cycles).astype(np.float64),
        counts.astype(np.float64) @ seg.energy,
        (counts @ seg.macs).astype(np.float64)[:, None],
        (counts @ seg.params).astype(np.float64)[:, None],
        hardware,
    )
    values["blocks"] = np.broadcast_to(distributions.sum(axis=1).astype(np.float64)[:, None], shape)
    values["width"] = np.full(shape, width)
    return values


def evaluate_networks(
    templates: Sequence[Template],
    distributions: IntArray,
    configs: Sequence[HardwareConfig],
    policy: Policy = "time",
) -> Evaluation:
    """Metrics of every (template, distribution, config) candidate (:data:`~squeezenext.search.objectives.METRICS`)."""
    hardware = HardwareArrays.from_configs(configs)
    parts: dict[str, list[FloatArray]] = {}
    for template in templates:
        values = distribution_metrics(
            segment_costs(template, hardware, policy), distributions, hardware, template.width
        )
        for key, value in values.items():
            parts.setdefault(key, []).append(np.ravel(value))
    t_index, d_index, c_index = np.meshgrid(
        np.arange(len(templates)), np.arange(len(distributions)), np.arange(len(configs)), indexing="ij"
    )
    return Evaluation(
        template=t_index.ravel(),
        distribution=d_index.ravel(),
        config=c_index.ravel(),
        metrics={key: np.concatenate(value) for key, value in parts.items()},
    )


def evaluate_fixed_network(
    layers: Sequence[LayerDesc], params: int, configs: Sequence[HardwareConfig], policy: Policy = "time"
) -> dict[str, FloatArray]:
    """Metrics of one network (any workload) on every config (the hardware-only search): arrays of shape ``(H,)``;
    ``blocks`` and ``width`` are NaN (they exist for SqueezeNext networks only)."""
    hardware = HardwareArrays.from_configs(configs)
    cycles, energy = layer_totals(LayerArrays.from_layers(layers), hardware, policy)
    macs = float(sum(layer.macs for layer in layers))
    values = candidate_metrics(
        cycles.sum(axis=0).astype(np.float64)[None, :],
        energy.sum(axis=0)[None, :],
        np.array([[macs]]),
        np.array([[float(params)]]),
        hardware,
    )
    result = {key: np.ravel(value) for key, value in values.items()}
    result["blocks"] = np.full(len(configs), np.nan)
    result["width"] = np.full(len(configs), np.nan)
    return result
