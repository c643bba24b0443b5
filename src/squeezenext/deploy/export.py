"""ONNX export: BatchNorm folded, one self-contained file, checked, and verified against PyTorch.

onnxruntime fuses each Conv with its ReLU when it loads the model (its CPU graph optimizer), so the file
stays portable ONNX. The model's class names and preprocessing travel in the ONNX metadata, which the
:class:`~squeezenext.deploy.predictor.Predictor` reads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from squeezenext import onnx_io
from squeezenext.deploy.fold import count_batchnorms, fold_batchnorm
from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import atomic_path
from squeezenext.onnx_io import LAYER_OPS
from squeezenext.sources import LoadedModel

INPUT_NAME, OUTPUT_NAME = "image", "logits"
FP32_TOLERANCE = 1e-3
"""Largest accepted ``max |onnx - torch| / max |torch|`` of an fp32 export."""
OPSET = 18


class ExportError(SqueezeNextError):
    """The export failed a check; the message gives the measured error and the tolerance."""


WEIGHT_SUFFIX = ".weight"


def name_layers_by_module(proto: Any) -> None:
    """Name each Conv/Gemm/MatMul node after the module it came from (``stages.0.blocks.1.sep1.conv``), as the
    exporter names its weight (``<module>.weight``), so that ``simulate model.onnx`` reports the same layer
    names as ``simulate <model name>``."""
    initializers = {init.name for init in proto.graph.initializer}
    taken = {node.name for node in proto.graph.node}
    for node in proto.graph.node:
        if node.op_type in LAYER_OPS and len(node.input) > 1 and node.input[1] in initializers:
            module = node.input[1].removesuffix(WEIGHT_SUFFIX)
            if node.input[1].endswith(WEIGHT_SUFFIX) and module not in taken:
                taken.add(module)
                node.name = module


def int8_path(fp32_path: Path) -> Path:
    """Where the int8 model goes beside the fp32 one (``export --int8``, ``bench``): ``m.onnx`` -> ``m.int8.onnx``."""
    return fp32_path.with_name(f"{fp32_path.stem}.int8{fp32_path.suffix}")


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """``max |actual - expected| / max |expected|``: scale-free, so random-init networks compare too."""
    return float(np.abs(actual - expected).max() / max(float(np.abs(expected).max()), 1e-12))


def export_onnx(
    model: LoadedModel,
    out: str | Path,
    *,
    batch: int | None,
    verify_inputs: torch.Tensor | None = None,
    rewrite: bool = False,
) -> dict[str, Any]:
    """Fold BatchNorm, export to ``out`` (``batch=None``: dynamic batch), apply the exact graph rewrites when
    asked (:mod:`squeezenext.deploy.rewrite`), check, verify; return a report."""
    import onnx

    from squeezenext.deploy.rewrite import apply_exact_rewrites

    out = Path(out)
    size, channels = model.preprocessing.input_size, model.preprocessing.in_channels
    minimum = int(getattr(model.module, "min_input_size", 1))
    if size < minimum:
        raise SqueezeNextError(f"input size {size} is smaller than the minimum {minimum} of {model.name}")
    folded = fold_batchnorm(model.module)
    example = torch.randn(batch or 2, channels, size, size)
    dynamic = {"x": {0: torch.export.Dim("batch", min=1, max=4096)}} if batch is None else None
    with atomic_path(out) as tmp, warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the exporter's progress lines and deprecation notes
        torch.onnx.export(
            folded,
            (example,),
            str(tmp),
            dynamo=True,
            external_data=False,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=dynamic,
            opset_version=OPSET,
        )
        proto = onnx.load(str(tmp))
        name_layers_by_module(proto)
        rewrites = apply_exact_rewrites(proto) if rewrite else None
        onnx.checker.check_model(proto, full_check=True)
        onnx_io.write_metadata(proto, model.name, model.classes, dataclasses.asdict(model.preprocessing))
        onnx.save(proto, str(tmp))
        inputs = verify_inputs if verify_inputs is not None else torch.randn(batch or 8, channels, size, size)
        with torch.no_grad():
            expected = model.module(inputs).numpy()
        actual = onnx_io.run(onnx_io.cpu_session(tmp), inputs.numpy())
        error = relative_error(actual, expected)
        if not error <= FP32_TOLERANCE:
            raise ExportError(
                f"the ONNX model differs from PyTorch by {error:.2e} (max abs difference / max abs output), "
                f"above the tolerance {FP32_TOLERANCE:.0e}; nothing was written to {out}"
            )
    return {
        "path": str(out),
        "bytes": out.stat().st_size,
        "batchnorms_left": count_batchnorms(folded),
        "max_relative_error": error,
        "verified_on": int(inputs.shape[0]),
        "dynamic_batch": batch is None,
        "input_size": size,
        "nodes": len(proto.graph.node),
        "rewrites": dataclasses.asdict(rewrites) if rewrites is not None else None,
    }
