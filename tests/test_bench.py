"""The inference benchmark: one real (tiny) run, and the target arithmetic on known numbers."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from bench_helpers import ENVIRONMENT, bench_entry
from model_helpers import randomize_batchnorm
from squeezenext.deploy import backends as backends_module
from squeezenext.deploy.bench import best_round, run_benchmark
from squeezenext.deploy.report import OWN_PEAK_MEMORY, fastest_backends, latency_markdown, plot_latency, results_table
from squeezenext.deploy.timing import Case, peak_rss_kib, run_case, torchscript_for_inference
from squeezenext.registry import create_model

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.extended
def test_a_tiny_benchmark_run(tmp_path: Path) -> None:
    lines: list[str] = []
    payload = run_benchmark(
        ["sqnxt23v5_w1"], ["eager", "torchscript", "onnxruntime", "onnxruntime-rewritten"], [1], input_size=32,
        threads=1, min_seconds=0.05, rounds=2, progress=lines.append,
    )  # fmt: skip
    assert sum("round 2/2" in line for line in lines) == 4
    assert payload["matmul_gmacs_per_s"] > 0 and payload["int8_matmul_gmacs_per_s"] > 0
    assert payload["environment"]["threads"] == 1
    entries = payload["results"]
    assert [(e["backend"], e["batch"]) for e in entries] == [
        ("eager", 1), ("torchscript", 1), ("onnxruntime", 1), ("onnxruntime-rewritten", 1)
    ]  # fmt: skip
    for entry in entries:
        assert entry["median_ms"] <= entry["p90_ms"]
        assert entry["iterations"] >= 10
        assert entry["median_ms"] == min(entry["round_medians_ms"]) and len(entry["round_medians_ms"]) == 2
        assert entry["peak_rss_mib"] > 50
        assert entry["gmacs_per_s"] == pytest.approx(entry["macs_per_image"] / entry["median_ms"] / 1e6)
    assert "sqnxt23v5_w1" in results_table(payload)
    plot_latency(payload, tmp_path / "latency.png")
    assert (tmp_path / "latency.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.extended
def test_each_case_measures_its_own_peak_memory() -> None:
    """A worker's peak is its own, not its parent's (getrusage's ru_maxrss survives exec; VmHWM does not)."""
    ballast = torch.ones(384 * 2**20)  # 1.5 GiB touched here, so this process's peak is above any worker's
    small = run_case(Case("sqnxt23_w1", "eager", 1, 32, 1, 0.01, 3))
    large = run_case(Case("sqnxt23_w1", "eager", 32, 224, 1, 0.01, 3))
    assert large["peak_rss_mib"] > small["peak_rss_mib"] + 100
    assert small["peak_rss_mib"] < peak_rss_kib() / 1024, "the small worker must not report this process's peak"
    del ballast


def test_onnx_workers_run_without_pytorch(tmp_path: Path) -> None:
    """An onnxruntime case's process holds only the runtime: its peak memory is a deployed process's."""
    from squeezenext.deploy.bench import export_for_bench

    program = export_for_bench("sqnxt23v5_w1", 32, tmp_path)["onnxruntime"]
    case = Case("sqnxt23v5_w1", "onnxruntime", 1, 32, 1, 0.01, 3, program)
    script = (
        "import json, sys; from squeezenext.deploy.timing import Case, measure; "
        "measure(Case(**json.loads(sys.argv[1]))); assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", script, json.dumps(case.__dict__)], check=True)
    onnx_peak = run_case(case)["peak_rss_mib"]
    torch_peak = run_case(Case("sqnxt23v5_w1", "eager", 1, 32, 1, 0.01, 3))["peak_rss_mib"]
    assert onnx_peak < torch_peak - 100


def test_torchscript_path_computes_what_the_module_computes() -> None:
    module = create_model("sqnxt23_w1", num_classes=10).eval()
    randomize_batchnorm(module)
    with torch.no_grad():
        x = torch.randn(2, 3, 64, 64)
        expected = module(x)
        scripted = torchscript_for_inference(module, x)
        actual = scripted(x)
    assert torch.allclose(actual, expected, rtol=1e-4, atol=1e-4 * float(expected.abs().max()))


