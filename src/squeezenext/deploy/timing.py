"""One bench measurement in its own process (the worker of ``squeezenext bench``).

Each (model, backend, batch) runs in a fresh interpreter, so its peak memory and allocator state are its
own. Backends that run an exported file (onnxruntime, OpenVINO) never import PyTorch here, so their peak
memory is what a deployed process holding only that runtime needs; the PyTorch backends import it lazily.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from squeezenext import onnx_io
from squeezenext.deploy.backends import (
    EXECUTORCH_BACKENDS,
    ONNX_FILE_OF,
    OPENVINO_BACKENDS,
    OPENVINO_PRECISION,
    PYTORCH_BACKENDS,
)
from squeezenext.errors import SqueezeNextError
from squeezenext.sources import MODULE_KINDS, NetworkSource, SourceKind, parse_network

if TYPE_CHECKING:
    import torch
    from torch import nn

ALLOCATOR_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}
"""glibc settings that keep large activation buffers (docs/environment.md: 1.5-3x faster batch-32 torch runs)."""
WARMUP_RUNS = 5
"""Runs before timing starts (bench, profile): first runs pay for allocation, JIT kernels and cold caches."""
INPUT_SEED = 0


@dataclass(frozen=True)
class Case:
    """One measurement."""

    model: str
    backend: str
    batch: int
    input_size: int
    threads: int
    min_seconds: float
    min_iterations: int
    program_path: str = ""
    """The file the backend runs: an ONNX export, or an ExecuTorch ``.pte`` program."""
    channels: int = 3
    """Input channels (a checkpoint's or an ONNX file's own)."""

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.channels, self.input_size, self.input_size)


def _timed(run: Callable[[], object], case: Case) -> list[float]:
    for _ in range(WARMUP_RUNS):
        run()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < case.min_iterations or time.perf_counter() - started < case.min_seconds:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def input_shape(source: NetworkSource, input_size: int, batches: Sequence[int]) -> tuple[int, int]:
    """The (channels, size) a network is timed at: 3 channels at ``input_size``, except a checkpoint's own
    channels and an ONNX file's own channels and static size; a file's static batch must be every batch."""
    if source.kind is SourceKind.CHECKPOINT:
        return source.loaded(input_size).preprocessing.in_channels, input_size
    if source.kind is not SourceKind.ONNX:
        return 3, input_size
    batch, channels, height, _ = onnx_io.input_dims(onnx_io.read_model(source.path), source.path)
    if channels is None:
        raise SqueezeNextError(f"{source.path}: its input's channel count is not fixed")
    if batch is not None and any(b != batch for b in batches):
        raise SqueezeNextError(f"{source.path} takes batch {batch} only; pass --batch {batch}")
    return channels, height or input_size


def _onnxruntime_runner(case: Case) -> Callable[[np.ndarray], object]:
    session = onnx_io.cpu_session(case.program_path, onnx_io.session_options(case.threads))
    return lambda x: onnx_io.run(session, x)


def file_runner(case: Case) -> Callable[[np.ndarray], object]:
    if case.backend in OPENVINO_BACKENDS:
        from squeezenext.deploy.openvino_runtime import cpu_runner

        precision = OPENVINO_PRECISION[case.backend]
        return cpu_runner(case.program_path, case.input_shape, case.threads, precision)
    return _onnxruntime_runner(case)


def build_module(network: str) -> nn.Module:
    """A network argument's PyTorch module (:mod:`squeezenext.sources`), in eval mode."""
    return parse_network(network, MODULE_KINDS, purpose="a PyTorch backend").module().eval()


def torchscript_for_inference(module: nn.Module, example: torch.Tensor) -> torch.jit.ScriptModule:
    """Traced, frozen and ``torch.jit.optimize_for_inference``-d (BatchNorm folded, conv weights prepacked for
    oneDNN, conv+ReLU fused): the fastest PyTorch CPU path that needs no compiler. TorchScript is deprecated
    by PyTorch (torch.compile/torch.export replace it) but still ships in 2.14; its warnings are silenced here.
    """
    import torch

    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module.eval(), example)  # type: ignore[no-untyped-call]
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced))


def _torch_runner(case: Case, x_np: np.ndarray) -> Callable[[], object]:
    import torch

    from squeezenext.deploy.fold import fold_batchnorm

    torch.set_num_threads(case.threads)
    x = torch.from_numpy(x_np)
    if case.backend == "eager":
        module = build_module(case.model)

        def run() -> object:
            with torch.inference_mode():
                return module(x)

        return run
    if case.backend in EXECUTORCH_BACKENDS:
        from squeezenext.deploy.executorch_runtime import load_method

        method = load_method(case.program_path)
        return lambda: method(x)
    if case.backend == "torchscript":
        scripted = torchscript_for_inference(build_module(case.model), x)

        def run_scripted() -> object:
            with torch.no_grad():
                return scripted(x)

        return run_scripted
    folded = fold_batchnorm(build_module(case.model)).to(memory_format=torch.channels_last)
    if case.backend == "compile":
        import torch._inductor.config as inductor_config

        inductor_config.freezing = True  # weights as constants: folded, prepacked for the CPU kernels
    target = torch.compile(folded) if case.backend == "compile" else folded
    x_cl = x.contiguous(memory_format=torch.channels_last)

    def run_channels_last() -> object:
        with torch.inference_mode():
            return target(x_cl)

    return run_channels_last


def measure(case: Case) -> dict[str, Any]:
    """Time one case in this process (the worker side of :func:`run_case`)."""
    x = np.random.default_rng(INPUT_SEED).standard_normal(case.input_shape)
    x = x.astype(np.float32)
    run: Callable[[], object]
    if case.backend in ONNX_FILE_OF:
        session = file_runner(case)

        def run() -> object:
            return session(x)

    elif case.backend in (*PYTORCH_BACKENDS, *EXECUTORCH_BACKENDS):
        run = _torch_runner(case, x)
    else:
        raise SqueezeNextError(f"unknown backend {case.backend!r}")
    return {"times": _timed(run, case), "peak_rss_kib": peak_rss_kib()}


def peak_rss_kib() -> int:
    """This process's own peak resident memory: ``VmHWM`` of ``/proc/self/status``.

    ``getrusage(RUSAGE_SELF).ru_maxrss`` is no use here: Linux carries it across ``execve``, so a worker
    started from a large parent reports the parent's peak. ``VmHWM`` belongs to the new address space.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_case(case: Case) -> dict[str, Any]:
    """Measure ``case`` in a fresh subprocess (its peak resident memory is that process's own)."""
    env = {**os.environ, **ALLOCATOR_ENV, "OMP_NUM_THREADS": str(case.threads)}
    payload = json.dumps(case.__dict__)
    process = subprocess.run(
        [sys.executable, "-m", "squeezenext.deploy.timing", payload], env=env, capture_output=True, text=True
    )
    if process.returncode != 0:
        return {"error": process.stderr.strip().splitlines()[-1] if process.stderr.strip() else "failed"}
    result: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    times = sorted(result.pop("times"))
    result.update(
        median_ms=1e3 * statistics.median(times),
        p90_ms=1e3 * times[min(len(times) - 1, int(0.9 * len(times)))],
        iterations=len(times),
        images_per_s=case.batch / statistics.median(times),
        peak_rss_mib=result.pop("peak_rss_kib") / 1024,
    )
    return result


def main() -> None:
    """Worker entry: ``python -m squeezenext.deploy.timing '<case json>'`` prints the timings as JSON."""
    case = Case(**json.loads(sys.argv[1]))
    print(json.dumps(measure(case)))


if __name__ == "__main__":
    main()
