"""The inference backends ``squeezenext bench`` measures (a light module: the command line reads it)."""

import importlib.util
from collections.abc import Sequence

BACKENDS = (
    "eager",
    "eager-opt",
    "torchscript",
    "compile",
    "onnxruntime",
    "onnxruntime-int8",
    "onnxruntime-rewritten",
    "openvino",
    "openvino-int8",
    "openvino-bf16",
    "executorch",
    "executorch-int8",
)
PYTORCH_BACKENDS = ("eager", "eager-opt", "torchscript", "compile")
"""Backends that run the model in PyTorch itself (no ONNX export)."""
ONNX_FILE_OF = {
    "onnxruntime": "fp32",
    "onnxruntime-int8": "int8",
    "onnxruntime-rewritten": "rewritten",
    "openvino": "fp32",
    "openvino-int8": "int8",
    "openvino-bf16": "fp32",
}
"""Backends that run an exported ONNX file, and which one: the fp32 export, its int8 QDQ quantization, or the
fp32 export with the exact graph rewrites (``export --graph-rewrites``)."""
PROFILE_BACKENDS = tuple(ONNX_FILE_OF)
"""The backends with a per-operator profiler (``squeezenext profile``): onnxruntime and OpenVINO, each file."""
OPENVINO_PRECISION = {"openvino": "f32", "openvino-int8": "f32", "openvino-bf16": "bf16"}
"""OpenVINO's ``INFERENCE_PRECISION_HINT`` per backend: pinned, since on CPUs with AMX or AVX-512 BF16 OpenVINO
computes in bf16 by default (the int8 file's quantized layers run in int8 whatever the hint)."""
OPENVINO_BACKENDS = tuple(OPENVINO_PRECISION)
INT8_BACKENDS = ("onnxruntime-int8", "openvino-int8", "executorch-int8")
"""Backends that run the int8 quantization."""
BF16_BACKENDS = ("openvino-bf16",)
"""Backends that compute in bf16: only where the CPU does so natively (AVX-512 BF16, AMX)."""
REDUCED_PRECISION_BACKENDS = (*INT8_BACKENDS, *BF16_BACKENDS)
"""Every backend not listed here computes in fp32."""
OPENVINO_INSTALL = "pip install openvino (or pip install -e '.[edge]')"
EXECUTORCH_INSTALL = "pip install executorch (or pip install -e '.[edge]')"
EXECUTORCH_BACKENDS = ("executorch", "executorch-int8")
"""Backends that run an ExecuTorch ``.pte`` program (fp32, or int8 through the XNNPACK quantizer)."""
OPTIONAL_RUNTIMES = {
    "openvino": "openvino",
    "openvino-int8": "openvino",
    "openvino-bf16": "openvino",
    "executorch": "executorch",
    "executorch-int8": "executorch",
}
"""Backends whose runtime is an optional package: backend -> the package."""
INSTALL_HINT = {"openvino": OPENVINO_INSTALL, "executorch": EXECUTORCH_INSTALL}


def installed(package: str) -> bool:
    """Whether ``package`` can be imported (found without importing it)."""
    return importlib.util.find_spec(package) is not None


def missing_runtime(backend: str) -> str | None:
    """The install hint for a backend whose optional runtime is not installed, else None."""
    package = OPTIONAL_RUNTIMES.get(backend)
    return INSTALL_HINT[package] if package is not None and not installed(package) else None


def default_backends() -> tuple[str, ...]:
    """Every backend but ``compile`` (minutes of compilation per case) that this machine can run
    (:func:`unavailable`): the optional runtimes where installed, the bf16 ones where the CPU computes bf16."""
    return tuple(b for b in BACKENDS if b != "compile" and unavailable(b) is None)


def unavailable(backend: str) -> str | None:
    """Why this machine cannot run ``backend`` (its runtime is not installed, or it computes in bf16 on a CPU
    without native bf16, where the runtime would silently use fp32), else None."""
    from squeezenext.machine import NATIVE_BF16, cpu_label, native_bf16

    hint = missing_runtime(backend)
    if hint is not None:
        return f"backend {backend} needs a runtime that is not installed: {hint}"
    if backend in BF16_BACKENDS and not native_bf16():
        return (
            f"backend {backend} needs a CPU that computes bf16 natively ({' or '.join(sorted(NATIVE_BF16))}); "
            f"this one ({cpu_label()}) has neither, and the runtime would compute in fp32"
        )
    return None


def check_backend(backend: str, valid: Sequence[str] = BACKENDS) -> None:
    """Refuse, before any work, a backend that is unknown (not in ``valid``) or :func:`unavailable` here."""
    from squeezenext.errors import SqueezeNextError

    if backend not in valid:
        raise SqueezeNextError(f"unknown backend {backend!r}; valid: {', '.join(valid)}")
    reason = unavailable(backend)
    if reason is not None:
        raise SqueezeNextError(reason)