def test_each_case_keeps_its_best_round_and_any_failure() -> None:
    slow = {"median_ms": 9.0, "p90_ms": 12.0, "peak_rss_mib": 300.0}
    fast = {"median_ms": 5.0, "p90_ms": 6.0, "peak_rss_mib": 200.0}
    best = best_round([slow, fast])
    assert (best["median_ms"], best["p90_ms"]) == (5.0, 6.0)
    assert best["round_medians_ms"] == [9.0, 5.0]
    assert best["peak_rss_mib"] == 300.0
    assert best_round([fast, {"error": "boom"}]) == {"error": "boom"}


def test_rounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rounds and batch sizes must be at least 1"):
        run_benchmark(["sqnxt23_w1"], ["eager"], [1], 32, 1, 0.01, rounds=0, progress=lambda _: None)


def test_a_checkpoint_and_an_onnx_file_are_benched(trained: Path, tmp_path: Path) -> None:
    """bench takes what profile takes: a checkpoint (its own channels) and an ONNX file (its ONNX backends)."""
    from squeezenext.cli import main

    onnx = tmp_path / "m.onnx"
    assert main(["export", str(trained), "--out", str(onnx)]) == 0
    results = [
        entry
        for models, backends in (([trained], ["eager", "onnxruntime-rewritten"]), ([onnx], ["onnxruntime-int8"]))
        for entry in run_benchmark(
            [str(m) for m in models], backends, [1], input_size=32, threads=1, min_seconds=0.01, progress=lambda _: None
        )["results"]
    ]
    assert [(e["model"], e["backend"]) for e in results] == [
        (str(trained), "eager"), (str(trained), "onnxruntime-rewritten"), (str(onnx), "onnxruntime-int8")
    ]  # fmt: skip
    assert all("median_ms" in e for e in results), results
    assert results[0]["macs_per_image"] == results[2]["macs_per_image"] > 0


def test_an_onnx_file_gets_the_default_backends_that_run_onnx(tmp_path: Path) -> None:
    from squeezenext.deploy.backends import FROM_ONNX_BACKENDS, default_backends
    from squeezenext.deploy.bench import backends_for
    from squeezenext.sources import NetworkSource, SourceKind

    onnx = NetworkSource(SourceKind.ONNX, "m.onnx", "m.onnx")
    assert backends_for(onnx, None) == [b for b in default_backends() if b in FROM_ONNX_BACKENDS]
    assert "onnxruntime" in backends_for(onnx, None)
    assert backends_for(NetworkSource(SourceKind.NAME, "sqnxt23_w1", "sqnxt23_w1"), None) == list(default_backends())
    with pytest.raises(ValueError, match=r"backend eager needs a PyTorch module; m\.onnx is an ONNX file"):
        backends_for(onnx, ["onnxruntime", "eager"])


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'"):
        run_benchmark(["sqnxt23_w1"], ["tensorrt"], [1], 32, 1, 0.01, progress=lambda _: None)


def test_latency_markdown_has_a_row_per_model_and_a_column_per_backend() -> None:
    payload = {
        "input_size": 224,
        "environment": ENVIRONMENT,
        "memory": OWN_PEAK_MEMORY,
        "results": [
            bench_entry("sqnxt23_w1", "eager", 1, 18.04),
            bench_entry("sqnxt23_w1", "eager", 32, 300.0),
            bench_entry("sqnxt23_w1", "onnxruntime", 1, 3.0),
            {"model": "sqnxt23_w1", "backend": "onnxruntime", "batch": 32, "error": "boom"},
            bench_entry("sqnxt23v5_w1", "onnxruntime", 1, 2.0),
            bench_entry("sqnxt23v5_w1", "eager", 1, 1.5),
        ],
    }
    assert latency_markdown(payload).splitlines() == [
        "| model (224x224) | eager ms (batch 1 / 32) | onnxruntime ms (batch 1 / 32) | "
        "onnxruntime peak MiB (batch 1 / 32) |",
        "|---|---|---|---|",
        "| sqnxt23_w1 | 18.0 / 300.0 | 3.0 / failed | 104 / failed |",
        "| sqnxt23v5_w1 | 1.5 / failed | 2.0 / failed | 103 / failed |",
        "All columns: AMD EPYC (AVX2, FMA), 2 threads, torch 2.14.1, onnxruntime 1.32.0, OpenVINO 2026.4.1.",
    ]
    assert fastest_backends(payload) == {"sqnxt23_w1": "onnxruntime", "sqnxt23v5_w1": "eager"}
    older = {**payload, "memory": None, "environment": {**ENVIRONMENT, "cpu_extensions": None, "openvino": None}}
    assert latency_markdown(older).splitlines()[0].count("peak MiB") == 0  # inherited peaks are not shown
    assert latency_markdown(older).splitlines()[-1].startswith("All columns: AMD EPYC, 2 threads")


