"""ExecuTorch with the XNNPACK delegate: the ``.pte`` export and the inference ``bench`` times (optional).

The flow is ExecuTorch's documented one: ``torch.export`` of the BatchNorm-folded model at a fixed input
shape, ``to_edge_transform_and_lower`` with the ``XnnpackPartitioner`` (every convolution, ReLU, add and
pooling of SqueezeNext is delegated to XNNPACK), ``to_executorch``; the program runs in ExecuTorch's Python
runtime (``executorch.runtime.Runtime``). XNNPACK runs on its own thread pool (one thread per core).

int8 follows ExecuTorch's PT2E flow: the exported graph is prepared with the ``XNNPACKQuantizer``
(symmetric int8, per-channel weights, per-tensor activations), calibrated on images, converted
(``torchao``'s ``prepare_pt2e``/``convert_pt2e``) and lowered the same way; XNNPACK then runs the quantized
convolutions in int8. Checked with executorch 1.5.1, torchao 0.18.0 and torch 2.14.1.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from squeezenext.deploy.backends import EXECUTORCH_INSTALL
from squeezenext.errors import SqueezeNextError

PTE_TOLERANCE = 1e-4
"""Largest accepted ``max |executorch - torch| / max |torch|`` for an fp32 ``.pte`` export."""


def calibration_used(images: int, batch: int) -> int:
    """How many calibration images a fixed-batch program is calibrated on: whole batches only (an error when
    there is not even one)."""
    if images < batch:
        raise SqueezeNextError(f"int8 calibration needs at least {batch} images (the program's batch size)")
    return images - images % batch


def _quantized(graph: nn.Module, example: torch.Tensor, calibration: np.ndarray) -> nn.Module:
    """``graph`` (an exported module) quantized to int8 for XNNPACK, calibrated on ``calibration`` images fed in
    batches of ``example``'s size (the program's shapes are fixed)."""
    from executorch.backends.xnnpack.quantizer.xnnpack_quantizer import (
        XNNPACKQuantizer,
        get_symmetric_quantization_config,
    )
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    quantizer = XNNPACKQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True))
    prepared = prepare_pt2e(graph, quantizer)
    batch = int(example.shape[0])
    usable = calibration_used(len(calibration), batch)
    with torch.no_grad():
        for start in range(0, usable, batch):
            prepared(torch.from_numpy(np.ascontiguousarray(calibration[start : start + batch])))
    return convert_pt2e(prepared)  # type: ignore[no-any-return]


def lower_to_xnnpack(module: nn.Module, example: torch.Tensor, calibration: np.ndarray | None = None) -> bytes:
    """The ``.pte`` program of ``module`` (BatchNorm folded) for inputs shaped like ``example``; int8 when
    ``calibration`` images are given."""
    try:
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.exir import to_edge_transform_and_lower
    except ImportError:
        raise SqueezeNextError(f"ExecuTorch is not installed: {EXECUTORCH_INSTALL}") from None
    from squeezenext.deploy.fold import fold_batchnorm

    with torch.no_grad():
        exported = torch.export.export(fold_batchnorm(module).eval(), (example,))
        if calibration is not None:
            exported = torch.export.export(_quantized(exported.module(), example, calibration), (example,))
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


def program_logits(path: str | Path, images: np.ndarray) -> np.ndarray:
    """Logits of a fixed-batch ``.pte`` program on any number of images (the last batch padded with zeros)."""
    method = load_method(path)
    batch = int(_program_batch(path))
    outputs = []
    for start in range(0, len(images), batch):
        chunk = images[start : start + batch]
        padded = np.zeros((batch, *images.shape[1:]), np.float32)
        padded[: len(chunk)] = chunk
        outputs.append(method(torch.from_numpy(padded)).numpy()[: len(chunk)])
    return np.concatenate(outputs)


def _program_batch(path: str | Path) -> int:
    from executorch.runtime import Runtime

    meta = Runtime.get().load_program(str(path)).metadata("forward")
    return int(meta.input_tensor_meta(0).sizes()[0])


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


def export_pte_int8(module: nn.Module, example: torch.Tensor, calibration: np.ndarray, path: Path) -> dict[str, Any]:
    """Write the int8 XNNPACK ``.pte`` of ``module`` (a scratch file the caller moves into place), calibrated on
    ``calibration``, and report how far it is from PyTorch's fp32 output on ``example``."""
    from squeezenext.deploy.export import relative_error

    path.write_bytes(lower_to_xnnpack(module, example, calibration))
    with torch.no_grad():
        expected = module.eval()(example).numpy()
    actual = load_method(path)(example).numpy()
    return {
        "batch": int(example.shape[0]),
        "bytes": path.stat().st_size,
        "calibration_images": calibration_used(len(calibration), int(example.shape[0])),
        "relative_error_vs_fp32": relative_error(actual, expected),
        "top1_agreement_vs_fp32": float(np.mean(actual.argmax(axis=1) == expected.argmax(axis=1))),
    }
