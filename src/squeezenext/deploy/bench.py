"""Inference speed of SqueezeNext and its peers, every backend, in one run (``squeezenext bench``).

Each (model, backend, batch) is timed in its own subprocess (:mod:`squeezenext.deploy.timing`), with the
thread count and glibc allocator settings of docs/environment.md, so that peak memory and allocator state
belong to that measurement alone. The machine's own fp32 matrix-multiply rate is measured in the same
run and every result is also given as a fraction of it. Speed targets are compared as ratios between
models measured in this run, never as absolute times.
"""

from __future__ import annotations

import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from squeezenext.deploy.backends import (
    EXECUTORCH_BACKENDS,
    FROM_ONNX_BACKENDS,
    INT8_BACKENDS,
    ONNX_FILE_OF,
    check_backend,
    default_backends,
    installed,
)
from squeezenext.deploy.report import OWN_PEAK_MEMORY
from squeezenext.deploy.timing import ALLOCATOR_ENV, Case, input_shape, run_case
from squeezenext.errors import SqueezeNextError
from squeezenext.machine import machine_summary
from squeezenext.peers import PEERS
from squeezenext.sources import BENCH_KINDS, PYTORCHCV_PREFIX, NetworkSource, SourceKind, parse_network

OURS = ("sqnxt23_w1", "sqnxt23v5_w1")
TORCHVISION_PEERS = tuple(PEERS[label] for label in ("SqueezeNet 1.0", "SqueezeNet 1.1", "AlexNet", "MobileNetV2"))
"""The peers timed beside ours (VGG-19 left out: seconds per image on two cores)."""
PYTORCHCV_BUILDS = tuple(f"{PYTORCHCV_PREFIX}{name}" for name in OURS)
"""pytorchcv's builds of ours, timed where pytorchcv is installed."""
BENCH_CALIBRATION_IMAGES = 64
"""Random images the bench's int8 files are calibrated on: they time speed, not accuracy."""


def pytorchcv_available() -> bool:
    """Whether the pytorchcv package is importable (its models are peers when it is)."""
    try:
        import pytorchcv  # noqa: F401
    except ImportError:
        return False
    return True


def default_models() -> list[str]:
    """Ours and the peers, pytorchcv's only when installed."""
    return [*OURS, *TORCHVISION_PEERS, *(PYTORCHCV_BUILDS if pytorchcv_available() else ())]


def matmul_gmacs(
    threads: int, size: int = 2048, repeats: int = 5, *, precision: Literal["fp32", "bf16", "int8"] = "fp32"
) -> float:
    """This machine's matrix-multiply rate (GMAC/s) in fp32, bf16 or int8 (``torch._int_mm``, int32 sums): the
    practical ceiling for convolutions in that precision."""
    torch.set_num_threads(threads)
    if precision == "int8":
        a, b = (torch.randint(-128, 128, (size, size), dtype=torch.int8) for _ in range(2))
        multiply = torch._int_mm
    else:
        dtype = torch.bfloat16 if precision == "bf16" else torch.float32
        a, b = torch.randn(size, size, dtype=dtype), torch.randn(size, size, dtype=dtype)
        multiply = torch.mm
    multiply(a, b)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        multiply(a, b)
        times.append(time.perf_counter() - start)
    return size**3 / statistics.median(times) / 1e9


def export_for_bench(
    network: str | NetworkSource, input_size: int, work: Path, kinds: Collection[str] = ("fp32",), channels: int = 3
) -> dict[str, str]:
    """The ONNX files of a network (dynamic batch) of the given kinds (``ONNX_FILE_OF``'s values), made once
    per run in the parent process: backend -> file, for every backend whose kind was made. An ONNX file is its
    own fp32 file (and is quantized for int8)."""
    from squeezenext.deploy.export import export_onnx, int8_path
    from squeezenext.deploy.quantize import quantize_int8

    source = parse_network(network, BENCH_KINDS, purpose="bench")
    fp32 = source.path if source.kind is SourceKind.ONNX else work / f"{source.file_stem}.onnx"
    files: dict[str, str] = {}
    loaded = source.loaded(input_size) if source.kind is not SourceKind.ONNX else None
    if {"fp32", "int8"} & set(kinds):
        if loaded is not None:
            export_onnx(loaded, fp32, batch=None)
        files["fp32"] = str(fp32)
    if "int8" in kinds:
        quantized = int8_path(work / fp32.name)
        quantize_int8(fp32, quantized, _random_images(BENCH_CALIBRATION_IMAGES, channels, input_size))
        files["int8"] = str(quantized)
    if "rewritten" in kinds:
        if loaded is None:
            raise source.refuse("the exact graph rewrites")
        rewritten = work / f"{source.file_stem}.rewritten.onnx"
        export_onnx(loaded, rewritten, batch=None, rewrite=True)
        files["rewritten"] = str(rewritten)
    return {backend: files[kind] for backend, kind in ONNX_FILE_OF.items() if kind in files}


