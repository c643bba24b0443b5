"""torch.hub entry points: from a clone, ``torch.hub.load("PATH/TO/CLONE", "sqnxt23_w1", source="local")``
(``"."`` at the clone's root; tests/test_cli.py and the README's example run it).

Every registered model is an entry point taking the keyword options of
:func:`squeezenext.create_model` (``num_classes``, ``flavor``, ``pretrained``, ``weights``, ``features_only``,
``out_indices``, ``in_channels``, ``stem``); ``pretrained=True`` loads pytorchcv's ImageNet weights.
"""

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from torch import nn

from squeezenext import create_model, list_models

dependencies = ["torch", "torchvision"]


def _entry(name: str) -> Any:
    def build(**options: Any) -> nn.Module:
        module: nn.Module = create_model(name, **options)
        return module

    build.__name__ = name
    build.__doc__ = f"SqueezeNext {name} (see squeezenext.create_model)."
    return build


globals().update({name: _entry(name) for name in list_models()})
