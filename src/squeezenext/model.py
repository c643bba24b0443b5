"""SqueezeNext as a PyTorch module, built from a :class:`~squeezenext.plan.NetworkPlan`.

Module names follow the paper's figure: ``stem``, ``stages[i].blocks[j].{shortcut, reduce1, reduce2,
sep1, sep2, expand}``, ``head``, ``fc``; the same names appear in layer lists, ONNX graphs and
simulator reports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import cast

import torch
from torch import nn

from squeezenext.errors import ModelError
from squeezenext.plan import MAX_CLASSES, POOL_KERNEL, POOL_STRIDE, BlockPlan, ConvSpec, FeaturePoint, NetworkPlan
from squeezenext.typedconfig import is_int

BN_EPS = 1e-5
"""BatchNorm epsilon of the official Caffe definitions and of pytorchcv."""


class ConvBnReLU(nn.Module):
    """Convolution, BatchNorm (with affine scale/shift) and ReLU: every SqueezeNext convolution."""

    def __init__(self, spec: ConvSpec) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            spec.in_channels,
            spec.out_channels,
            kernel_size=spec.kernel,
            stride=spec.stride,
            padding=spec.padding,
            groups=spec.groups,
            bias=spec.bias,
        )
        self.bn = nn.BatchNorm2d(spec.out_channels, eps=BN_EPS)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.act(self.bn(self.conv(x)))
        return out


class Block(nn.Module):
    """SqueezeNext block (paper Fig. 2, official prototxt): ``ReLU(shortcut + branch)``.

    Standard wiring: ``out = ReLU(s(x) + branch(x))`` with ``s`` the identity or a projection.
    v5 wiring: ``p = s(x)``; ``out = ReLU(p + branch(p))``.
    """

    def __init__(self, plan: BlockPlan) -> None:
        super().__init__()
        self.v5_wiring = plan.v5_wiring
        self.shortcut: nn.Module = ConvBnReLU(plan.shortcut) if plan.shortcut is not None else nn.Identity()
        self.reduce1 = ConvBnReLU(plan.reduce1)
        self.reduce2 = ConvBnReLU(plan.reduce2)
        self.sep1 = ConvBnReLU(plan.sep1)
        self.sep2 = ConvBnReLU(plan.sep2)
        self.expand = ConvBnReLU(plan.expand)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut(x)
        branch = shortcut if self.v5_wiring else x
        branch = self.expand(self.sep2(self.sep1(self.reduce2(self.reduce1(branch)))))
        out: torch.Tensor = self.act(branch + shortcut)
        return out


class Stage(nn.Module):
    """A sequence of blocks at one resolution."""

    def __init__(self, blocks: tuple[BlockPlan, ...]) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*(Block(block) for block in blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.blocks(x)
        return out


class SqueezeNext(nn.Module):
    """SqueezeNext network (Gholami et al., arXiv 1803.10615).

    Global average pooling makes every input size that survives the downsampling valid; smaller inputs
    raise a ValueError naming the minimum (:attr:`min_input_size`).
    """

    __jit_unused_properties__ = ["feature_info"]  # noqa: RUF012 (TorchScript reads this class attribute)

    def __init__(self, plan: NetworkPlan) -> None:
        super().__init__()
        self.plan = plan
        self.pretrained_cfg: dict[str, object] = {}
        """How the input is prepared (set by ``create_model``; :func:`squeezenext.pretrained.pretrained_cfg`)."""
        self.min_input_size: int = plan.min_input_size()
        self.num_classes = plan.num_classes
        self.num_features = plan.num_features
        self.stem = ConvBnReLU(plan.stem)
        self.stem_pool: nn.Module = (
            nn.MaxPool2d(POOL_KERNEL, POOL_STRIDE, ceil_mode=True) if plan.stem_pool else nn.Identity()
        )
        self.stages = nn.Sequential(*(Stage(stage) for stage in plan.stages))
        self.head = ConvBnReLU(plan.head)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc: nn.Module = nn.Linear(plan.num_features, plan.num_classes, bias=plan.fc_bias)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Caffe ``xavier`` filler of the official definitions: U(-a, a), ``a = sqrt(3 / fan_in)``.

        That is ``kaiming_uniform_`` with the linear gain; BatchNorm starts at scale 1, shift 0; biases 0.
        """
        for module in self.modules():
            if isinstance(module, nn.Conv2d | nn.Linear):
                nn.init.kaiming_uniform_(module.weight, nonlinearity="linear")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    @property
    def feature_info(self) -> list[dict[str, object]]:
        """timm's ``feature_info``: per feature map its ``module``, ``num_chs`` and ``reduction`` (stride);
        index 0 is the stem convolution's output, 1-4 the stages' outputs."""
        return [dataclasses.asdict(point) for point in self.plan.feature_points()]

    def get_classifier(self) -> nn.Module:
        """The classifier (``fc``)."""
        return self.fc

    def reset_classifier(self, num_classes: int) -> None:
        """A new, freshly initialized classifier with ``num_classes`` outputs (0: none; ``forward`` then
        returns the pooled features), as timm's ``reset_classifier``."""
        if not is_int(num_classes) or not 0 <= num_classes <= MAX_CLASSES:
            raise ModelError(f"num_classes must be an integer from 0 to {MAX_CLASSES:,}, got {num_classes!r}")
        self.num_classes = num_classes
        self.plan = dataclasses.replace(self.plan, num_classes=num_classes)
        if num_classes == 0:
            self.fc = nn.Identity()
            return
        fc = nn.Linear(self.plan.num_features, num_classes, bias=self.plan.fc_bias)
        nn.init.kaiming_uniform_(fc.weight, nonlinearity="linear")
        if fc.bias is not None:
            nn.init.zeros_(fc.bias)
        self.fc = fc

    def stage_blocks(self, stage: int) -> list[Block]:
        """The blocks of stage ``stage`` (0-based), in order."""
        return [block for block in cast(Stage, self.stages[stage]).blocks if isinstance(block, Block)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Stem, stages and head convolution: the feature map before pooling, (N, num_features, H', W')."""
        _check_input(x, self.min_input_size)
        x = self.stem_pool(self.stem(x))
        features: torch.Tensor = self.head(self.stages(x))
        return features

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global average pooling and the classifier on :meth:`forward_features`' output (``pre_logits``
        returns the pooled features, (N, num_features))."""
        x = torch.flatten(self.pool(x), 1)
        if pre_logits:
            return x
        logits: torch.Tensor = self.fc(x)
        return logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))