def executorch_for_bench(
    source: NetworkSource, batch: int, input_size: int, work: Path, *, int8: bool = False, channels: int = 3
) -> str:
    """The XNNPACK ``.pte`` program of a network for one batch size (fixed shapes), made in the parent process;
    int8 calibrated on random images (speed only, like the int8 ONNX files)."""
    from squeezenext.deploy.executorch_runtime import lower_to_xnnpack

    kind = "int8-" if int8 else ""
    path = work / f"{source.file_stem}-{kind}batch{batch}.pte"
    calibration = _random_images(max(batch, BENCH_CALIBRATION_IMAGES), channels, input_size) if int8 else None
    example = torch.from_numpy(_random_images(batch, channels, input_size))
    path.write_bytes(lower_to_xnnpack(source.module().eval(), example, calibration))
    return str(path)


def _random_images(count: int, channels: int, input_size: int) -> np.ndarray:
    shape = (count, channels, input_size, input_size)
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def backends_for(source: NetworkSource, backends: Sequence[str] | None) -> list[str]:
    """The backends a network is timed in: those given (each must apply to it), or the default list's that
    apply (an ONNX file runs only in its ONNX backends)."""
    applies = FROM_ONNX_BACKENDS if source.kind is SourceKind.ONNX else None
    if backends is None:
        return [b for b in default_backends() if applies is None or b in applies]
    for backend in backends:
        check_backend(backend)
        if applies is not None and backend not in applies:
            raise SqueezeNextError(
                f"backend {backend} needs a PyTorch module; {source.argument} is an ONNX file, which runs in "
                f"{', '.join(applies)}"
            )
    return list(backends)


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


def model_macs(source: NetworkSource, input_size: int) -> int:
    """MACs of one image (conv + FC); an input too small for the network is a clear error."""
    from squeezenext.workload import total_macs

    return total_macs(source.workload(input_size).layers)


def run_benchmark(
    models: Sequence[str | NetworkSource],
    backends: Sequence[str] | None,
    batches: Sequence[int],
    input_size: int,
    threads: int,
    min_seconds: float,
    rounds: int = 1,
    progress: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Every (model, backend, batch) with MACs, GMAC/s and the fraction of the matmul rate in its precision
    (int8 backends: the int8 rate; the others, fp32's, which bf16 also is measured against). ``backends`` None:
    the default list's that apply to each model (:func:`backends_for`).

    With ``rounds`` > 1 the whole list of cases is timed that many times, interleaved, and each case keeps
    its best round (:func:`best_round`), so a burst of load on a shared machine does not land on one model.
    """
    if rounds < 1 or not batches or min(batches) < 1:
        raise SqueezeNextError(f"rounds and batch sizes must be at least 1, got {rounds} and {list(batches)}")
    sources = [parse_network(model, BENCH_KINDS, purpose="bench") for model in models]
    plans = []  # everything is checked here, before any work
    for source in sources:
        channels, size = input_shape(source, input_size, batches)
        plans.append((source, backends_for(source, backends), channels, size, model_macs(source, size)))
    peak = matmul_gmacs(threads)
    peak_int8 = matmul_gmacs(threads, precision="int8")
    progress(f"matrix multiply (2048^3, {threads} threads): fp32 {peak:.1f} GMAC/s, int8 {peak_int8:.1f} GMAC/s")
    cases: list[tuple[Case, int]] = []
    measured: list[list[dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="squeezenext-bench-") as work:
        for source, model_backends, channels, size, macs in plans:
            progress(f"preparing {source.argument}: the files its backends run")
            kinds = {ONNX_FILE_OF[b] for b in model_backends if b in ONNX_FILE_OF}
            onnx_files = export_for_bench(source, size, Path(work), kinds, channels) if kinds else {}
            for backend in model_backends:
                for batch in batches:
                    program = onnx_files.get(backend, "")
                    if backend in EXECUTORCH_BACKENDS:
                        int8 = backend in INT8_BACKENDS
                        program = executorch_for_bench(source, batch, size, Path(work), int8=int8, channels=channels)
                    iterations = 10 if batch == 1 else 3
                    case = Case(
                        source.argument, backend, batch, size, threads, min_seconds, iterations, program, channels
                    )
                    cases.append((case, macs))
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
            rate = peak_int8 if case.backend in INT8_BACKENDS else peak
            entry.update(gmacs_per_s=gmacs, fraction_of_matmul=gmacs / rate)
        results.append(entry)
    return {
        "environment": environment(threads),
        "input_size": input_size,
        "rounds": rounds,
        "matmul_gmacs_per_s": peak,
        "int8_matmul_gmacs_per_s": peak_int8,
        "memory": OWN_PEAK_MEMORY,
        "results": results,
    }
