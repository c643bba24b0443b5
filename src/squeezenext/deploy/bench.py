"""Inference speed of SqueezeNext and its peers, every backend, in one run (``squeezenext bench``).

Each (model, backend, batch) is timed in its own subprocess, with the thread count and glibc allocator
settings of docs/environment.md, so that peak memory (the child's maximum resident set) and allocator state
belong to that measurement alone. The machine's own fp32 matrix-multiply rate is measured in the same
run and every result is also given as a fraction of it. Speed targets are compared as ratios between
models measured in this run, never as absolute times.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from squeezenext import networks
from squeezenext.deploy.backends import (
    BACKENDS,
    ONNX_FILE_OF,
    OPENVINO_BACKENDS,
    installed,
    missing_runtime,
)
from squeezenext.deploy.report import OWN_PEAK_MEMORY
from squeezenext.errors import SqueezeNextError
from squeezenext.machine import machine_summary
from squeezenext.networks import PYTORCHCV_PREFIX
from squeezenext.peers import PEERS

OURS = ("sqnxt23_w1", "sqnxt23v5_w1")
BENCH_PEERS = (
    *(PEERS[label] for label in ("SqueezeNet 1.0", "SqueezeNet 1.1", "AlexNet", "MobileNetV2")),
    *(f"{PYTORCHCV_PREFIX}{name}" for name in OURS),
)
"""The peers timed beside ours (VGG-19 left out: seconds per image on two cores), pytorchcv's builds of ours."""
ALLOCATOR_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000"}
"""glibc settings that keep large activation buffers (docs/environment.md: 1.5-3x faster batch-32 torch runs)."""


def pytorchcv_available() -> bool:
    """Whether the pytorchcv package is importable (its models are peers when it is)."""
    try:
        import pytorchcv  # noqa: F401
    except ImportError:
        return False
    return True


def default_models() -> list[str]:
    """Ours and the peers, pytorchcv's only when installed."""
    return [*OURS, *(m for m in BENCH_PEERS if not m.startswith(PYTORCHCV_PREFIX) or pytorchcv_available())]


def build_module(name: str) -> nn.Module:
    """A network by name (:func:`squeezenext.networks.build_module`), in eval mode."""
    return networks.build_module(name).eval()


def matmul_gmacs(threads: int, size: int = 2048, repeats: int = 5) -> float:
    """This machine's fp32 matrix-multiply rate (GMAC/s): the practical ceiling for convolutions."""
    torch.set_num_threads(threads)
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return size**3 / statistics.median(times) / 1e9


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
    onnx_path: str = ""
    """The file the backend runs: an ONNX export, or an ExecuTorch ``.pte`` program."""


def _timed(run: Callable[[], object], case: Case) -> list[float]:
    for _ in range(3):
        run()
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < case.min_iterations or time.perf_counter() - started < case.min_seconds:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def export_for_bench(model: str, input_size: int, work: Path, *, int8: bool = True) -> dict[str, str]:
    """fp32 (and, with ``int8``, int8) ONNX files of ``model`` (dynamic batch), made once per run in the parent
    process."""
    from squeezenext.deploy.export import LoadedModel, export_onnx, int8_path
    from squeezenext.deploy.quantize import quantize_int8
    from squeezenext.pretrained import IMAGENET_MEAN, IMAGENET_STD
    from squeezenext.train.data import Preprocessing

    preprocessing = Preprocessing("imagenet", input_size, 3, IMAGENET_MEAN, IMAGENET_STD, True)
    loaded = LoadedModel(model, build_module(model), [str(i) for i in range(1000)], preprocessing, None)
    fp32 = work / (Path(model.replace(":", "_")).name + ".onnx")
    export_onnx(loaded, fp32, batch=None)
    files = {"fp32": str(fp32)}
    if int8:
        quantized = int8_path(fp32)
        calibration = np.random.default_rng(0).standard_normal((64, 3, input_size, input_size)).astype(np.float32)
        quantize_int8(fp32, quantized, calibration)
        files["int8"] = str(quantized)
    return {backend: files[kind] for backend, kind in ONNX_FILE_OF.items() if kind in files}


