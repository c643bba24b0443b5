"""Fold every BatchNorm that directly follows a convolution into that convolution (inference only).

``W' = W * gamma / sqrt(var + eps)`` per output channel and ``b' = (b - mean) * gamma / sqrt(var + eps) + beta``
(Jacob et al., CVPR 2018, Sec. 3.2; implemented by ``torch.nn.utils.fusion.fuse_conv_bn_eval``).
"""

from __future__ import annotations

import copy
import itertools

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` in eval mode where each Conv2d followed by a BatchNorm2d among the same parent's
    children (in registration order: our ConvBnReLU, torchvision's Conv2dNormActivation and Sequential
    blocks) is replaced by one convolution with a bias, and the BatchNorm by an identity.

    Callers must check that the folded model computes the same outputs (the export does); registration
    order is how these modules are applied, not a guarantee for arbitrary modules.
    """
    folded = copy.deepcopy(model).eval()
    for parent in folded.modules():
        children = list(parent.named_children())
        for (conv_name, conv), (bn_name, bn) in itertools.pairwise(children):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d) and bn.track_running_stats:
                setattr(parent, conv_name, fuse_conv_bn_eval(conv, bn))
                setattr(parent, bn_name, nn.Identity())
    return folded


def count_batchnorms(model: nn.Module) -> int:
    """BatchNorm layers left in ``model``."""
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
