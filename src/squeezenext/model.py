"""SqueezeNext as a PyTorch module, built from a :class:`~squeezenext.plan.NetworkPlan`.

Module names follow the paper's figure: ``stem``, ``stages[i].blocks[j].{shortcut, reduce1, reduce2,
sep1, sep2, expand}``, ``head``, ``fc``; the same names appear in layer lists, ONNX graphs and
simulator reports.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from squeezenext.errors import ModelError
from squeezenext.plan import POOL_KERNEL, POOL_STRIDE, BlockPlan, ConvSpec, NetworkPlan

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

    def __init__(self, plan: NetworkPlan) -> None:
        super().__init__()
        self.plan = plan
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
        self.fc = nn.Linear(plan.num_features, plan.num_classes, bias=plan.fc_bias)
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

    def stage_blocks(self, stage: int) -> list[Block]:
        """The blocks of stage ``stage`` (0-based), in order."""
        return [block for block in cast(Stage, self.stages[stage]).blocks if isinstance(block, Block)]

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Stem, stages and head convolution: the feature map before pooling."""
        if x.dim() != 4 or x.shape[-1] < self.min_input_size or x.shape[-2] < self.min_input_size:
            raise ModelError(
                "expected an input of shape (N, C, H, W) with H and W >= "
                + str(self.min_input_size)
                + " (the smallest size this network's downsampling keeps), got "
                + str(list(x.shape))
            )
        x = self.stem_pool(self.stem(x))
        features: torch.Tensor = self.head(self.stages(x))
        return features

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Global average pooling and the classifier (``pre_logits`` returns the pooled features)."""
        x = torch.flatten(self.pool(x), 1)
        if pre_logits:
            return x
        logits: torch.Tensor = self.fc(x)
        return logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))
