"""Load pytorchcv's SqueezeNext checkpoints (the only public ImageNet weights) into our modules.

pytorchcv (``pytorchcv/models/squeezenext.py``) names its layers ``features.init_block.conv``,
``features.stage{i}.unit{j}.conv{1..5}``, ``identity_conv``, ``features.final_block`` and ``output``;
build the model with ``flavor="pytorchcv"`` and map the keys with :func:`pytorchcv_key_map`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from squeezenext.errors import ModelError
from squeezenext.model import SqueezeNext

_UNIT_CONVS = {
    "conv1": "reduce1",
    "conv2": "reduce2",
    "conv3": "sep1",
    "conv4": "sep2",
    "conv5": "expand",
    "identity_conv": "shortcut",
}
_UNIT_KEY = re.compile(r"^features\.stage(\d+)\.unit(\d+)\.(\w+)\.(conv|bn)\.(\w+)$")
_STEM_KEY = re.compile(r"^features\.init_block\.conv\.(conv|bn)\.(\w+)$")
_HEAD_KEY = re.compile(r"^features\.final_block\.(conv|bn)\.(\w+)$")
_FC_KEY = re.compile(r"^output\.(weight|bias)$")


def pytorchcv_key(key: str) -> str:
    """Our state-dict key for one pytorchcv SqueezeNext key; ValueError for a key that is not one."""
    if match := _UNIT_KEY.match(key):
        stage, unit, conv, layer, tensor = match.groups()
        if conv in _UNIT_CONVS:
            return f"stages.{int(stage) - 1}.blocks.{int(unit) - 1}.{_UNIT_CONVS[conv]}.{layer}.{tensor}"
    elif match := _STEM_KEY.match(key):
        return f"stem.{match.group(1)}.{match.group(2)}"
    elif match := _HEAD_KEY.match(key):
        return f"head.{match.group(1)}.{match.group(2)}"
    elif match := _FC_KEY.match(key):
        return f"fc.{match.group(1)}"
    raise ModelError(f"{key!r} is not a key of a pytorchcv SqueezeNext state dict")


def load_pytorchcv_state_dict(model: SqueezeNext, state_dict: Mapping[str, torch.Tensor]) -> None:
    """Load a pytorchcv ``sqnxt23*`` state dict into ``model`` (built with ``flavor="pytorchcv"``).

    Every key must map and every tensor must match in shape; otherwise a ValueError says which.
    """
    if not isinstance(state_dict, Mapping) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise ModelError(
            f"expected a state dict (a mapping of names to tensors), got {type(state_dict).__name__}; "
            "pass torch.load(path, weights_only=True) of a pytorchcv checkpoint"
        )
    if not isinstance(model, SqueezeNext):
        raise ModelError(f"expected a SqueezeNext built with flavor='pytorchcv', got {type(model).__name__}")
    converted = {pytorchcv_key(key): value for key, value in state_dict.items()}
    own = model.state_dict()
    missing = sorted(set(own) - set(converted))
    unexpected = sorted(set(converted) - set(own))
    if missing or unexpected:
        raise ModelError(
            "the checkpoint does not fit this model (was it built with flavor='pytorchcv' and the same "
            f"name?): missing {missing[:5]}{' ...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}"
        )
    wrong = [k for k, v in converted.items() if v.shape != own[k].shape]
    if wrong:
        raise ModelError(
            f"shape mismatch for {wrong[:5]}: checkpoint {[tuple(converted[k].shape) for k in wrong[:5]]} vs "
            f"model {[tuple(own[k].shape) for k in wrong[:5]]}; check the width and num_classes"
        )
    model.load_state_dict(converted)
