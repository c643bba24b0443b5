"""Networks by name: our registry, ``torchvision:<name>`` and ``pytorchcv:<name>``, one resolver for all.

Every command that takes a network name builds it here, so the prefixes and their errors are the same in
``info``, ``simulate``, ``train`` and ``bench``.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from squeezenext.errors import ModelError
from squeezenext.registry import create_model

if TYPE_CHECKING:
    from torch import nn

TORCHVISION_PREFIX = "torchvision:"
PYTORCHCV_PREFIX = "pytorchcv:"
PYTORCHCV_PACKAGE = "pytorchcv==0.0.74"


def _unknown(kind: str, name: str, valid: list[str]) -> ModelError:
    close = difflib.get_close_matches(name, valid, n=3)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return ModelError(f"unknown {kind} model {name!r}.{hint} Valid: {', '.join(sorted(valid))}")


def torchvision_module(name: str, num_classes: int = 1000) -> nn.Module:
    """A torchvision classification model without weights."""
    import torchvision

    available = torchvision.models.list_models(module=torchvision.models)
    if name not in available:
        raise _unknown("torchvision", name, available)
    module: nn.Module = torchvision.models.get_model(name, weights=None, num_classes=num_classes)
    return module


def pytorchcv_module(name: str, num_classes: int = 1000) -> nn.Module:
    """One of pytorchcv's SqueezeNext models (the public ImageNet-checkpoint port), without weights."""
    try:
        from pytorchcv.models import squeezenext as pytorchcv_squeezenext
    except ImportError:
        raise ModelError(
            f"{PYTORCHCV_PREFIX}{name} needs the pytorchcv package: pip install {PYTORCHCV_PACKAGE}"
        ) from None
    available = [n for n in getattr(pytorchcv_squeezenext, "__all__", []) if n.startswith("sqnxt")]
    if name not in available:
        raise _unknown("pytorchcv", name, available)
    module: nn.Module = getattr(pytorchcv_squeezenext, name)(num_classes=num_classes)
    return module


def build_module(name: str, num_classes: int = 1000) -> nn.Module:
    """Our registered models (official flavor), ``torchvision:<name>`` or ``pytorchcv:<name>``."""
    if name.startswith(TORCHVISION_PREFIX):
        return torchvision_module(name.removeprefix(TORCHVISION_PREFIX), num_classes)
    if name.startswith(PYTORCHCV_PREFIX):
        return pytorchcv_module(name.removeprefix(PYTORCHCV_PREFIX), num_classes)
    return create_model(name, num_classes=num_classes)
