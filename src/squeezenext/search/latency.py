"""Measured CPU latency as a search objective: batch 1 in one runtime, timed like ``squeezenext bench``.

Each design is exported to ONNX (BatchNorm folded, verified against PyTorch) and timed in a fresh process with
the bench's allocator settings and thread count, median of at least ``LATENCY_MIN_SECONDS`` of runs, in the
bench backend the search names (``--latency-backend``: onnxruntime fp32 by default; int8, the exact rewrites,
OpenVINO, and OpenVINO bf16 where the CPU computes bf16 natively, on its AMX or AVX-512 BF16 units). It costs
a few seconds per design, so it is for the Optuna samplers, not the exhaustive path; timings are this machine's
(the CPU model and extensions are recorded in front.json).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from squeezenext.deploy.backends import ONNX_FILE_OF, check_backend
from squeezenext.errors import SqueezeNextError
from squeezenext.machine import default_threads
from squeezenext.search.space import SearchError
from squeezenext.sources import MODULE_KINDS, NetworkSource, parse_network
from squeezenext.specs import SqueezeNextSpec

LATENCY_MIN_SECONDS = 1.0
LATENCY_MIN_ITERATIONS = 20
LATENCY_BACKEND = "onnxruntime"
"""The default runtime of the latency objective."""
LATENCY_BACKENDS = tuple(ONNX_FILE_OF)
"""The runtimes the latency objective can time in: the bench backends that run an exported ONNX file."""


def check_latency_backend(backend: str) -> None:
    """Refuse, before any work, a backend that cannot time designs on this machine."""
    try:
        check_backend(backend, LATENCY_BACKENDS)
    except SqueezeNextError as error:
        raise SearchError(f"--latency-backend: {error}") from None


def onnx_latency_ms(
    network: str | SqueezeNextSpec, input_size: int, threads: int | None = None, backend: str = LATENCY_BACKEND
) -> float:
    """Median latency (ms) of one image in ``backend`` (:data:`LATENCY_BACKENDS`) for a network argument or a
    spec."""
    check_latency_backend(backend)
    source = parse_network(network, MODULE_KINDS, purpose="the latency objective")
    with tempfile.TemporaryDirectory(prefix="squeezenext-latency-") as work:
        onnx_path = export_for_latency(source, input_size, Path(work), backend)
        return timed_ms(source.argument, onnx_path, input_size, threads or default_threads(), backend)


def export_for_latency(source: NetworkSource, input_size: int, work: Path, backend: str) -> str:
    """The ONNX file ``backend`` runs for a network, written under ``work``."""
    from squeezenext.deploy.bench import export_for_bench

    return export_for_bench(source, input_size, work, (ONNX_FILE_OF[backend],))[backend]


def timed_ms(label: str, onnx_path: str, input_size: int, threads: int, backend: str) -> float:
    """Median latency (ms) of one image of an exported file in ``backend``, timed in a fresh process."""
    from squeezenext.deploy.timing import Case, run_case

    case = Case(label, backend, 1, input_size, threads, LATENCY_MIN_SECONDS, LATENCY_MIN_ITERATIONS, onnx_path)
    result = run_case(case)
    if "error" in result:
        raise SearchError(f"timing {label} in {backend} failed: {result['error']}")
    return float(result["median_ms"])
