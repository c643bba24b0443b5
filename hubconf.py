"""torch.hub entry points: ``torch.hub.load("<owner>/squeezenext", "sqnxt23_w1", source="github")``.

Every registered model is an entry point taking the keyword options of
:func:`squeezenext.create_model` (``num_classes``, ``flavor``, ``in_channels``, ``stem``). No pretrained
weights are downloaded: load pytorchcv checkpoints with :func:`squeezenext.load_pytorchcv_state_dict`.
"""

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from squeezenext import create_model, list_models
from squeezenext.model import SqueezeNext

dependencies = ["torch", "torchvision"]


def _entry(name: str) -> Any:
    def build(**options: Any) -> SqueezeNext:
        return create_model(name, **options)

    build.__name__ = name
    build.__doc__ = f"SqueezeNext {name} (see squeezenext.create_model)."
    return build


globals().update({name: _entry(name) for name in list_models()})