def executorch_for_bench(model: str, batch: int, input_size: int, work: Path) -> str:
    """The XNNPACK ``.pte`` program of ``model`` for one batch size (fixed shapes), made in the parent process."""
    from squeezenext.deploy.executorch_runtime import lower_to_xnnpack

    path = work / f"{Path(model.replace(':', '_')).name}-batch{batch}.pte"
    path.write_bytes(lower_to_xnnpack(build_module(model), torch.randn(batch, 3, input_size, input_size)))
    return str(path)


def _onnx_runner(case: Case) -> Callable[[np.ndarray], object]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = case.threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(case.onnx_path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})


def torchscript_for_inference(module: nn.Module, example: torch.Tensor) -> torch.jit.ScriptModule:
    """Traced, frozen and ``torch.jit.optimize_for_inference``-d (BatchNorm folded, conv weights prepacked for
    oneDNN, conv+ReLU fused): the fastest PyTorch CPU path that needs no compiler. TorchScript is deprecated
    by PyTorch (torch.compile/torch.export replace it) but still ships in 2.14; its warnings are silenced here.
    """
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module.eval(), example)  # type: ignore[no-untyped-call]
        return torch.jit.optimize_for_inference(torch.jit.freeze(traced))


def measure(case: Case) -> dict[str, Any]:
    """Time one case in this process (the worker side of :func:`run_case`)."""
    from squeezenext.deploy.fold import fold_batchnorm

    torch.set_num_threads(case.threads)
    x = torch.randn(case.batch, 3, case.input_size, case.input_size)
    run: Callable[[], object]
    if case.backend in ONNX_FILE_OF:
        if case.backend in OPENVINO_BACKENDS:
            from squeezenext.deploy.openvino_runtime import cpu_runner

            session = cpu_runner(case.onnx_path, case.batch, case.input_size, case.threads)
        else:
            session = _onnx_runner(case)
        x_np = x.numpy()

        def run() -> object:
            return session(x_np)

    elif case.backend == "eager":
        module = build_module(case.model)

        def run() -> object:
            with torch.inference_mode():
                return module(x)

    elif case.backend == "executorch":
        from squeezenext.deploy.executorch_runtime import load_method

        method = load_method(case.onnx_path)

        def run() -> object:
            return method(x)

    elif case.backend == "torchscript":
        scripted = torchscript_for_inference(build_module(case.model), x)

        def run() -> object:
            with torch.no_grad():
                return scripted(x)

    elif case.backend in ("eager-opt", "compile"):
        folded = fold_batchnorm(build_module(case.model)).to(memory_format=torch.channels_last)
        if case.backend == "compile":
            import torch._inductor.config as inductor_config

            inductor_config.freezing = True  # weights as constants: folded, prepacked for the CPU kernels
        target = torch.compile(folded) if case.backend == "compile" else folded
        x_cl = x.contiguous(memory_format=torch.channels_last)

        def run() -> object:
            with torch.inference_mode():
                return target(x_cl)

    else:
        raise SqueezeNextError(f"unknown backend {case.backend!r}; valid: {', '.join(BACKENDS)}")
    times = _timed(run, case)
    return {"times": times, "peak_rss_kib": peak_rss_kib()}


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
        [sys.executable, "-m", "squeezenext.deploy.bench", payload], env=env, capture_output=True, text=True
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


