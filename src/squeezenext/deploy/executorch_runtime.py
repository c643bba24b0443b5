"""ExecuTorch with the XNNPACK delegate: the ``.pte`` export and the inference ``bench`` times (optional).

The flow is ExecuTorch's documented one: ``torch.export`` of the BatchNorm-folded model at a fixed input
shape, ``to_edge_transform_and_lower`` with the ``XnnpackPartitioner`` (every convolution, ReLU, add and
pooling of SqueezeNext is delegated to XNNPACK), ``to_executorch``; the program runs in ExecuTorch's Python
runtime (``executorch.runtime.Runtime``). XNNPACK runs on its own thread pool (one thread per core).
Checked with executorch 1.5.1 and torch 2.14.1.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from squeezenext.deploy.backends import EXECUTORCH_INSTALL
from squeezenext.errors import SqueezeNextError

PTE_TOLERANCE = 1e-4
"""Largest accepted ``max |executorch - torch| / max |torch|`` for an fp32 ``.pte`` export."""


def lower_to_xnnpack(module: nn.Module, example: torch.Tensor) -> bytes:
    """The ``.pte`` program of ``module`` (BatchNorm folded) for inputs shaped like ``example``."""
    try:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower
    except ImportError:
        raise SqueezeNextError(f"ExecuTorch is not installed: {EXECUTORCH_INSTALL}") from None
    from squeezenext.deploy.fold import fold_batchnorm

    with torch.no_grad():
        exported = torch.export.export(fold_batchnorm(module).eval(), (example,))
    program = to_edge_transform_and_lower(exported, partitioner=[XnnpackPartitioner()]).to_executorch()
    return bytes(program.buffer)


def load_method(path: str | Path) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function running a ``.pte`` file's ``forward`` in ExecuTorch's runtime."""
    try:
        from executorch.runtime import Runtime
    except ImportError:
        raise SqueezeNextError(f"ExecuTorch is not installed: {EXECUTORCH_INSTALL}") from None
    method = Runtime.get().load_program(str(path)).load_method("forward")

    def run(x: torch.Tensor) -> torch.Tensor:
        output: torch.Tensor = method.execute([x])[0]
        return output

    return run


def export_pte(module: nn.Module, example: torch.Tensor, path: Path) -> dict[str, Any]:
    """Write the XNNPACK ``.pte`` of ``module`` to ``path`` (a scratch file the caller moves into place) and
    check it against PyTorch on ``example``."""
    from squeezenext.deploy.export import relative_error

    path.write_bytes(lower_to_xnnpack(module, example))
    with torch.no_grad():
        expected = module.eval()(example).numpy()
    actual = load_method(path)(example).numpy()
    error = relative_error(actual, expected)
    if not error <= PTE_TOLERANCE:
        raise SqueezeNextError(
            f"the ExecuTorch program differs from PyTorch by {error:.2e}, above {PTE_TOLERANCE:.0e}; "
            "nothing was written"
        )
    return {"max_relative_error": error, "batch": int(example.shape[0]), "bytes": path.stat().st_size}
