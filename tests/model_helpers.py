"""Helpers for model tests."""

from torch import nn


def randomize_batchnorm(module: nn.Module, spread: float = 0.1) -> None:
    """Give every BatchNorm non-trivial statistics and affine terms, so that folding or a wrong weight
    mapping shows in the outputs (fresh BatchNorms are identities in eval mode)."""
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert m.running_mean is not None and m.running_var is not None
            m.running_mean.data.uniform_(-spread, spread)
            m.running_var.data.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-spread, spread)