def test_bf16_backends_need_a_cpu_with_native_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without AVX-512 BF16 or AMX, OpenVINO would compute in fp32 under a bf16 label: refused before any work."""
    from squeezenext import machine

    monkeypatch.setattr(machine, "native_bf16", lambda: False)
    with pytest.raises(ValueError, match=r"openvino-bf16 needs a CPU that computes bf16 natively"):
        run_benchmark(["sqnxt23_w1"], ["openvino-bf16"], [1], 32, 1, 0.01, progress=lambda _: None)
    for native in (False, True):
        monkeypatch.setattr(machine, "native_bf16", lambda native=native: native)
        assert ("openvino-bf16" in backends_module.default_backends()) == (
            native and backends_module.installed("openvino")
        )


def test_openvino_checks_the_precision_it_computes_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without native bf16 OpenVINO emulates bf16 (AVX-512 without BF16) or silently falls back to f32 (AVX2):
    either way the runner refuses instead of timing it, on every kind of CPU."""
    pytest.importorskip("openvino")
    from squeezenext.deploy import openvino_runtime
    from squeezenext.deploy.bench import export_for_bench
    from squeezenext.machine import native_bf16

    onnx_path = export_for_bench("sqnxt23v5_w1", 64, tmp_path)["openvino"]
    openvino_runtime.compile_for_cpu(onnx_path, (1, 3, 64, 64), 1, "f32")
    if native_bf16():
        openvino_runtime.compile_for_cpu(onnx_path, (1, 3, 64, 64), 1, "bf16")
    monkeypatch.setattr("squeezenext.deploy.openvino_runtime.native_bf16", lambda: False)
    with pytest.raises(ValueError, match=r"this CPU \(.*\) does not compute bf16 natively"):
        openvino_runtime.compile_for_cpu(onnx_path, (1, 3, 64, 64), 1, "bf16")


def test_openvino_backends_run_the_exported_files() -> None:
    pytest.importorskip("openvino")
    payload = run_benchmark(
        ["sqnxt23v5_w1"], ["onnxruntime", "openvino", "openvino-int8"], [1], input_size=64, threads=1,
        min_seconds=0.05, progress=lambda _: None,
    )  # fmt: skip
    assert [e["backend"] for e in payload["results"]] == ["onnxruntime", "openvino", "openvino-int8"]
    assert all(e["median_ms"] > 0 and e["peak_rss_mib"] > 20 for e in payload["results"])
    assert payload["environment"]["openvino"]


def test_a_missing_openvino_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends_module, "installed", lambda package: False)
    with pytest.raises(ValueError, match=r"needs a runtime that is not installed: pip install openvino"):
        run_benchmark(["sqnxt23_w1"], ["openvino"], [1], 32, 1, 0.01, progress=lambda _: None)


@pytest.mark.extended
def test_executorch_backends() -> None:
    pytest.importorskip("executorch")
    payload = run_benchmark(["sqnxt23_w1"], ["executorch", "executorch-int8"], [1], 64, 1, 0.05, progress=print)
    assert [e["backend"] for e in payload["results"]] == ["executorch", "executorch-int8"]
    assert all(e["median_ms"] > 0 for e in payload["results"])
