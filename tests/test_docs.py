"""`make docs` (docgen/): the committed documents are what their data renders, the generated regions are
strict, and the targets and tables are right on hand-made runs."""

import json
from pathlib import Path
from typing import Any

import pytest
from docgen import documents, peers, search, study
from docgen.__main__ import main
from docgen.bench import machines_markdown, runs
from docgen.regions import DocsError, fill
from docgen.targets import check_targets, targets_table

from bench_helpers import ENVIRONMENT, bench_entry
from squeezenext.deploy.backends import INT8_BACKENDS
from squeezenext.deploy.bench import OURS
from squeezenext.deploy.report import fastest_backends, median_ms
from squeezenext.machine import cpu_kind

ROOT = Path(__file__).resolve().parents[1]
AMD_AVX2_BENCH = ROOT / "docs" / "bench" / "amd-avx2.json"
"""The run whose statements docs/deploy.md writes out by hand."""


def test_the_committed_documents_are_current(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0, capsys.readouterr().err


def _doc(body: str) -> str:
    return f"# Title\n\n<!-- begin generated: one (make docs) -->\n{body}<!-- end generated: one -->\n\nhand-written\n"


def test_make_docs_rewrites_a_stale_document_and_check_finds_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text(_doc("old table\n"))
    monkeypatch.setattr(documents, "REGIONS", {doc: lambda: {"one": "new table"}})
    monkeypatch.setattr(study, "study_files", dict)
    monkeypatch.setattr(peers, "recorded_files", dict)
    for module in ("docgen.__main__", "docgen.documents"):
        monkeypatch.setattr(f"{module}.ROOT", tmp_path)
    assert main(["--check"]) == 1
    assert "stale generated documents: doc.md; run `make docs`" in capsys.readouterr().err
    assert doc.read_text() == _doc("old table\n"), "--check writes nothing"
    assert main([]) == 0
    assert doc.read_text() == _doc("new table\n")
    assert main(["--check"]) == 0


@pytest.mark.parametrize(
    ("text", "regions", "message"),
    [
        (_doc("x\n"), {"one": "a", "two": "b"}, "has no region 'two': add '<!-- begin generated: two (make docs) -->'"),
        (_doc("x\n"), {}, "region 'one' has no generator in docgen"),
        (_doc("x\n") + _doc("y\n"), {"one": "a"}, "region 'one' appears twice"),
        ("<!-- begin generated: one (make docs) -->\nx\n", {"one": "a"}, "region 'one' has no '<!-- end generated"),
    ],
)
def test_regions_are_strict(text: str, regions: dict[str, str], message: str) -> None:
    with pytest.raises(DocsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        fill(text, regions, Path("doc.md"))


def test_a_region_keeps_the_hand_written_text_around_it() -> None:
    filled = fill(_doc("old\n"), {"one": "new\n\n"}, Path("doc.md"))
    assert filled == _doc("new\n")


def test_targets_are_ratios_of_this_run() -> None:
    results = [
        bench_entry("sqnxt23v5_w1", "onnxruntime", 1, 2.0),
        bench_entry("torchvision:squeezenet1_0", "onnxruntime", 1, 6.0),
        bench_entry("torchvision:squeezenet1_1", "onnxruntime", 1, 1.0),
        bench_entry("sqnxt23_w1", "onnxruntime", 1, 4.0),
        bench_entry("sqnxt23_w1", "onnxruntime-int8", 1, 2.0),
        bench_entry("pytorchcv:sqnxt23_w1", "onnxruntime", 1, 5.0),
        bench_entry("pytorchcv:sqnxt23_w1", "eager", 1, 20.0),
        bench_entry("sqnxt23_w1", "eager", 1, 18.0),
        bench_entry("sqnxt23_w1", "eager-opt", 1, 12.0),
        bench_entry("sqnxt23_w1", "torchscript", 1, 8.0),
    ]
    checks = {c["target"]: c for c in check_targets({"results": results})}
    assert checks["v5 vs SqueezeNet 1.0, onnxruntime, batch 1"]["ratio"] == pytest.approx(3.0)
    assert checks["v5 vs SqueezeNet 1.0, onnxruntime, batch 1"]["met"] is True
    assert checks["v5 vs squeezenet1_1, onnxruntime, batch 1"]["met"] is False
    assert checks["sqnxt23_w1 int8 vs fp32 onnxruntime, batch 1"]["ratio"] == pytest.approx(2.0)
    assert checks["sqnxt23_w1 vs pytorchcv, onnxruntime, batch 1"]["ratio"] == pytest.approx(1.25)
    assert checks["v5 vs mobilenet_v2, onnxruntime, batch 1"]["ratio"] is None
    eager_only = checks["sqnxt23_w1 best eager-opt vs pytorchcv as shipped (eager), batch 1"]
    assert eager_only["ratio"] == pytest.approx(20.0 / 12.0) and eager_only["met"] is False
    any_pytorch = checks["sqnxt23_w1 best PyTorch vs pytorchcv as shipped (eager), batch 1"]
    assert any_pytorch["ratio"] == pytest.approx(2.5) and any_pytorch["met"] is True
    table = targets_table(list(checks.values()))
    assert "MISSED by 50%" in table and "not measured" in table
    near_miss = targets_table([{"target": "t", "ratio": 0.996, "goal": 1.0, "met": False}])
    assert "MISSED by <1%" in near_miss


def test_machines_table_rows() -> None:
    def run(extensions: list[str], bf16: bool) -> dict[str, object]:
        results = [
            bench_entry("sqnxt23v5_w1", "onnxruntime", 1, 2.0),
            bench_entry("torchvision:squeezenet1_0", "onnxruntime", 1, 5.0),
            bench_entry("sqnxt23v5_w1", "onnxruntime-int8", 1, 1.5),
        ]
        if bf16:
            results += [
                bench_entry("sqnxt23v5_w1", "openvino-bf16", 1, 1.0),
                bench_entry("torchvision:squeezenet1_0", "openvino-bf16", 1, 1.1),
            ]
        return {"environment": {**ENVIRONMENT, "cpu_extensions": extensions}, "results": results}

    rows = machines_markdown([run(["AVX2"], False), run(["AVX-512", "AMX", "AMX-BF16"], True)]).splitlines()[2:]
    assert rows[0] == (
        "| AMD EPYC (AVX2), 2 threads | 2.50x (2.00 vs 5.00 ms) | not measured | not measured | not measured | "
        "no native bf16 | onnxruntime-int8 (1.50 ms) | onnxruntime (2.00 ms) |"
    )
    assert "| 1.10x (1.00 vs 1.10 ms) | openvino-bf16 (1.00 ms) | onnxruntime (2.00 ms) |" in rows[1]


def test_every_committed_bench_run_is_named_by_its_cpu_kind_and_has_its_plot() -> None:
    found = runs()
    assert AMD_AVX2_BENCH in [path for path, _ in found]
    for path, payload in found:
        assert path.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
        assert path.stem == cpu_kind(payload["environment"]["processor"], payload["environment"]["cpu_extensions"])


def test_the_amd_avx2_run_holds_what_docs_deploy_says_of_it() -> None:
    """docs/deploy.md's hand-written statements under 'Every committed run', checked against that run."""
    committed = json.loads(AMD_AVX2_BENCH.read_text())
    verdict = {check["target"]: check["met"] for check in check_targets(committed)}
    for backend in ("onnxruntime", "openvino"):
        for peer in ("SqueezeNet 1.0", "squeezenet1_1", "mobilenet_v2"):
            assert verdict[f"v5 vs {peer}, {backend}, batch 1"], (peer, backend)
    for model in OURS:
        backends = ("onnxruntime-rewritten", "onnxruntime")
        rewritten, plain = (median_ms(committed["results"], model, backend, 1) for backend in backends)
        assert rewritten is not None and plain is not None and rewritten > plain
    assert all(backend in INT8_BACKENDS for backend in fastest_backends(committed).values())
    int8_met = [target for target, met in verdict.items() if "int8 vs fp32" in target and met]
    assert int8_met == ["sqnxt23v5_w1 int8 vs fp32 onnxruntime, batch 32"]


def _question(front_blocks: list[list[int]]) -> dict[str, Any]:
    front = [
        {"blocks_per_stage": blocks, "stem_kernel": 3, "time_vs_v5": 0.98, "energy_vs_v5": 0.9 + i / 100}
        for i, blocks in enumerate(front_blocks)
    ]
    return {"front": front}


def test_the_front_claims_are_computed_from_the_front() -> None:
    """v5 is [2, 4, 14, 1] with a 5x5 stem (the official release); the sentence names each design's moves."""
    claims = search.front_claims(_question([[1, 6, 13, 1], [2, 4, 14, 1]]))
    assert "up to 2.0% in time and up to 10.0% in energy" in claims
    assert "Against v5's [2, 4, 14, 1] with a 5x5 stem" in claims
    assert "front-001: stage 1 -1, stage 2 +2, stage 3 -1, stem 3; front-002: the same blocks, stem 3." in claims


def test_inconsistent_search_counts_are_refused() -> None:
    found = json.loads((ROOT / "docs" / "results" / "search.json").read_text())
    found["speed"]["candidates"] += 1
    with pytest.raises(DocsError, match="is not 6,840 networks x 252 accelerators"):
        search.speed_section(found)
