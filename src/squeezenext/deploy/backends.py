"""The inference backends ``squeezenext bench`` measures (a light module: the command line reads it)."""

import importlib.util

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
}
"""Backends that run an exported ONNX file, and which one: the fp32 export, its int8 QDQ quantization, or the
fp32 export with the exact graph rewrites (``export --graph-rewrites``)."""
OPENVINO_BACKENDS = ("openvino", "openvino-int8")
INT8_BACKENDS = ("onnxruntime-int8", "openvino-int8", "executorch-int8")
"""Backends that run the int8 quantization (every other one computes in fp32)."""
OPENVINO_INSTALL = "pip install openvino (or pip install -e '.[edge]')"
EXECUTORCH_INSTALL = "pip install executorch (or pip install -e '.[edge]')"
EXECUTORCH_BACKENDS = ("executorch", "executorch-int8")
"""Backends that run an ExecuTorch ``.pte`` program (fp32, or int8 through the XNNPACK quantizer)."""
OPTIONAL_RUNTIMES = {
    "openvino": "openvino",
    "openvino-int8": "openvino",
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
    """Every backend but ``compile`` (minutes of compilation per case), the optional runtimes where installed."""
    return tuple(b for b in BACKENDS if b != "compile" and missing_runtime(b) is None)
