"""Layer plans: the exact convolutions of a network, derived once from a spec and a flavor.

A :class:`NetworkPlan` is what both the module builder and the analytic layer list read, so the two can
never disagree. Two flavors exist:

* ``official``: the official Caffe ``train_val.prototxt`` definitions (docs/paper.md, "The block").
* ``pytorchcv``: the layout of pytorchcv's port (``pytorchcv/models/squeezenext.py``), whose ImageNet
  checkpoints are the only public ones.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from squeezenext.errors import ModelError
from squeezenext.specs import MAX_CHANNELS, SqueezeNextSpec
from squeezenext.typedconfig import is_int

Flavor = Literal["official", "pytorchcv"]
StemKind = Literal["standard", "small", "small-s2"]
FLAVORS: tuple[Flavor, ...] = ("official", "pytorchcv")
STEM_KINDS: tuple[StemKind, ...] = ("standard", "small", "small-s2")
"""``standard``: the paper's k x k stride-2 stem and 3x3/2 max-pool. ``small``: a 3x3 stride-1 conv and no
pool (32-64 px inputs, as the public CIFAR ports). ``small-s2``: a 3x3 stride-2 conv and no pool (28 px
inputs such as Fashion-MNIST: stage 1 runs at 14x14)."""

POOL_KERNEL = 3
MAX_CLASSES = 1 << 20
"""The most classifier outputs a plan may have (over 45x ImageNet-21k's classes): a sanity bound that refuses a
mistyped count before the classifier's allocation fails."""
POOL_STRIDE = 2


@dataclass(frozen=True)
class ConvSpec:
    """One convolution (always followed by BatchNorm + ReLU in SqueezeNext)."""

    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: int = 1
    padding: tuple[int, int] = (0, 0)
    groups: int = 1
    bias: bool = False

    def output_hw(self, hw: tuple[int, int]) -> tuple[int, int]:
        """Output size, ``floor((n + 2p - k) / s) + 1`` per axis (PyTorch/Caffe convolution)."""
        return (
            conv_output_size(hw[0], self.kernel[0], self.stride, self.padding[0]),
            conv_output_size(hw[1], self.kernel[1], self.stride, self.padding[1]),
        )


@dataclass(frozen=True)
class BlockPlan:
    """One SqueezeNext block (paper Fig. 2): five convolutions on the branch, optional projection.

    ``v5_wiring`` means the projected shortcut ``p`` is the branch input: ``out = ReLU(p + branch(p))``.
    """

    reduce1: ConvSpec
    reduce2: ConvSpec
    sep1: ConvSpec
    sep2: ConvSpec
    expand: ConvSpec
    shortcut: ConvSpec | None
    v5_wiring: bool

    def branch(self) -> tuple[tuple[str, ConvSpec], ...]:
        """The residual branch's convolutions, in order, with their module names."""
        return (
            ("reduce1", self.reduce1),
            ("reduce2", self.reduce2),
            ("sep1", self.sep1),
            ("sep2", self.sep2),
            ("expand", self.expand),
        )


@dataclass(frozen=True)
class FeaturePoint:
    """One feature map a backbone can return: its module, channels and stride (``reduction``)."""

    module: str
    num_chs: int
    reduction: int


@dataclass(frozen=True)
class NetworkPlan:
    """Every layer of a SqueezeNext network, in execution order."""

    stem: ConvSpec
    stem_pool: bool
    stages: tuple[tuple[BlockPlan, ...], ...]
    head: ConvSpec
    num_classes: int
    fc_bias: bool

    @property
    def num_features(self) -> int:
        """Channels entering the classifier."""
        return self.head.out_channels

    @property
    def in_channels(self) -> int:
        """Channels of the input image."""
        return self.stem.in_channels

    def walk(self, input_hw: tuple[int, int]) -> Iterator[tuple[str, ConvSpec, tuple[int, int], tuple[int, int]]]:
        """Yield ``(module name, conv, input size, output size)`` for every convolution, in execution order.

        Raises ValueError when a map would shrink below one pixel (or below the stem pool's window).
        """

        def run(
            name: str, conv: ConvSpec, hw: tuple[int, int]
        ) -> tuple[str, ConvSpec, tuple[int, int], tuple[int, int]]:
            out = conv.output_hw(hw)
            if min(out) < 1:
                raise ModelError(
                    f"input {input_hw[0]}x{input_hw[1]} is too small: {name} would get a {hw[0]}x{hw[1]} map"
                )
            return name, conv, hw, out

        layer = run("stem.conv", self.stem, input_hw)
        yield layer
        hw = layer[3]
        if self.stem_pool:
            if min(hw) < POOL_KERNEL:
                raise ModelError(
                    f"input {input_hw[0]}x{input_hw[1]} is too small: the stem pool would get {hw[0]}x{hw[1]}"
                )
            hw = (maxpool_ceil_output_size(hw[0]), maxpool_ceil_output_size(hw[1]))
        for i, stage in enumerate(self.stages):
            for j, block in enumerate(stage):
                prefix = f"stages.{i}.blocks.{j}"
                branch_hw = hw
                if block.shortcut is not None:
                    layer = run(f"{prefix}.shortcut.conv", block.shortcut, hw)
                    yield layer
                    if block.v5_wiring:
                        branch_hw = layer[3]
                for conv_name, conv in block.branch():
                    layer = run(f"{prefix}.{conv_name}.conv", conv, branch_hw)
                    yield layer
                    branch_hw = layer[3]
                hw = branch_hw
        yield run("head.conv", self.head, hw)

    def feature_points(self) -> tuple[FeaturePoint, ...]:
        """The backbone's feature maps (timm's ``feature_info``): the stem convolution's output (before the
        stem pool), then each stage's output; channels and nominal stride with respect to the input."""
        reduction = self.stem.stride
        points = [FeaturePoint("stem", self.stem.out_channels, reduction)]
        if self.stem_pool:
            reduction *= POOL_STRIDE
        for i, stage in enumerate(self.stages):
            first = stage[0]
            reduction *= max(conv.stride for conv in (first.reduce1, first.shortcut or first.reduce1))
            points.append(FeaturePoint(f"stages.{i}", stage[-1].expand.out_channels, reduction))
        return tuple(points)

    def min_input_size(self) -> int:
        """Smallest square input whose every intermediate map keeps at least one pixel."""
        for size in range(1, 4096):
            try:
                for _ in self.walk((size, size)):
                    pass
            except ValueError:
                continue
            return size
        raise ModelError("no input size up to 4096 survives this network's downsampling")


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """``floor((size + 2 * padding - kernel) / stride) + 1`` (PyTorch ``Conv2d`` docs)."""
    return (size + 2 * padding - kernel) // stride + 1


def maxpool_ceil_output_size(size: int, kernel: int = POOL_KERNEL, stride: int = POOL_STRIDE) -> int:
    """Caffe-style ceil-mode pooling size without padding: ``ceil((n - k) / s) + 1``.

    PyTorch drops a last window that would start outside the input (``MaxPool2d`` docs, ceil_mode).
    """
    out = math.ceil((size - kernel) / stride) + 1
    if (out - 1) * stride >= size:
        out -= 1
    return out


def _conv1x1(cin: int, cout: int, stride: int = 1, groups: int = 1, bias: bool = False) -> ConvSpec:
    return ConvSpec(cin, cout, (1, 1), stride, (0, 0), groups, bias)


def _conv3x1(cin: int, cout: int, groups: int = 1, bias: bool = False) -> ConvSpec:
    return ConvSpec(cin, cout, (3, 1), 1, (1, 0), groups, bias)


def _conv1x3(cin: int, cout: int, groups: int = 1, bias: bool = False) -> ConvSpec:
    return ConvSpec(cin, cout, (1, 3), 1, (0, 1), groups, bias)


def _stem(
    kernel: int,
    padding: int,
    in_channels: int,
    out_channels: int,
    kind: StemKind,
    bias: bool,
) -> ConvSpec:
    if kind in ("small", "small-s2"):
        return ConvSpec(in_channels, out_channels, (3, 3), 2 if kind == "small-s2" else 1, (1, 1), 1, bias)
    return ConvSpec(in_channels, out_channels, (kernel, kernel), 2, (padding, padding), 1, bias)


def official_plan(
    spec: SqueezeNextSpec,
    *,
    num_classes: int,
    in_channels: int = 3,
    stem: StemKind = "standard",
) -> NetworkPlan:
    """Plan of the official Caffe definition (docs/paper.md, "The block" and "The network").

    Branch of a block with C outputs: 1x1 C_in->C/2 (stride), 1x1 C/2->C/4, separable pair
    C/4->C/2, C/2->C/2 (3x1 then 1x3 in odd blocks, the reverse in even ones), 1x1 C/2->C.
    The first block of each stage projects the shortcut with a strided 1x1 C_in->C. No biases.
    """
    g = spec.groups
    cin = spec.stem_channels
    stages: list[tuple[BlockPlan, ...]] = []
    for stage_index, (count, width) in enumerate(zip(spec.blocks, spec.stage_widths, strict=True)):
        blocks: list[BlockPlan] = []
        for j in range(count):
            stride = 2 if (j == 0 and stage_index > 0) else 1
            shortcut = _conv1x1(cin, width, stride) if j == 0 else None
            v5 = spec.v5_wiring and shortcut is not None
            branch_in, branch_stride = (width, 1) if v5 else (cin, stride)
            half, quarter = width // 2, width // 4
            vertical_first = j % 2 == 0
            first = _conv3x1 if vertical_first else _conv1x3
            second = _conv1x3 if vertical_first else _conv3x1
            blocks.append(
                BlockPlan(
                    reduce1=_conv1x1(branch_in, half, branch_stride, g),
                    reduce2=_conv1x1(half, quarter),
                    sep1=first(quarter, half, g),
                    sep2=second(half, half, g),
                    expand=_conv1x1(half, width),
                    shortcut=shortcut,
                    v5_wiring=v5,
                )
            )
            cin = width
        stages.append(tuple(blocks))
    return NetworkPlan(
        stem=_stem(spec.stem_kernel, 0, in_channels, spec.stem_channels, stem, bias=False),
        stem_pool=stem == "standard",
        stages=tuple(stages),
        head=_conv1x1(cin, spec.head_channels),
        num_classes=num_classes,
        fc_bias=False,
    )


PYTORCHCV_STEM_KERNEL = 7
PYTORCHCV_STEM_PADDING = 1


def pytorchcv_plan(
    spec: SqueezeNextSpec,
    *,
    num_classes: int,
    in_channels: int = 3,
    stem: StemKind = "standard",
) -> NetworkPlan:
    """Plan of pytorchcv's ``SqueezeNext`` (pytorchcv 0.0.74, ``models/squeezenext.py``).

    Differences from the official definition: biases everywhere; a 7x7 stride-2 pad-1 stem for every
    version; stem and head widths scaled; separable order always 1x3 then 3x1; v5 uses ordinary wiring;
    squeeze widths follow the input channels: ``in/d`` and ``in/2d`` with ``d = 1`` for a stride-2 block,
    ``d = 4`` when ``in > out`` (stage 1's first block), else ``d = 2``.
    """
    cin = int(spec.stem_channels * spec.width)
    stem_conv = _stem(PYTORCHCV_STEM_KERNEL, PYTORCHCV_STEM_PADDING, in_channels, cin, stem, bias=True)
    stages: list[tuple[BlockPlan, ...]] = []
    for stage_index, (count, width) in enumerate(zip(spec.blocks, spec.stage_widths, strict=True)):
        blocks: list[BlockPlan] = []
        for j in range(count):
            stride = 2 if (j == 0 and stage_index > 0) else 1
            if stride == 2:
                den, project = 1, True
            elif cin > width:
                den, project = 4, True
            else:
                den, project = 2, False
            wide, narrow = cin // den, cin // (2 * den)
            blocks.append(
                BlockPlan(
                    reduce1=_conv1x1(cin, wide, stride, bias=True),
                    reduce2=_conv1x1(wide, narrow, bias=True),
                    sep1=_conv1x3(narrow, wide, bias=True),
                    sep2=_conv3x1(wide, wide, bias=True),
                    expand=_conv1x1(wide, width, bias=True),
                    shortcut=_conv1x1(cin, width, stride, bias=True) if project else None,
                    v5_wiring=False,
                )
            )
            cin = width
        stages.append(tuple(blocks))
    return NetworkPlan(
        stem=stem_conv,
        stem_pool=stem == "standard",
        stages=tuple(stages),
        head=_conv1x1(cin, int(spec.head_channels * spec.width), bias=True),
        num_classes=num_classes,
        fc_bias=True,
    )


def build_plan(
    spec: SqueezeNextSpec,
    *,
    flavor: Flavor,
    num_classes: int,
    in_channels: int = 3,
    stem: StemKind = "standard",
) -> NetworkPlan:
    """Plan for ``spec`` in the given flavor; validates the options with errors that list valid values."""
    if flavor not in FLAVORS:
        raise ModelError(f"unknown flavor {flavor!r}; valid flavors: {', '.join(FLAVORS)}")
    if stem not in STEM_KINDS:
        raise ModelError(f"unknown stem {stem!r}; valid stems: {', '.join(STEM_KINDS)}")
    for name, value, most in (("num_classes", num_classes, MAX_CLASSES), ("in_channels", in_channels, MAX_CHANNELS)):
        if not is_int(value) or value < 1:
            raise ModelError(f"{name} must be an integer >= 1, got {value!r}")
        if value > most:
            raise ModelError(f"{name} must be at most {most:,}, got {value:,}")
    builder = official_plan if flavor == "official" else pytorchcv_plan
    return builder(spec, num_classes=num_classes, in_channels=in_channels, stem=stem)
