"""Design spaces of the search: SqueezeNext networks and PE-array accelerators (co-design).

A :class:`NetworkSpace` spans block distributions over the four stages (optionally at a fixed total depth),
width multipliers, stem kernels, groups, the v5 wiring, head channels and input sizes; every point is a
valid :class:`~squeezenext.specs.SqueezeNextSpec`. A :class:`HardwareSpace` spans array shapes under a PE
budget, global-buffer sizes and splits, DRAM bandwidths and the dataflows the array supports, around a base
:class:`~squeezenext.accel.hardware.HardwareConfig`. Both are typed configurations checked by
:mod:`squeezenext.typedconfig`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from squeezenext.accel.hardware import MAX_ARRAY_SIDE, Dataflow, HardwareConfig
from squeezenext.errors import SqueezeNextError
from squeezenext.specs import STAGES, Provenance, SqueezeNextSpec
from squeezenext.typedconfig import check_fields

SPLIT_STEP = 0.1
"""Granularity of the global-buffer splits the hardware space tries (every split with parts >= one step)."""


class SearchError(SqueezeNextError):
    """A search that cannot run as asked (bad space, objective, constraint or storage)."""


@dataclass(frozen=True)
class Template:
    """Everything of a network but its block distribution (the cost of the blocks is linear in their counts)."""

    width: float
    stem_kernel: int
    groups: int
    v5_wiring: bool
    head_channels: int
    input_size: int
    stem_channels: int = 64

    @classmethod
    def of(cls, spec: SqueezeNextSpec, input_size: int) -> Template:
        """The template of an existing spec."""
        return cls(
            spec.width, spec.stem_kernel, spec.groups, spec.v5_wiring, spec.head_channels, input_size,
            spec.stem_channels,
        )  # fmt: skip

    def spec(self, blocks: tuple[int, int, int, int], name: str = "candidate") -> SqueezeNextSpec:
        """The spec of this template with the given blocks per stage."""
        return SqueezeNextSpec(
            name=name,
            paper_name=f"{self.width}-SqNxt-{sum(blocks) + 2} ({name})",
            blocks=blocks,
            width=self.width,
            stem_kernel=self.stem_kernel,
            groups=self.groups,
            v5_wiring=self.v5_wiring,
            stem_channels=self.stem_channels,
            head_channels=self.head_channels,
            provenance=Provenance.UNVERIFIED,
            note="found by squeezenext search (cost model only; accuracy not measured)",
        )


@dataclass(frozen=True)
class NetworkSpace:
    """The network design space.

    Attributes:
        total_blocks: every distribution has this many blocks in all (0: any total within the bounds).
        min_blocks, max_blocks: bounds on the blocks of every stage.
        widths, stem_kernels, groups, v5_wirings, head_channels, input_sizes: the values tried.
        stem_channels: output channels of the stem (unscaled), as in the base network.
    """

    total_blocks: int = 21
    min_blocks: int = 1
    max_blocks: int = 18
    widths: tuple[float, ...] = (1.0,)
    stem_kernels: tuple[int, ...] = (3, 5, 7)
    groups: tuple[int, ...] = (1,)
    v5_wirings: tuple[bool, ...] = (False, True)
    head_channels: tuple[int, ...] = (128,)
    input_sizes: tuple[int, ...] = (227,)
    stem_channels: int = 64

    def __post_init__(self) -> None:
        check_fields(self, SearchError)
        if self.min_blocks < 1 or self.max_blocks < self.min_blocks:
            raise SearchError(
                f"blocks per stage must satisfy 1 <= min_blocks <= max_blocks, got {self.min_blocks}..{self.max_blocks}"
            )
        if self.total_blocks and not STAGES * self.min_blocks <= self.total_blocks <= STAGES * self.max_blocks:
            raise SearchError(
                f"no distribution of {self.total_blocks} blocks over {STAGES} stages has {self.min_blocks} to "
                f"{self.max_blocks} blocks per stage: the space is empty"
            )
        for name in ("widths", "stem_kernels", "groups", "v5_wirings", "head_channels", "input_sizes"):
            values = getattr(self, name)
            if not values:
                raise SearchError(f"{name} is empty: give at least one value")
            if len(set(values)) != len(values):
                raise SearchError(f"{name} lists a value twice: {list(values)}")
        if any(v < 1 for v in (*self.stem_kernels, *self.groups, *self.head_channels, *self.input_sizes)):
            raise SearchError("stem kernels, groups, head channels and input sizes must be >= 1")
        self.templates()  # every combination must be a valid network

    def distributions(self) -> npt.NDArray[np.int64]:
        """Every block distribution of the space, shape ``(n, 4)``, in lexicographic order."""
        values = range(self.min_blocks, self.max_blocks + 1)
        if not self.total_blocks:
            return np.array(list(itertools.product(values, repeat=STAGES)), dtype=np.int64).reshape(-1, STAGES)
        rows = [
            (*head, self.total_blocks - sum(head))
            for head in itertools.product(values, repeat=STAGES - 1)
            if self.min_blocks <= self.total_blocks - sum(head) <= self.max_blocks
        ]
        return np.array(rows, dtype=np.int64).reshape(-1, STAGES)

    def templates(self) -> list[Template]:
        """Every (width, stem kernel, groups, wiring, head, input size) combination, each checked by building
        its spec (a width whose stage channels do not split evenly into groups is refused by name)."""
        result = []
        for width, kernel, groups, wiring, head, size in itertools.product(
            self.widths, self.stem_kernels, self.groups, self.v5_wirings, self.head_channels, self.input_sizes
        ):
            template = Template(float(width), kernel, groups, wiring, head, size, self.stem_channels)
            try:
                template.spec((1, 1, 1, 1))
            except SqueezeNextError as error:
                raise SearchError(f"the network space holds an invalid network: {error}") from None
            if kernel > size:
                raise SearchError(f"stem kernel {kernel} is larger than the input size {size}")
            result.append(template)
        return result

    @property
    def size(self) -> int:
        """Number of networks in the space."""
        return len(self.distributions()) * len(self.templates())


@dataclass(frozen=True)
class HardwareSpace:
    """The accelerator design space around a base config.

    Attributes:
        pe_budget: arrays of exactly this many PEs, every ``rows x cols`` factorization with sides >= min_side.
        min_side: smallest array side tried.
        gb_kib: global-buffer sizes tried (KiB).
        splits: try every (inputs, weights, outputs) split in steps of 0.1 (else only the base's split).
        dram_bandwidths: DRAM bandwidths tried (bytes per cycle).
        dataflow_sets: the sets of supported dataflows tried (e.g. ``[[ws, os]]``; the Squeezelerator's).
    """

    pe_budget: int = 256
    min_side: int = 2
    gb_kib: tuple[float, ...] = (128.0,)
    splits: bool = True
    dram_bandwidths: tuple[float, ...] = (16.0,)
    dataflow_sets: tuple[tuple[Dataflow, ...], ...] = (("ws", "os"),)

    def __post_init__(self) -> None:
        check_fields(self, SearchError)
        if self.pe_budget < 1 or self.min_side < 1:
            raise SearchError("pe_budget and min_side must be >= 1")
        if self.pe_budget > MAX_ARRAY_SIDE**2:
            raise SearchError(
                f"pe_budget {self.pe_budget:,} is more than the largest array the cost model takes "
                f"({MAX_ARRAY_SIDE} x {MAX_ARRAY_SIDE} = {MAX_ARRAY_SIDE**2:,} PEs)"
            )
        if not self.shapes():
            raise SearchError(
                f"no array of {self.pe_budget:,} PEs has both sides from {self.min_side} to {MAX_ARRAY_SIDE}: the "
                "space is empty"
            )
        for name in ("gb_kib", "dram_bandwidths", "dataflow_sets"):
            if not getattr(self, name):
                raise SearchError(f"{name} is empty: give at least one value")
        if any(v <= 0 for v in (*self.gb_kib, *self.dram_bandwidths)):
            raise SearchError("buffer sizes and bandwidths must be > 0")

    def shapes(self) -> list[tuple[int, int]]:
        """Every ``(rows, cols)`` with ``rows x cols = pe_budget`` and both sides from min_side to the cost model's
        largest side (divisors found up to the square root: at most 65,536 steps)."""
        pairs = set()
        for rows in range(1, math.isqrt(self.pe_budget) + 1):
            if self.pe_budget % rows == 0:
                pairs |= {(rows, self.pe_budget // rows), (self.pe_budget // rows, rows)}
        return sorted(p for p in pairs if all(self.min_side <= side <= MAX_ARRAY_SIDE for side in p))

    def split_choices(self, base: HardwareConfig) -> list[tuple[float, float, float]]:
        """The (inputs, weights, outputs) splits tried."""
        if not self.splits:
            return [base.gb_split]
        steps = round(1 / SPLIT_STEP)
        return [
            (round(i * SPLIT_STEP, 10), round(w * SPLIT_STEP, 10), round((steps - i - w) * SPLIT_STEP, 10))
            for i in range(1, steps)
            for w in range(1, steps - i)
        ]

    def configs(self, base: HardwareConfig) -> list[HardwareConfig]:
        """Every accelerator of the space, built on ``base`` (its timing, mapping, words, clock, energy)."""
        result = []
        for (rows, cols), kib, split, bandwidth, dataflows in itertools.product(
            self.shapes(), self.gb_kib, self.split_choices(base), self.dram_bandwidths, self.dataflow_sets
        ):
            shares = "/".join(f"{s:g}" for s in split)
            name = f"{rows}x{cols} {kib:g}KiB {shares} {bandwidth:g}B/c {'+'.join(dataflows)}"
            changes = {"rows": rows, "cols": cols, "gb_kib": float(kib), "gb_split": split}
            changes |= {"dram_bandwidth": float(bandwidth), "dataflows": tuple(dataflows)}
            result.append(base.replace(name=name, **changes))
        return result
