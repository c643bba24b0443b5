"""The record of how a model's input is prepared, which travels with a checkpoint and an exported model (a light
module: the transforms themselves, which need PyTorch, are :mod:`squeezenext.transforms`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

PAPER_RESIZE = 256
"""The official solver's resize before its 227 crop (``train_val.prototxt``: 256x256 images)."""
IMAGENET_RESIZE_RATIO = 256 / 224
"""The ``imagenet`` evaluation resizes the shorter side to ``size * 256 / 224`` before the center crop."""

TransformKind = Literal["small", "paper", "imagenet"]
TRANSFORMS: tuple[str, ...] = get_args(TransformKind)


@dataclass(frozen=True)
class Preprocessing:
    """What a deployed model needs to prepare an image like the evaluation did."""

    transform: str
    input_size: int
    in_channels: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    scale_to_unit: bool
    grey: bool = False
    """The training images were grey (a colour image is converted to grey first)."""
