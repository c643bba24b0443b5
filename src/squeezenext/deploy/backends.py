"""The inference backends ``squeezenext bench`` measures (a light module: the command line reads it)."""

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

OPENVINO_INSTALL = "pip install openvino (or pip install -e '.[edge]')"
EXECUTORCH_INSTALL = "pip install executorch (or pip install -e '.[edge]')"
INSTALL_HINT = {"openvino": OPENVINO_INSTALL, "executorch": EXECUTORCH_INSTALL}
"""How to install each optional runtime package."""

Program = Literal["module", "fp32", "int8", "rewritten", "pte"]


@dataclass(frozen=True)
class Backend:
    """One way of running a model: what it runs and in which runtime and precision."""

    name: str
    runtime: Literal["pytorch", "onnxruntime", "openvino", "executorch"]
    program: Program
    """What it runs: the PyTorch module itself, an ONNX file (the fp32 export, its int8 QDQ quantization or the
    fp32 export with the exact graph rewrites, ``export --graph-rewrites``) or an ExecuTorch ``.pte`` program."""
    precision: Literal["fp32", "int8", "bf16"] = "fp32"
    openvino_hint: str | None = None
    """OpenVINO's ``INFERENCE_PRECISION_HINT``: pinned, since on CPUs with AMX or AVX-512 BF16 OpenVINO computes
    in bf16 by default (the int8 file's quantized layers run in int8 whatever the hint)."""
    by_default: bool = True
    """Part of the default list (``compile``: minutes of compilation per case)."""

    @property
    def package(self) -> str | None:
        """The optional package its runtime needs, if any."""
        return self.runtime if self.runtime in INSTALL_HINT else None


BACKEND_TABLE = (
    Backend("eager", "pytorch", "module"),
    Backend("eager-opt", "pytorch", "module"),
    Backend("torchscript", "pytorch", "module"),
    Backend("compile", "pytorch", "module", by_default=False),
    Backend("onnxruntime", "onnxruntime", "fp32"),
    Backend("onnxruntime-int8", "onnxruntime", "int8", "int8"),
    Backend("onnxruntime-rewritten", "onnxruntime", "rewritten"),
    Backend("openvino", "openvino", "fp32", openvino_hint="f32"),
    Backend("openvino-int8", "openvino", "int8", "int8", openvino_hint="f32"),
    Backend("openvino-bf16", "openvino", "fp32", "bf16", openvino_hint="bf16"),
    Backend("executorch", "executorch", "pte"),
    Backend("executorch-int8", "executorch", "pte", "int8"),
)
"""Every backend ``squeezenext bench`` measures; the names below are views of this one table."""
BACKEND = {backend.name: backend for backend in BACKEND_TABLE}
BACKENDS = tuple(BACKEND)
PYTORCH_BACKENDS = tuple(b.name for b in BACKEND_TABLE if b.runtime == "pytorch")
"""Backends that run the model in PyTorch itself (no ONNX export)."""
ONNX_FILE_OF = {b.name: b.program for b in BACKEND_TABLE if b.program in ("fp32", "int8", "rewritten")}
"""Backends that run an ONNX file, and which one."""
PROFILE_BACKENDS = tuple(ONNX_FILE_OF)
"""The backends with a per-operator profiler (``squeezenext profile``): onnxruntime and OpenVINO, each file."""
OPENVINO_PRECISION = {b.name: b.openvino_hint for b in BACKEND_TABLE if b.openvino_hint is not None}
OPENVINO_BACKENDS = tuple(OPENVINO_PRECISION)
INT8_BACKENDS = tuple(b.name for b in BACKEND_TABLE if b.precision == "int8")
BF16_BACKENDS = tuple(b.name for b in BACKEND_TABLE if b.precision == "bf16")
"""Backends that compute in bf16: only where the CPU does so natively (AVX-512 BF16, AMX)."""
REDUCED_PRECISION_BACKENDS = (*INT8_BACKENDS, *BF16_BACKENDS)
"""Every backend not listed here computes in fp32."""
EXECUTORCH_BACKENDS = tuple(b.name for b in BACKEND_TABLE if b.runtime == "executorch")
OPTIONAL_RUNTIMES = {b.name: b.package for b in BACKEND_TABLE if b.package is not None}
"""Backends whose runtime is an optional package: backend -> the package."""
AS_GIVEN_BACKENDS = tuple(b.name for b in BACKEND_TABLE if b.program == "fp32")
"""Backends that run a given fp32 ``.onnx`` file as it is."""
FROM_ONNX_BACKENDS = tuple(b.name for b in BACKEND_TABLE if b.program in ("fp32", "int8"))
"""Backends that can run a model given only as an ONNX file (the int8 ones quantize it first)."""


def installed(package: str) -> bool:
    """Whether ``package`` can be imported (found without importing it)."""
    return importlib.util.find_spec(package) is not None


def missing_runtime(backend: str) -> str | None:
    """The install hint for a backend whose optional runtime is not installed, else None."""
    package = OPTIONAL_RUNTIMES.get(backend)
    return INSTALL_HINT[package] if package is not None and not installed(package) else None


def runtime_version(backend: str) -> str | None:
    """The installed version of the package that runs ``backend`` (None where it is not installed)."""
    from importlib import metadata

    package = {"pytorch": "torch"}.get(BACKEND[backend].runtime, BACKEND[backend].runtime)
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def default_backends() -> tuple[str, ...]:
    """Every backend of the default list (:attr:`Backend.by_default`) that this machine can run
    (:func:`unavailable`): the optional runtimes where installed, the bf16 ones where the CPU computes bf16."""
    return tuple(b.name for b in BACKEND_TABLE if b.by_default and unavailable(b.name) is None)


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
