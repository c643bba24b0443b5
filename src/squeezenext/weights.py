"""Reading weight files safely and loading them into a model, for ``create_model(pretrained=True | weights=)``,
``train --init`` and checkpoints.

Every file is read with ``torch.load(weights_only=True)``: tensors and plain data only, so a crafted file
cannot run code. Three kinds of file are understood: a squeezenext checkpoint (``model.pt`` or a training
checkpoint; its ``model`` entry), a pytorchcv SqueezeNext ``.pth`` (keys mapped by
:mod:`squeezenext.pytorchcv_compat`) and a plain state dict of our modules.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from squeezenext.errors import CheckpointError

CLASSIFIER_PREFIX = "fc."
STEM_WEIGHT = "stem.conv.weight"
_PYTORCHCV_PREFIXES = ("features.", "output.")


def safe_load(path: str | Path) -> Any:
    """``torch.load(weights_only=True)`` on the CPU, with one clear error for a missing, damaged, foreign or
    code-carrying file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path} does not exist")
    try:
        with warnings.catch_warnings():  # torch warns about the pickle protocol of files it then refuses
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if _is_plain_pickle(path):
            raise CheckpointError(
                f"{path} was refused: it is a plain Python pickle (pickle.dump), not a PyTorch file, and loading "
                "one could run code; save the weights with torch.save(model.state_dict(), path)"
            ) from None
        if "global" not in str(error).lower():  # not a pickle of Python objects: a damaged or foreign file
            raise CheckpointError(f"{path} is not a readable checkpoint (not a PyTorch file, or damaged)") from None
        raise CheckpointError(
            f"{path} was refused: it holds Python objects other than tensors and plain data, which could run "
            "code when loaded; only checkpoints written by squeezenext (or plain state dicts) are accepted"
        ) from None
    except Exception as error:  # torch raises several types for truncated or foreign files
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(error).__name__}: {first_line})") from None


_TORCH_LEGACY_MAGIC = b"\x80\x02\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little")
"""How a legacy (non-zip) ``torch.save`` file opens: protocol 2, then its magic number pickled as a LONG1."""


def _is_plain_pickle(path: Path) -> bool:
    """Whether ``path`` is a Python pickle written by ``pickle.dump`` (protocol 2 or later: it opens with the
    PROTO opcode, 0x80), not by ``torch.save``, whose files are zip archives or open with its magic number."""
    with path.open("rb") as handle:
        head = handle.read(len(_TORCH_LEGACY_MAGIC))
    is_pickle = len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= pickle.HIGHEST_PROTOCOL
    return is_pickle and head != _TORCH_LEGACY_MAGIC


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Our modules' state dict from a squeezenext checkpoint, a pytorchcv ``.pth`` or a plain state dict."""
    from squeezenext.pytorchcv_compat import pytorchcv_key

    payload = safe_load(path)
    if isinstance(payload, dict) and isinstance(payload.get("model"), dict) and "config" in payload:
        payload = payload["model"]
    if (
        not isinstance(payload, dict)
        or not payload
        or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in payload.items())
    ):
        raise CheckpointError(
            f"{path} holds no state dict (a squeezenext checkpoint, a pytorchcv .pth or a mapping of names to tensors)"
        )
    if all(key.startswith(_PYTORCHCV_PREFIXES) for key in payload):
        return {pytorchcv_key(key): value for key, value in payload.items()}
    return dict(payload)


def load_state_dict_checked(module: nn.Module, state_dict: Any, source: str) -> None:
    """``module.load_state_dict`` with one clear line for a state dict of another architecture: the first
    missing, unexpected or differently shaped tensor is named."""
    if not isinstance(state_dict, Mapping) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise CheckpointError(f"{source}: the weights are not a mapping of names to tensors")
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    wrong = [k for k in own if k in state_dict and state_dict[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        if wrong:
            first = wrong[0]
            detail = f"{first} has shape {list(state_dict[first].shape)}, the model expects {list(own[first].shape)}"
        elif missing:
            detail = f"{missing[0]} is missing"
        else:
            detail = f"{unexpected[0]} is not in the model"
        total = len(missing) + len(unexpected) + len(wrong)
        raise CheckpointError(f"{source} does not fit the model: {detail} ({total} tensors differ)")
    damaged = [k for k, v in state_dict.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if damaged:
        raise CheckpointError(
            f"{source}: {damaged[0]} holds NaN or infinite values ({len(damaged)} tensors do): the weights are "
            "damaged, e.g. by a training run that diverged; use an earlier checkpoint"
        )
    module.load_state_dict(dict(state_dict))


def adapt_stem(weight: torch.Tensor, in_channels: int) -> torch.Tensor | None:
    """An RGB stem for a 1-channel input: the sum over the colour channels (a grey image's response equals
    the RGB stem's on that image repeated, as timm's ``adapt_input_conv``); None where it does not apply."""
    if weight.dim() == 4 and weight.shape[1] == 3 and in_channels == 1:
        return weight.sum(dim=1, keepdim=True)
    return None


def load_backbone(module: nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> list[str]:
    """Load ``state_dict`` into ``module``, except a classifier of another size, which keeps its fresh
    initialization (a new task); an RGB stem is summed for a 1-channel model. Every other tensor must fit
    (the first that does not is named). Returns the names of the tensors not loaded."""
    own = module.state_dict()
    weights = dict(state_dict)
    if STEM_WEIGHT in weights and STEM_WEIGHT in own:
        adapted = adapt_stem(weights[STEM_WEIGHT], own[STEM_WEIGHT].shape[1])
        if adapted is not None:
            weights[STEM_WEIGHT] = adapted
    skipped = [
        key
        for key in own
        if key.startswith(CLASSIFIER_PREFIX) and key in weights and weights[key].shape != own[key].shape
    ]
    for key in skipped:
        weights.pop(key, None)
    kept = {key: value for key, value in own.items() if key in skipped}
    load_state_dict_checked(module, {**weights, **kept}, source)
    return skipped
