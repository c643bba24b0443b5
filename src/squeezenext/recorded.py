"""The peers' workloads recorded from torchvision's definitions, so that the cost model, the hardware study and the
search run without PyTorch (the base install): every network of :data:`squeezenext.peers.PEERS` traced at each of
:data:`RECORDED_SIZES` (``recorded_workloads.json``, package data). Where PyTorch is installed the peers are traced
as before and the record is not used; ``make docs`` rewrites it from a fresh trace and ``python -m docgen --check``
(a test) fails when it differs from one."""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from importlib import resources
from typing import Any

from squeezenext.workload import LayerDesc, Workload

RECORDED_SIZES = (224, 227)
"""The input sizes of the record: the bench's and the paper's."""
RECORD_FILE = "recorded_workloads.json"


def torch_installed() -> bool:
    """Whether PyTorch can be imported here (the ``[torch]`` extra)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # an import of torch blocked (None in sys.modules) or broken
        return False


@cache
def _record() -> dict[str, Any]:
    return json.loads(resources.files("squeezenext").joinpath(RECORD_FILE).read_text())  # type: ignore[no-any-return]


def recorded_names() -> list[str]:
    """The network arguments (``torchvision:NAME``) the record holds."""
    return sorted(_record())


def recorded_workload(argument: str, input_size: int) -> Workload | None:
    """The recorded workload of a peer (``torchvision:NAME``) at ``input_size``, or None when not recorded."""
    entry = _record().get(argument, {}).get(str(input_size))
    if entry is None:
        return None
    fields: list[dict[str, Any]] = [
        {key: tuple(value) if isinstance(value, list) else value for key, value in layer.items()}
        for layer in entry["layers"]
    ]
    layers = [LayerDesc(**layer) for layer in fields]
    return Workload(
        argument, layers, entry["params"], entry["params_numel"], "torchvision definition (recorded)", input_size
    )
