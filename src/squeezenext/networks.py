"""Builders of the peer networks: torchvision's classification models and pytorchcv's SqueezeNext port.

Network arguments (``torchvision:<name>``, ``pytorchcv:<name>``) are parsed by :mod:`squeezenext.sources`.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from squeezenext.errors import ModelError

if TYPE_CHECKING:
    from torch import nn

PYTORCHCV_PACKAGE = "pytorchcv==0.0.74"


def unknown_model(kind: str, name: str, valid: list[str]) -> ModelError:
    """The error for a model name its package does not define, with the closest names."""
    close = difflib.get_close_matches(name, valid, n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return ModelError(f"unknown {kind} model {name!r}.{hint} Valid: {', '.join(sorted(valid))}")


def torchvision_names() -> list[str]:
    """torchvision's classification models."""
    import torchvision

    return list(torchvision.models.list_models(module=torchvision.models))


def torchvision_module(name: str, num_classes: int = 1000) -> nn.Module:
    """A torchvision classification model without weights."""
    import torchvision

    if name not in torchvision_names():
        raise unknown_model("torchvision", name, torchvision_names())
    module: nn.Module = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    return module


def pytorchcv_names() -> list[str]:
    """pytorchcv's SqueezeNext models (the public ImageNet-checkpoint port)."""
    try:
        from pytorchcv.models import squeezenext as pytorchcv_squeezenext
    except ImportError:
        raise ModelError(f"pytorchcv models need the pytorchcv package: pip install {PYTORCHCV_PACKAGE}") from None
    return [n for n in getattr(pytorchcv_squeezenext, "__all__", []) if n.startswith("sqnxt")]


def pytorchcv_module(name: str, num_classes: int = 1000) -> nn.Module:
    """One of pytorchcv's SqueezeNext models, without weights."""
    from pytorchcv.models import squeezenext as pytorchcv_squeezenext

    if name not in pytorchcv_names():
        raise unknown_model("pytorchcv", name, pytorchcv_names())
    module: nn.Module = getattr(pytorchcv_squeezenext, name)(num_classes=num_classes)
    return module
