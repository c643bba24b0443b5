"""Checkpoints: written atomically (temp file + rename), loaded safely with clear errors.

A training checkpoint holds the model, optimizer, AMP grad scaler, schedule position (epoch, step in
epoch, global step), RNG states and the resolved config. The final ``model.pt`` of a run holds what
inference needs: weights, config, class names and preprocessing.

Everything in a checkpoint is tensors and plain data (dicts, lists, tuples, strings, numbers), so it is
loaded with ``torch.load(weights_only=True)``: a crafted file cannot run code (a pickle's ``__reduce__``
is refused, not executed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from squeezenext.errors import CheckpointError
from squeezenext.fileio import atomic_path
from squeezenext.weights import safe_load


def save_checkpoint(payload: dict[str, Any], path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename over it."""
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


INFERENCE_ENTRIES: dict[str, type | tuple[type, ...]] = {
    "model": dict,
    "config": dict,
    "classes": list,
    "in_channels": int,
    "preprocessing": dict,
}
"""What ``eval``, ``export`` and ``predict`` read from a checkpoint, with the type each must have."""


def load_checkpoint(path: str | Path, *, inference: bool = False) -> dict[str, Any]:
    """Load a checkpoint written by this library (on the CPU); ``inference`` also checks the entries that
    evaluation and export read (:data:`INFERENCE_ENTRIES`)."""
    path = Path(path)
    payload = safe_load(path)
    if not isinstance(payload, dict) or "model" not in payload or "config" not in payload:
        raise CheckpointError(f"{path} is not a squeezenext checkpoint (no model/config entries)")
    required = INFERENCE_ENTRIES if inference else {"model": dict, "config": dict}
    for key, kind in required.items():
        if not isinstance(payload.get(key), kind) or isinstance(payload.get(key), bool):
            raise CheckpointError(f"{path}: the checkpoint's {key!r} entry is missing or damaged")
    if inference and not all(isinstance(c, str) for c in payload["classes"]):
        raise CheckpointError(f"{path}: the checkpoint's 'classes' entry is damaged")
    return payload
