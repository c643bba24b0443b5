"""``squeezenext profile``: per-operator time from onnxruntime's and OpenVINO's profilers, grouped the same way."""

import json
from pathlib import Path
from typing import Any

import pytest

from squeezenext.cli import main
from squeezenext.deploy.profile import (
    CONV_1X1,
    CONV_SEPARABLE,
    CONV_SQUARE,
    OUTSIDE,
    STEM,
    profile,
    profile_tables,
    profiles_markdown,
)
from squeezenext.machine import cpu_kind, cpu_label

ROOT = Path(__file__).resolve().parents[1]
V5_CONVOLUTIONS = {STEM: 1, CONV_1X1: 68, CONV_SEPARABLE: 42}
"""1.0-SqNxt-23v5's 111 convolutions: the 5x5 stem, per block 3 (4 with a projection shortcut) 1x1 and one 3x1
and 1x3 each over 21 blocks, the 1x1 before the pooling (docs/models.md)."""


def _counts(payload: dict[str, Any]) -> dict[str, int]:
    return {c["category"]: c["operators"] for c in payload["categories"]}


def _check_totals(payload: dict[str, Any]) -> None:
    """Groups add up to the run: the operators' times plus what lies outside them."""
    total = sum(c["ms"] for c in payload["categories"])
    operators = sum(o["ms"] for o in payload["operators"])
    assert total == pytest.approx(max(payload["run_ms"], operators), rel=1e-9)
    assert sum(k["operators"] for k in payload["kernels"]) == len(payload["operators"])


@pytest.mark.parametrize("backend", ["onnxruntime", pytest.param("onnxruntime-int8", marks=pytest.mark.extended)])
def test_onnxruntime_profile_finds_every_convolution_of_v5(backend: str) -> None:
    payload = profile("sqnxt23v5_w1", backend, input_size=64, threads=1, runs=3)
    counts = _counts(payload)
    assert {k: counts.get(k, 0) for k in V5_CONVOLUTIONS} == V5_CONVOLUTIONS
    assert CONV_SQUARE not in counts
    assert counts["residual Add and ReLU"] in (21, 42)  # 21 Adds, and the 21 ReLUs after them unless fused
    assert payload["input_shape"] == [1, 3, 64, 64] and payload["machine"]["label"] == cpu_label()
    assert payload["plain_run_ms"] > 0, "the plain session's latency is reported beside the profiled run's"
    _check_totals(payload)


def test_openvino_profile_names_its_kernels() -> None:
    pytest.importorskip("openvino")
    payload = profile("sqnxt23v5_w1", "openvino", input_size=64, threads=1, runs=3)
    counts = _counts(payload)
    assert {k: counts.get(k, 0) for k in V5_CONVOLUTIONS} == V5_CONVOLUTIONS
    assert payload["runtime"].startswith("OpenVINO")
    convolutions = [o for o in payload["operators"] if o["op"] == "Convolution"]
    assert len(convolutions) == 111 and all(o["kernel"] for o in convolutions)  # e.g. brgconv_avx2_1x1_f32
    _check_totals(payload)


def test_squeezenet_has_square_kernels_and_concatenations() -> None:
    counts = _counts(profile("torchvision:squeezenet1_0", "onnxruntime", input_size=64, threads=1, runs=2))
    assert counts[STEM] == 1 and counts[CONV_SQUARE] == 8  # each fire module's 3x3 expand
    assert counts[CONV_1X1] == 8 * 2 + 1  # squeeze and 1x1 expand per fire module, and the classifier


