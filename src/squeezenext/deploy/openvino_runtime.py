"""OpenVINO: the IR export and the CPU inference that ``bench`` times (an optional dependency).

OpenVINO reads our ONNX files directly (``openvino.Core.read_model``): the fp32 export, and the int8 QDQ
export, which its CPU plugin runs in int8 (its low-precision transformations turn QuantizeLinear /
DequantizeLinear pairs into int8 convolutions). Inference precision is pinned to f32 for fp32 models
(``INFERENCE_PRECISION_HINT``): on CPUs with AMX or AVX-512 BF16, OpenVINO otherwise computes in bf16 by
default, which would not be an fp32 measurement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from squeezenext.deploy.backends import OPENVINO_INSTALL
from squeezenext.errors import SqueezeNextError
from squeezenext.machine import NATIVE_BF16, cpu_label, native_bf16

IR_TOLERANCE = 1e-3
"""Largest accepted ``max |openvino - onnxruntime| / max |onnxruntime|`` for an fp32 IR export."""


def _openvino() -> Any:
    try:
        import openvino
    except ImportError:
        raise SqueezeNextError(f"OpenVINO is not installed: {OPENVINO_INSTALL}") from None
    return openvino


def compile_for_cpu(
    onnx_path: str, input_shape: Sequence[int], threads: int, precision: str = "f32", *, perf_count: bool = False
) -> Any:
    """An infer request running the model on OpenVINO's CPU plugin, compiled for a static input shape, with
    ``threads`` inference threads, a latency-oriented configuration and the inference ``precision`` (f32 or
    bf16), which is checked: bf16 is refused on a CPU without native bf16 (OpenVINO emulates it on some, e.g.
    AVX-512 without BF16, and silently computes in f32 on others), and the precision OpenVINO reports after
    compiling must be the one asked for. ``perf_count`` keeps per-layer timings (``get_profiling_info``)."""
    if precision == "bf16" and not native_bf16():
        raise SqueezeNextError(
            f"this CPU ({cpu_label()}) does not compute bf16 natively ({' or '.join(sorted(NATIVE_BF16))}): "
            "OpenVINO would emulate bf16 or fall back to f32, and neither is a bf16 measurement"
        )
    ov = _openvino()
    core = ov.Core()
    model = core.read_model(onnx_path)
    model.reshape(list(input_shape))
    config = {
        "INFERENCE_NUM_THREADS": threads,
        "PERFORMANCE_HINT": "LATENCY",
        "INFERENCE_PRECISION_HINT": precision,
        "PERF_COUNT": perf_count,
    }
    compiled = core.compile_model(model, "CPU", config)
    used = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
    if used != precision:
        capabilities = ", ".join(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))
        raise SqueezeNextError(
            f"OpenVINO computes in {used} here, not {precision}: this CPU ({cpu_label()}) has no {precision} support "
            f"(OpenVINO's CPU capabilities: {capabilities})"
        )
    return compiled.create_infer_request()


def cpu_runner(
    onnx_path: str, input_shape: Sequence[int], threads: int, precision: str = "f32"
) -> Callable[[np.ndarray], object]:
    """A function running the model through :func:`compile_for_cpu`."""
    request = compile_for_cpu(onnx_path, input_shape, threads, precision)
    return lambda x: request.infer({0: x})


def export_ir(onnx_path: Path, xml_path: Path, inputs: np.ndarray) -> dict[str, Any]:
    """Write OpenVINO IR (``NAME.xml`` + ``NAME.bin``, fp32 weights) of a verified ONNX model into a scratch
    folder (the caller moves both into place) and check it against onnxruntime on ``inputs``."""
    from squeezenext import onnx_io
    from squeezenext.deploy.export import relative_error

    ov = _openvino()
    ov.save_model(ov.convert_model(str(onnx_path)), str(xml_path), compress_to_fp16=False)
    compiled = ov.Core().compile_model(str(xml_path), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    actual = np.asarray(compiled.create_infer_request().infer({0: inputs})[0])
    error = relative_error(actual, onnx_io.run(onnx_io.cpu_session(onnx_path), inputs))
    if not error <= IR_TOLERANCE:
        raise SqueezeNextError(
            f"the OpenVINO IR differs from the ONNX model by {error:.2e}, above {IR_TOLERANCE:.0e}; nothing was written"
        )
    return {"max_relative_error": error, "openvino": ov.__version__}
