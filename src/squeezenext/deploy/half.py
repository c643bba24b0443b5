"""fp16 ONNX models, for GPUs and NPUs that compute in half precision (onnxconverter-common's converter).

Weights and activations become float16; the input and output stay float32 (``keep_io_types``), so callers
feed and read the same arrays as with the fp32 file. The result is checked with ``onnx.checker`` and run in
onnxruntime against the verified fp32 file on the same images (onnxruntime's CPU provider computes the
float16 operators it lacks in float32 through inserted casts, so this checks the graph and the weight
rounding, not a GPU's arithmetic).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import atomic_path

FP16_TOLERANCE = 1e-2
"""Largest accepted ``max |fp16 - fp32| / max |fp32|``: float16 keeps 11 significant bits (~5e-4 relative)
per value; a network of 20-50 layers accumulates a few times that."""


def fp16_path(fp32_path: Path) -> Path:
    """Where the fp16 model goes beside the fp32 one: ``m.onnx`` -> ``m.fp16.onnx``."""
    return fp32_path.with_name(f"{fp32_path.stem}.fp16{fp32_path.suffix}")


def convert_fp16(fp32_path: str | Path, out: str | Path, inputs: np.ndarray) -> dict[str, Any]:
    """Write the float16 version of a verified fp32 ONNX model and check it on ``inputs``; return a report."""
    import onnx
    from onnxconverter_common import float16

    from squeezenext import onnx_io
    from squeezenext.deploy.export import relative_error

    model = onnx.load(str(fp32_path))
    half = float16.convert_float_to_float16(model, keep_io_types=True)
    onnx.checker.check_model(half, full_check=True)
    with atomic_path(out) as tmp:
        onnx.save(half, str(tmp))
        expected, actual = (onnx_io.run(onnx_io.cpu_session(path), inputs) for path in (fp32_path, tmp))
        error = relative_error(actual, expected)
        if not error <= FP16_TOLERANCE:
            raise SqueezeNextError(
                f"the fp16 model differs from the fp32 one by {error:.2e} (max abs difference / max abs output), "
                f"above the tolerance {FP16_TOLERANCE:.0e}; nothing was written to {out}"
            )
    return {"path": str(out), "bytes": Path(out).stat().st_size, "max_relative_error": error}
