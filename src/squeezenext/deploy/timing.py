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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from squeezenext.deploy.backends import (
    EXECUTORCH_BACKENDS,
    ONNX_FILE_OF,
    OPENVINO_BACKENDS,
    OPENVINO_PRECISION,
    PYTORCH_BACKENDS,
)
from squeezenext.errors import SqueezeNextError

if TYPE_CHECKING:
    import torch
    from torch import nn

ALLOCATOR_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}
"""glibc settings that keep large activation buffers (docs/environment.md: 1.5-3x faster batch-32 torch runs)."""
WARMUP_RUNS = 3
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


def onnxruntime_options(threads: int) -> Any:
    """The session options every onnxruntime measurement uses: ``threads`` intra-op threads, one inter-op
    thread, every graph optimization (NCHWc layouts and conv+activation fusion on x86)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def _onnxruntime_runner(case: Case) -> Callable[[np.ndarray], object]:
    import onnxruntime as ort

    options = onnxruntime_options(case.threads)
    session = ort.InferenceSession(case.program_path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})


def _file_runner(case: Case) -> Callable[[np.ndarray], object]:
    if case.backend in OPENVINO_BACKENDS:
        from squeezenext.deploy.openvino_runtime import cpu_runner

        precision = OPENVINO_PRECISION[case.backend]
        return cpu_runner(case.program_path, case.batch, case.input_size, case.threads, precision)
    return _onnxruntime_runner(case)


def build_module(name: str) -> nn.Module:
    """A network by name (:func:`squeezenext.networks.build_module`), in eval mode."""
    from squeezenext import networks

    return networks.build_module(name).eval()


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
    x = np.random.default_rng(INPUT_SEED).standard_normal((case.batch, 3, case.input_size, case.input_size))
    x = x.astype(np.float32)
    run: Callable[[], object]
    if case.backend in ONNX_FILE_OF:
        session = _file_runner(case)

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