def _check_input(x: torch.Tensor, min_input_size: int) -> None:
    if x.dim() != 4 or x.shape[-1] < min_input_size or x.shape[-2] < min_input_size:
        raise ModelError(
            f"expected an input of shape (N, C, H, W) with H and W >= {min_input_size} (the smallest size this "
            f"network's downsampling keeps), got {list(x.shape)}"
        )


DEFAULT_OUT_INDICES = (0, 1, 2, 3, 4)
"""All feature maps: the stem's output and the four stages' (timm's default)."""


def feature_indices(out_indices: Sequence[int], available: int) -> tuple[int, ...]:
    """``out_indices`` checked and normalized (negative counts from the end), in network order."""
    if isinstance(out_indices, str | bytes) or not isinstance(out_indices, Sequence) or not out_indices:
        raise ModelError(f"out_indices must be a non-empty sequence of integers, got {out_indices!r}")
    normalized = []
    for index in out_indices:
        if not is_int(index) or not -available <= index < available:
            raise ModelError(
                f"out_indices entry {index!r} is out of range: this network has {available} feature maps "
                f"(0 = stem, 1-{available - 1} = stages; negative counts from the end)"
            )
        normalized.append(index % available)
    if len(set(normalized)) != len(normalized):
        raise ModelError(f"out_indices {tuple(out_indices)} names a feature map twice")
    return tuple(sorted(normalized))


class FeatureInfo:
    """The feature maps a :class:`SqueezeNextFeatures` returns (timm's ``FeatureInfo`` interface)."""

    def __init__(self, points: Sequence[FeaturePoint], out_indices: Sequence[int]) -> None:
        self.out_indices = tuple(out_indices)
        self.info = [dataclasses.asdict(points[i]) | {"index": i} for i in self.out_indices]

    def channels(self) -> list[int]:
        """Channels of each returned map."""
        return [cast(int, entry["num_chs"]) for entry in self.info]

    def reduction(self) -> list[int]:
        """Stride of each returned map with respect to the input."""
        return [cast(int, entry["reduction"]) for entry in self.info]

    def module_name(self) -> list[str]:
        """Module whose output each returned map is."""
        return [cast(str, entry["module"]) for entry in self.info]

    def __getitem__(self, item: int) -> dict[str, object]:
        return self.info[item]

    def __len__(self) -> int:
        return len(self.info)


class SqueezeNextFeatures(nn.Module):
    """A SqueezeNext backbone returning a list of feature maps (``create_model(..., features_only=True)``).

    It keeps the full model's module names (``stem``, ``stem_pool``, ``stages``), so a classifier's state dict
    loads into it (without the head); the head convolution and the classifier are dropped.
    """

    def __init__(self, model: SqueezeNext, out_indices: Sequence[int] = DEFAULT_OUT_INDICES) -> None:
        super().__init__()
        points = model.plan.feature_points()
        self.out_indices = feature_indices(out_indices, len(points))
        self.feature_info = FeatureInfo(points, self.out_indices)
        self.pretrained_cfg = model.pretrained_cfg
        self.min_input_size = model.min_input_size
        self.stem = model.stem
        self.stem_pool = model.stem_pool
        last_stage = max(self.out_indices)  # stages after the last requested map are not kept
        self.stages = nn.Sequential(*list(model.stages)[:last_stage])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        _check_input(x, self.min_input_size)
        x = self.stem(x)
        maps = [x] if 0 in self.out_indices else []
        x = self.stem_pool(x)
        for index, stage in enumerate(self.stages, start=1):
            x = stage(x)
            if index in self.out_indices:
                maps.append(x)
        return maps
