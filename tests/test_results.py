"""The README's trained-model numbers are the committed outputs of the commands it names, and they hold
what the README claims of them.

docs/results/main_job.json comes from `python benchmarks/main_job.py`, docs/results/fashion_mnist_table.json
from `python benchmarks/fashion_mnist_table.py --epochs 1`; rerun them to refresh both files and the README.
"""

import importlib.util
import json
import re
import statistics
from pathlib import Path
from typing import Any

import pytest

from squeezenext.machine import cpu_kind

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _search_report() -> Any:
    """benchmarks/search_report.py as a module (the generator of docs/search.md)."""
    loader = importlib.util.spec_from_file_location("search_report", ROOT / "benchmarks" / "search_report.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def _load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((ROOT / "docs" / "results" / name).read_text())
    return payload


def test_readme_quotes_the_committed_main_job() -> None:
    job = _load("main_job.json")
    default = next(run for run in job["runs"] if run["seed"] == 0)
    assert f"**{default['top1']:.2f}% top-1** ({default['top5']:.2f}% top-5)" in README
    assert f"{default['seconds'] / 60:.1f} minutes of training" in README
    assert job["machine"]["cpu"] in README
    assert job["test_images"] == 10_000
    assert default["top1"] >= 90.0, "the README promises at least 90% top-1"
    top1 = [run["top1"] for run in job["runs"]]
    assert len(top1) >= 3 and job["top1_mean"] == pytest.approx(sum(top1) / len(top1))
    assert job["top1_worst"] == min(top1) and job["top1_spread"] == pytest.approx(max(top1) - min(top1))
    quoted = (
        f"the mean is {job['top1_mean']:.2f}% (worst {job['top1_worst']:.2f}%, spread {job['top1_spread']:.2f} points)"
    )
    assert quoted in " ".join(README.split())
    assert job["command"] in README


def test_training_doc_quotes_every_seed_of_the_main_job() -> None:
    job = _load("main_job.json")
    doc = (ROOT / "docs" / "training.md").read_text()
    for run in job["runs"]:
        minutes = f"{run['seconds'] / 60:.1f}"
        assert re.search(rf"\| {run['seed']}[^|]* \| {run['top1']:.2f} \| {run['top5']:.2f} \| {minutes} \|", doc)
    summary = (
        f"Mean {job['top1_mean']:.2f}%, worst seed {job['top1_worst']:.2f}%, spread {job['top1_spread']:.2f} points"
    )
    assert summary in doc


def test_fine_tuning_results_are_quoted() -> None:
    """docs/results/finetune.json comes from `python benchmarks/finetune.py`."""
    result = _load("finetune.json")
    doc = " ".join((ROOT / "docs" / "training.md").read_text().split())
    summary = result["summary"]
    assert len(result["runs"]) == 6 and result["test_images"] == 10_000
    for arm in ("scratch", "fine-tuned"):
        values = summary[arm]
        line = f"| {arm} | {values['top1_mean']:.2f} | {values['top1_worst']:.2f}-{values['top1_best']:.2f} |"
        assert line in doc
    assert summary["fine-tuned"]["top1_worst"] > summary["scratch"]["top1_best"], "fine-tuning wins on every seed"
    gain = f"{result['gain_points']:+.2f} points"
    assert gain in doc and gain in " ".join(README.split())
    assert all(run["init"]["skipped"] == ["fc.weight"] for run in result["runs"] if run["arm"] == "fine-tuned")


def test_readme_quotes_the_committed_int8_accuracy() -> None:
    int8 = _load("main_job.json")["int8"]
    assert int8["test_images"] == 10_000
    quoted = (
        f"{int8['fp32_top1']:.2f}% (fp32 ONNX) -> {int8['int8_top1']:.2f}% (int8) top-1 on the 10,000 "
        f"Fashion-MNIST test images, {int8['change_points']:+.2f} points"
    )
    assert quoted in " ".join(README.split())
    assert abs(int8["change_points"]) <= 1.0, "the README promises at most 1 point lost"
    assert int8["top1_agreement"] >= 0.95


def test_readme_quotes_the_committed_fashion_mnist_table() -> None:
    table = _load("fashion_mnist_table.json")
    assert table["table_markdown"] in README
    assert table["claim"] in " ".join(README.split())
    by_model = {row["model"]: row for row in table["results"]}
    ours, alexnet = by_model["sqnxt23_w1"], by_model["torchvision:alexnet"]
    assert ours["top1"] > alexnet["top1"] and ours["params"] * 50 < alexnet["params"], "the paper's claim, here"
    assert table["machine"]["cpu"] in README


def test_readme_quotes_the_committed_search_results() -> None:
    """docs/results/search.json comes from `python benchmarks/search_report.py`; its cost-model numbers are
    deterministic, so they are recomputed here, and the README quotes them."""
    module = _search_report()
    results = _load("search.json")
    question = results["papers_question"]
    _, fresh = module.papers_question()
    assert question["evaluated"] == fresh.evaluated and question["feasible"] == fresh.feasible
    assert [p["time_ms"] for p in question["front"]] == [c.metrics["time_ms"] for c in fresh.front]
    text = " ".join(README.split())
    best_time = min(p["time_vs_v5"] for p in question["front"])
    best_energy = min(p["energy_vs_v5"] for p in question["front"])
    assert f"{question['evaluated']:,} designs were evaluated exhaustively" in text
    assert f"best {best_time:.3f}x its time, best {best_energy:.3f}x its energy" in text
    assert all(p["time_vs_v5"] < 1 and p["energy_vs_v5"] < 1 for p in question["front"])
    codesign = {c["network"]: c for c in results["codesign"]}
    assert f"{codesign['1.0-SqNxt-23v5']['speedup']:.2f}x for 1.0-SqNxt-23v5" in text
    assert f"{results['speed']['candidates_per_s']:,.0f} (network, accelerator) candidates per second" in text
    assert results["speed"]["candidates_per_s"] >= 10_000, "the issue's speed target"
    assert (
        f"{results['speed']['candidates_per_s']:,.0f} candidates per second"
        in (ROOT / "docs" / "search.md").read_text()
    )


@pytest.mark.parametrize("name", ["gpu_train_speed.json", "gpu_train_speed-h200.json"])
def test_training_docs_quote_the_committed_gpu_throughput(name: str) -> None:
    """docs/training.md's GPU tables are docs/results/gpu_train_speed*.json (python benchmarks/gpu_train_speed.py),
    one per GPU measured."""
    results = _load(name)
    docs = (ROOT / "docs" / "training.md").read_text()
    assert results["machine"]["gpu"] in docs and results["machine"]["torch"] in docs and name in docs
    for row in results["results"]:
        speed = f"{row['images_per_s']:.0f} | {row['vs_pytorchcv']:.2f} |"
        line = f"| {row['network']} | {row['build']} | {row['precision']} | {speed}"
        assert line in docs
        if row["build"] == "ours (pytorchcv flavor)" and row["precision"] == "fp32":
            assert 0.9 <= row["vs_pytorchcv"] <= 1.1, "the pytorchcv flavor trains at pytorchcv's speed"


def test_training_docs_quote_the_h200_main_job_and_bf16() -> None:
    """The H200 main-job figure is the median of that run's own step log (docs/results/gpu_main_job-h200.jsonl);
    the bf16 statement is the H200 throughput file's."""
    name = "gpu_train_speed-h200.json"
    rows = [
        json.loads(line) for line in (ROOT / "docs" / "results" / "gpu_main_job-h200.jsonl").read_text().splitlines()
    ]
    steps = [row for row in rows if row["kind"] == "step"]
    median = statistics.median(row["images_per_s"] for row in steps)
    docs = " ".join((ROOT / "docs" / "training.md").read_text().split())
    assert f"median of {median:,.0f} images/s" in docs and f"after {max(r['step'] for r in steps):,} of" in docs
    assert 0.9 * 900 <= median <= 1.1 * 900, "docs/training.md says 'about 900 images/s' on the H100 too"
    speed = {(r["network"], r["build"], r["precision"]): r["images_per_s"] for r in _load(name)["results"]}
    builds = {(network, build) for network, build, _ in speed}
    slower = [speed[(*build, "bf16")] < speed[(*build, "fp32")] for build in builds]
    assert len(builds) == 6 and sum(slower) == 5, "'bf16 is slower than fp32 for five of the six builds'"
    assert all(speed[(*build, "bf16")] <= 1.01 * speed[(*build, "fp32")] for build in builds), (
        "'no faster for the sixth'"
    )


def test_readme_quotes_the_committed_search_accuracy() -> None:
    """docs/results/search_accuracy.json (python benchmarks/search_accuracy.py) trains the committed front specs."""
    accuracy = _load("search_accuracy.json")
    reference, *designs = accuracy["results"]
    assert reference["network"] == "sqnxt23v5_w1"
    committed = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs" / "search" / "specs").glob("*.yaml"))
    assert [d["network"] for d in designs] == committed, "the accuracy was measured on another front: rerun it"
    means = ", ".join(f"{d['mean_top1']:.2f}%" for d in designs)
    quoted = f"top-1 over {len(accuracy['seeds'])} seeds is {means} against v5's {reference['mean_top1']:.2f}%"
    assert quoted in " ".join(README.split())
    assert all(d["mean_top1"] >= reference["mean_top1"] - 0.5 for d in designs), "the docs say no loss beyond 0.5"


def test_search_docs_quote_the_committed_latency_searches() -> None:
    """docs/search.md's CPU-latency section has one subsection per docs/results/latency_search-KIND-BACKEND.json
    (benchmarks/latency_search.py), each file named by the CPU kind and runtime it was measured on."""
    paths = sorted((ROOT / "docs" / "results").glob("latency_search-*.json"))
    assert paths, "no committed latency search"
    docs = " ".join((ROOT / "docs" / "search.md").read_text().split())
    for path in paths:
        found = json.loads(path.read_text())
        fastest = found["fastest"]
        kind = cpu_kind(found["machine"]["cpu"], found["machine"]["cpu_extensions"])
        assert path.name == f"latency_search-{kind}-{found.get('backend', 'onnxruntime')}.json"
        assert found["command"] in docs and path.name in docs
        assert f"| {fastest['latency_ms']:.2f} |" in docs
        assert f"mean {fastest['mean_top1']:.2f}% against v5's {found['v5_mean_top1']:.2f}%" in docs
        assert found["machine"]["cpu"] in docs
        assert fastest["mean_top1"] >= found["v5_mean_top1"] - 0.5, "the docs say within 0.5 points of v5"
        confirmed = found["confirmed_latency_ms"]
        assert confirmed["fastest found"] < confirmed["v5"] < confirmed["SqueezeNet 1.0"], "re-timed: faster than v5"
        assert f"the fastest design {confirmed['fastest found']:.2f} ms, v5 {confirmed['v5']:.2f} ms" in docs
    generator = _search_report()
    stale = "docs/search.md is stale: rerun python benchmarks/search_report.py"
    assert "\n".join(generator.latency_section()) in (ROOT / "docs" / "search.md").read_text(), stale


def test_search_docs_usage_is_the_generators() -> None:
    """The hand-written part of docs/search.md lives in its generator, so a regeneration never loses an edit."""
    docs = (ROOT / "docs" / "search.md").read_text()
    assert "\n".join(_search_report().usage_section()) in docs, "edit benchmarks/search_report.py, then regenerate"
    assert "--latency-backend" in docs
