"""Frozen descriptions of SqueezeNext variants (Gholami et al., arXiv 1803.10615).

One :class:`SqueezeNextSpec` per variant drives everything else: the module builder
(:mod:`squeezenext.model`), the analytic layer list and the counts (:mod:`squeezenext.workload`).
Provenance of each variant is explicit (:class:`Provenance`), so reconstructed networks are labelled
wherever they appear.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from squeezenext.errors import ModelError
from squeezenext.typedconfig import is_int

STAGE_BASE_WIDTHS: tuple[int, int, int, int] = (32, 64, 128, 256)
"""Output channels of the four stages at width multiplier 1.0 (paper, Fig. 3 / official prototxt)."""


class Provenance(StrEnum):
    """Where a variant's definition comes from."""

    OFFICIAL = "official"
    """Read from a public definition (the official Caffe release or the public 2.0-SqNxt-44 template)."""
    DERIVED = "derived"
    """Named in the paper's tables; built from an official template with another width multiplier."""
    UNVERIFIED = "unverified"
    """Block distribution not in any public definition (reconstructed from the paper's text)."""

    @property
    def label(self) -> str:
        """Short label shown in tables and CLI output."""
        return {"official": "yes", "derived": "derived", "unverified": "UNVERIFIED"}[self.value]


STAGES = 4
"""SqueezeNext networks have four stages of blocks (paper Table 1)."""
MAX_CHANNELS = 1 << 14
"""The most channels a layer may have (width 64 at 256 base channels): a sanity bound, far beyond any published
network, that turns a mistyped width or channel count into a clear refusal instead of an allocation failure."""
MAX_STAGE_BLOCKS = 1024
"""The most blocks a stage may have: a sanity bound (SqNxt-44, the deepest published variant, has 16 in a stage)
that turns a mistyped block count into a clear refusal instead of a network that takes minutes to build."""


@dataclass(frozen=True)
class SqueezeNextSpec:
    """Architecture of one SqueezeNext network (paper Sec. 3, official ``train_val.prototxt``).

    Attributes:
        name: registry name (pytorchcv-compatible where pytorchcv has the model).
        paper_name: the paper's name, e.g. ``"1.0-SqNxt-23"``.
        blocks: blocks per stage (four stages).
        width: width multiplier applied to the stage widths 32, 64, 128, 256.
        stem_kernel: kernel of the stem convolution (7 for v1..v4, 5 for v5).
        groups: groups of the first 1x1 and both separable convolutions (2 for 1.0-G-SqNxt-23).
        v5_wiring: the first block of every stage feeds the projected shortcut into its residual
            branch (official v5 definitions).
        stem_channels: output channels of the stem (unscaled, 64, in the official models).
        head_channels: output channels of the last 1x1 convolution (unscaled, 128).
        provenance: where this definition comes from.
        note: one line on the source, shown by ``squeezenext list``.
    """

    name: str
    paper_name: str
    blocks: tuple[int, int, int, int]
    width: float = 1.0
    stem_kernel: int = 7
    groups: int = 1
    v5_wiring: bool = False
    stem_channels: int = 64
    head_channels: int = 128
    provenance: Provenance = Provenance.OFFICIAL
    note: str = ""

    def __post_init__(self) -> None:
        if len(self.blocks) != STAGES or any(not is_int(b) or b < 1 for b in self.blocks):
            raise ModelError(f"{self.name}: blocks must be four positive integers (one per stage), got {self.blocks}")
        if max(self.blocks) > MAX_STAGE_BLOCKS:
            raise ModelError(f"{self.name}: at most {MAX_STAGE_BLOCKS:,} blocks in a stage, got {list(self.blocks)}")
        if (
            not isinstance(self.width, int | float)
            or isinstance(self.width, bool)
            or not math.isfinite(self.width)
            or self.width <= 0
        ):
            raise ModelError(f"{self.name}: width multiplier must be a positive number, got {self.width!r}")
        if max(STAGE_BASE_WIDTHS) * self.width > MAX_CHANNELS:
            raise ModelError(
                f"{self.name}: width multiplier {self.width:g} gives more than {MAX_CHANNELS:,} channels in a stage; "
                f"the largest is {MAX_CHANNELS // max(STAGE_BASE_WIDTHS)}"
            )
        if not isinstance(self.v5_wiring, bool):
            raise ModelError(f"{self.name}: v5_wiring must be true or false, got {self.v5_wiring!r}")
        if not is_int(self.stem_kernel) or self.stem_kernel < 1:
            raise ModelError(f"{self.name}: stem_kernel must be an integer >= 1, got {self.stem_kernel!r}")
        if not is_int(self.groups) or self.groups < 1:
            raise ModelError(f"{self.name}: groups must be an integer >= 1, got {self.groups!r}")
        for base in STAGE_BASE_WIDTHS:
            exact = base * self.width
            if exact != int(exact) or int(exact) % (4 * self.groups) != 0:
                raise ModelError(
                    f"{self.name}: width {self.width} gives {exact} channels for a stage of base width "
                    f"{base}; every stage width must be an integer multiple of 4 x groups "
                    f"({4 * self.groups}) so that C/2 and C/4 split evenly. Choose e.g. 0.5, 1.0, 1.5, 2.0."
                )
        if not all(is_int(c) and 1 <= c <= MAX_CHANNELS for c in (self.stem_channels, self.head_channels)):
            raise ModelError(
                f"{self.name}: stem_channels and head_channels must be integers from 1 to {MAX_CHANNELS:,}, got "
                f"{self.stem_channels!r} and {self.head_channels!r}"
            )

    @property
    def stage_widths(self) -> tuple[int, ...]:
        """Output channels of each stage after the width multiplier."""
        return tuple(int(base * self.width) for base in STAGE_BASE_WIDTHS)

    @property
    def depth(self) -> int:
        """Paper's depth: number of blocks + stem + FC (e.g. 23 for [6, 6, 8, 1])."""
        return sum(self.blocks) + 2