def best_round(rounds: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The round with the lowest median (noise from other work only ever adds time), with every round's
    median and the largest peak memory kept beside it; an error in any round is the result."""
    failed = [r for r in rounds if "error" in r]
    if failed:
        return failed[0]
    best = dict(min(rounds, key=lambda r: r["median_ms"]))
    best.update(round_medians_ms=[r["median_ms"] for r in rounds], peak_rss_mib=max(r["peak_rss_mib"] for r in rounds))
    return best


def _openvino_version() -> str | None:
    if not installed("openvino"):
        return None
    import openvino

    return str(openvino.__version__)


def environment(threads: int) -> dict[str, Any]:
    """Machine, versions and threads, recorded with the results."""
    import onnxruntime
    import torchvision

    machine = machine_summary()
    return {
        "machine": machine["platform"],
        "processor": machine["cpu"],
        "cpu_extensions": machine["cpu_extensions"],
        "cpus": machine["cpus"],
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "onnxruntime": onnxruntime.__version__,
        "openvino": _openvino_version(),
        "threads": threads,
        "allocator_env": ALLOCATOR_ENV,
    }


def model_macs(name: str, input_size: int) -> int:
    """MACs of one image (conv + FC), traced; an input too small for the network is a clear error."""
    from squeezenext.workload import total_macs, trace_checked

    return total_macs(trace_checked(build_module(name), name, input_size))


def run_benchmark(
    models: Sequence[str],
    backends: Sequence[str],
    batches: Sequence[int],
    input_size: int,
    threads: int,
    min_seconds: float,
    rounds: int = 1,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every (model, backend, batch) with MACs, GMAC/s and the fraction of the matmul rate.

    With ``rounds`` > 1 the whole list of cases is timed that many times, interleaved, and each case keeps
    its best round (:func:`best_round`), so a burst of load on a shared machine does not land on one model.
    """
    for backend in backends:
        if backend not in BACKENDS:
            raise SqueezeNextError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
        hint = missing_runtime(backend)
        if hint is not None:
            raise SqueezeNextError(f"backend {backend} needs a runtime that is not installed: {hint}")
    if rounds < 1 or not batches or min(batches) < 1:
        raise SqueezeNextError(f"rounds and batch sizes must be at least 1, got {rounds} and {list(batches)}")
    macs_of = {model: model_macs(model, input_size) for model in models}  # unknown names fail here, first
    peak = matmul_gmacs(threads)
    progress(f"fp32 matrix multiply (2048^3, {threads} threads): {peak:.1f} GMAC/s")
    cases: list[tuple[Case, int]] = []
    measured: list[list[dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="squeezenext-bench-") as work:
        for model in models:
            exported = any(b in ONNX_FILE_OF for b in backends)
            onnx_files = export_for_bench(model, input_size, Path(work)) if exported else {}
            for backend in backends:
                for batch in batches:
                    program = onnx_files.get(backend, "")
                    if backend == "executorch":
                        program = executorch_for_bench(model, batch, input_size, Path(work))
                    case = Case(
                        model, backend, batch, input_size, threads, min_seconds, 10 if batch == 1 else 3, program
                    )
                    cases.append((case, macs_of[model]))
        measured = [[] for _ in cases]
        for round_index in range(rounds):
            for (case, _), timings in zip(cases, measured, strict=True):
                timings.append(run_case(case))
                last = timings[-1]
                outcome = f"{last['median_ms']:8.2f} ms" if "median_ms" in last else f"FAILED {last['error']}"
                label = f"round {round_index + 1}/{rounds} " if rounds > 1 else ""
                progress(f"{label}{case.model:28s} {case.backend:17s} batch {case.batch:3d}: {outcome}")
    results = []
    for (case, macs), timings in zip(cases, measured, strict=True):
        result = best_round(timings)
        entry = {"model": case.model, "backend": case.backend, "batch": case.batch, "macs_per_image": macs, **result}
        if "median_ms" in result:
            gmacs = macs * case.batch / (result["median_ms"] / 1e3) / 1e9
            entry.update(gmacs_per_s=gmacs, fraction_of_matmul=gmacs / peak)
        results.append(entry)
    return {
        "environment": environment(threads),
        "input_size": input_size,
        "rounds": rounds,
        "matmul_gmacs_per_s": peak,
        "memory": OWN_PEAK_MEMORY,
        "results": results,
    }


def main() -> None:
    """Worker entry: ``python -m squeezenext.deploy.bench '<case json>'`` prints the timings as JSON."""
    case = Case(**json.loads(sys.argv[1]))
    print(json.dumps(measure(case)))


if __name__ == "__main__":
    main()
