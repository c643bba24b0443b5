"""Static post-training int8 quantization with onnxruntime (QDQ format, per-channel weights).

Weights are quantized per output channel (signed int8), activations per tensor (unsigned int8) with
ranges from min/max calibration on a few hundred images (onnxruntime.quantization.quantize_static).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import atomic_path

DEFAULT_CALIBRATION_IMAGES = 256
"""Images int8 is calibrated on unless told otherwise (``export --calibration-images``)."""
CALIBRATION_BATCH = 32


class _Batches:
    """onnxruntime's CalibrationDataReader protocol over an array of preprocessed images."""

    def __init__(self, input_name: str, images: np.ndarray, fixed_batch: int) -> None:
        """``fixed_batch``: the model's batch size, 0 for a dynamic one (then batches of CALIBRATION_BATCH); a
        fixed-batch model gets exactly that many images each time, the last batch filled up by repetition (which
        leaves the min/max ranges unchanged)."""
        self.input_name = input_name
        size = fixed_batch or CALIBRATION_BATCH
        chunks = [images[i : i + size] for i in range(0, len(images), size)]
        if fixed_batch:
            chunks = [chunk[np.arange(size) % len(chunk)] for chunk in chunks]
        self.batches: Iterator[np.ndarray] = iter(chunks)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {self.input_name: batch}


def quantize_int8(fp32_path: str | Path, out: str | Path, calibration: np.ndarray) -> None:
    """Write an int8 QDQ model calibrated on ``calibration`` (N, C, H, W float32, preprocessed)."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if len(calibration) == 0:
        raise SqueezeNextError("int8 calibration needs at least one image")
    model = onnx.load(str(fp32_path))
    input_name = model.graph.input[0].name
    with tempfile.TemporaryDirectory() as work, atomic_path(out) as tmp:
        prepared = Path(work) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        quantize_static(
            str(prepared),
            str(tmp),
            _Batches(
                input_name, calibration.astype(np.float32), model.graph.input[0].type.tensor_type.shape.dim[0].dim_value
            ),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        quantized = onnx.load(str(tmp))
        del quantized.metadata_props[:]
        quantized.metadata_props.extend(model.metadata_props)
        onnx.save(quantized, str(tmp))