def test_an_onnx_file_is_profiled_as_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    onnx_path = tmp_path / "v5.onnx"
    assert main(["export", "sqnxt23v5_w1", "--out", str(onnx_path), "--batch", "2", "--input-size", "48"]) == 0
    capsys.readouterr()
    out = tmp_path / "{cpu_kind}.json"
    argv = [
        "profile",
        str(onnx_path),
        "--batch",
        "2",
        "--runs",
        "2",
        "--threads",
        "1",
        "--top",
        "3",
        "--json",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    written = json.loads((tmp_path / f"{cpu_kind()}.json").read_text())
    assert written["input_shape"] == [2, 3, 48, 48]  # the file's own sizes, not --input-size's default
    assert "ms per run" in printed and "stem convolution" in printed
    assert len(printed.split("\n\n")[-2].splitlines()) == 2 + 3  # header, rule, the 3 slowest operators
    assert printed == profile_tables(written, top=3) + f"\n\nwrote {tmp_path / (cpu_kind() + '.json')}\n"


def test_markdown_has_a_row_per_profile_and_the_top_kernels() -> None:
    def fake(backend: str, share: float) -> dict[str, Any]:
        return {
            "model": "sqnxt23v5_w1",
            "backend": backend,
            "run_ms": 2.0,
            "categories": [
                {"category": STEM, "operators": 1, "ms": 2.0 * share, "share": share},
                {"category": OUTSIDE, "operators": 0, "ms": 2.0 * (1 - share), "share": 1 - share},
            ],
            "kernels": [{"kernel": "brgconv_avx512_amx_bf16", "operators": 1, "ms": 2.0 * share}],
        }

    lines = profiles_markdown([fake("openvino-bf16", 0.25), fake("openvino", 0.5)]).splitlines()
    assert lines[0] == f"| model | backend | ms per run | {STEM} | {OUTSIDE} | top kernels |"
    assert lines[2] == "| sqnxt23v5_w1 | openvino-bf16 | 2.00 | 25% | 75% | brgconv_avx512_amx_bf16 25% |"
    assert len(lines) == 4


def test_every_committed_profile_is_named_by_its_cpu_kind_and_adds_up() -> None:
    """One docs/results/profile-KIND.json per CPU kind (benchmarks/profile_report.py; `make docs` renders each
    into docs/deploy.md)."""
    paths = sorted((ROOT / "docs" / "results").glob("profile-*.json"))
    assert paths, "no committed profile"
    for path in paths:
        committed = json.loads(path.read_text())
        assert path.stem == f"profile-{cpu_kind(committed['machine']['cpu'], committed['machine']['cpu_extensions'])}"
        for entry in committed["profiles"]:
            _check_totals(entry)


@pytest.mark.parametrize(
    ("cpu", "extensions", "kind"),
    [
        ("AMD EPYC", ["AVX2", "FMA"], "amd-avx2"),
        ("Intel(R) Xeon(R) Platinum 8480+", ["AVX2", "FMA", "AVX-512", "AMX", "AMX-BF16"], "intel-amx"),
        ("Intel(R) Xeon(R) Gold 6248", ["AVX2", "AVX-512", "AVX-512 VNNI"], "intel-avx512"),
    ],
)
def test_cpu_kinds_name_the_vendor_and_the_widest_unit(cpu: str, extensions: list[str], kind: str) -> None:
    assert cpu_kind(cpu, extensions) == kind


def test_the_docs_statements_hold_in_the_committed_profile() -> None:
    """docs/deploy.md's statements under the AMD EPYC table, checked against docs/results/profile-amd-avx2.json."""
    committed = json.loads((ROOT / "docs" / "results" / "profile-amd-avx2.json").read_text())
    share = {
        (p["model"], p["backend"]): {c["category"]: c["share"] for c in p["categories"]} for p in committed["profiles"]
    }
    operators = {(p["model"], p["backend"]): len(p["operators"]) for p in committed["profiles"]}
    backends = {backend for _, backend in share}
    convolutions = (STEM, CONV_1X1, CONV_SEPARABLE, CONV_SQUARE)
    for (model, backend), groups in share.items():
        assert sum(groups.get(c, 0.0) for c in convolutions) > 0.5, (model, backend)
    for backend in backends:
        v5, v1, squeezenet = (share[(m, backend)] for m in ("sqnxt23v5_w1", "sqnxt23_w1", "torchvision:squeezenet1_0"))
        assert max(v5, key=v5.__getitem__) == CONV_1X1, backend
        assert 0.2 <= v1[STEM] <= 0.34, backend
        assert max(squeezenet, key=squeezenet.__getitem__) == CONV_SQUARE, backend
        for ours in (v5, v1):
            assert ours.get(OUTSIDE, 0.0) > squeezenet.get(OUTSIDE, 0.0), backend
            assert (
                130 <= operators[("sqnxt23v5_w1", backend)] <= 160
                and 38 <= operators[("torchvision:squeezenet1_0", backend)] <= 44
            )
    residual = "residual Add and ReLU"
    for model in ("sqnxt23v5_w1", "sqnxt23_w1"):
        assert share[(model, "onnxruntime")][residual] > share[(model, "openvino")][residual]
        rewritten, plain = share[(model, "onnxruntime-rewritten")], share[(model, "onnxruntime")]
        assert rewritten[STEM] > plain[STEM] and rewritten["layout reorders"] > plain["layout reorders"]
