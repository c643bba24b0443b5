"""The inference benchmark: one real (tiny) run, and the target arithmetic on known numbers."""

from pathlib import Path

import pytest

from squeezenext.deploy.bench import run_benchmark
from squeezenext.deploy.report import check_targets, plot_latency, results_table, targets_table


def test_a_tiny_benchmark_run(tmp_path: Path) -> None:
    payload = run_benchmark(
        ["sqnxt23v5_w1"], ["eager", "onnxruntime"], [1], input_size=32, threads=1, min_seconds=0.05,
        progress=lambda _: None,
    )  # fmt: skip
    assert payload["matmul_gmacs_per_s"] > 0
    assert payload["environment"]["threads"] == 1
    entries = payload["results"]
    assert [(e["backend"], e["batch"]) for e in entries] == [("eager", 1), ("onnxruntime", 1)]
    for entry in entries:
        assert entry["median_ms"] <= entry["p90_ms"]
        assert entry["iterations"] >= 10
        assert entry["peak_rss_mib"] > 50
        assert entry["gmacs_per_s"] == pytest.approx(entry["macs_per_image"] / entry["median_ms"] / 1e6)
    assert "sqnxt23v5_w1" in results_table(payload)
    plot_latency(payload, tmp_path / "latency.png")
    assert (tmp_path / "latency.png").read_bytes()[:4] == b"\x89PNG"


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        run_benchmark(["sqnxt23_w1"], ["tensorrt"], [1], 32, 1, 0.01, progress=lambda _: None)


def _entry(model: str, backend: str, batch: int, ms: float) -> dict[str, object]:
    return {"model": model, "backend": backend, "batch": batch, "median_ms": ms, "fraction_of_matmul": 0.8}


def test_targets_are_ratios_of_this_run() -> None:
    results = [
        _entry("sqnxt23v5_w1", "onnxruntime", 1, 2.0),
        _entry("torchvision:squeezenet1_0", "onnxruntime", 1, 6.0),
        _entry("torchvision:squeezenet1_1", "onnxruntime", 1, 1.0),
        _entry("sqnxt23_w1", "onnxruntime", 1, 4.0),
        _entry("sqnxt23_w1", "onnxruntime-int8", 1, 2.0),
        _entry("pytorchcv:sqnxt23_w1", "onnxruntime", 1, 5.0),
    ]
    checks = {c["target"]: c for c in check_targets({"results": results})}
    assert checks["v5 vs SqueezeNet 1.0, onnxruntime, batch 1"]["ratio"] == pytest.approx(3.0)
    assert checks["v5 vs SqueezeNet 1.0, onnxruntime, batch 1"]["met"] is True
    assert checks["v5 vs squeezenet1_1, onnxruntime, batch 1"]["met"] is False
    assert checks["sqnxt23_w1 int8 vs fp32 onnxruntime, batch 1"]["ratio"] == pytest.approx(2.0)
    assert checks["sqnxt23_w1 vs pytorchcv, onnxruntime, batch 1"]["ratio"] == pytest.approx(1.25)
    assert checks["v5 vs mobilenet_v2, onnxruntime, batch 1"]["ratio"] is None
    table = targets_table(list(checks.values()))
    assert "MISSED by 50%" in table and "not measured" in table
