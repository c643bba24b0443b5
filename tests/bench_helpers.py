"""Synthetic ``squeezenext bench`` results for the tests of its tables and of the docs' targets."""

ENVIRONMENT = {
    "processor": "AMD EPYC", "cpu_extensions": ["AVX2", "FMA"], "threads": 2, "torch": "2.14.1",
    "onnxruntime": "1.32.0", "openvino": "2026.4.1",
}  # fmt: skip


def bench_entry(model: str, backend: str, batch: int, ms: float) -> dict[str, object]:
    """One measured case, as a bench run's JSON holds it."""
    return {
        "model": model, "backend": backend, "batch": batch, "median_ms": ms, "fraction_of_matmul": 0.8,
        "peak_rss_mib": 100.0 + batch + ms,
    }  # fmt: skip
