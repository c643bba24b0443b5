"""Helpers for model tests."""

from collections.abc import Iterable

import pytest
from torch import nn

REPRESENTATIVE = ("sqnxt23_w1", "sqnxt23v5_w1", "sqnxt23g_w1")
"""7x7 and 5x5 stems, both wirings, grouped convolutions: the default suite's share of a per-model check
(the other registered models run in the ``extended`` tier)."""


def every_model(names: Iterable[str]) -> list[object]:
    """``names`` as parameters, the :data:`REPRESENTATIVE` ones in the default suite, the rest ``extended``."""
    return [pytest.param(name, marks=() if name in REPRESENTATIVE else pytest.mark.extended) for name in names]


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
