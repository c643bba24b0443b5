"""Measured CPU latency as a search objective: onnxruntime fp32 at batch 1, timed like ``squeezenext bench``.

Each design is exported to ONNX (BatchNorm folded, verified against PyTorch) and timed in a fresh process with
the bench's allocator settings and thread count, median of at least ``LATENCY_MIN_SECONDS`` of runs. It costs
a few seconds per design, so it is for the Optuna samplers, not the exhaustive path; timings are this machine's
(the CPU model and extensions are recorded in front.json).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from squeezenext.search.space import SearchError
from squeezenext.specfile import network_argument
from squeezenext.specs import SqueezeNextSpec

LATENCY_MIN_SECONDS = 1.0
LATENCY_MIN_ITERATIONS = 20
LATENCY_BACKEND = "onnxruntime"


def onnx_latency_ms(network: str | SqueezeNextSpec, input_size: int, threads: int | None = None) -> float:
    """Median latency (ms) of one image through onnxruntime fp32 for a network argument or a spec."""
    from squeezenext.deploy.bench import export_for_bench
    from squeezenext.deploy.timing import Case, run_case

    threads = threads or os.cpu_count() or 1
    with network_argument(network) as argument, tempfile.TemporaryDirectory(prefix="squeezenext-latency-") as work:
        onnx_path = export_for_bench(argument, input_size, Path(work))[LATENCY_BACKEND]
        case = Case(argument, LATENCY_BACKEND, 1, input_size, threads, LATENCY_MIN_SECONDS, LATENCY_MIN_ITERATIONS,
                    onnx_path)  # fmt: skip
        result = run_case(case)
    if "error" in result:
        raise SearchError(f"timing {argument} in onnxruntime failed: {result['error']}")
    return float(result["median_ms"])
