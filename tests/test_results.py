"""The committed results hold together and hold what the prose around them claims.

The README's and the docs' numbers are rendered from these files by `make docs` (docgen/; tests/test_docs.py
checks that the committed documents are current); the tests here check the files themselves: their
arithmetic, that the cost-model results are what the code computes today, and the hand-written statements.
"""

import importlib.util
import json
import statistics
from pathlib import Path
from typing import Any

import pytest

from squeezenext.fileio import file_sha256
from squeezenext.machine import cpu_kind
from squeezenext.train.config import load_config
from squeezenext.train.recipes import EARLIER_MAIN_JOB

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((ROOT / "docs" / "results" / name).read_text())
    return payload


MAIN_JOBS = sorted((ROOT / "docs" / "results").glob("main_job-*.json"))


@pytest.mark.parametrize("path", MAIN_JOBS, ids=lambda path: path.stem)
def test_each_main_job_summary_is_its_runs_and_named_by_its_cpu_kind(path: Path) -> None:
    job = _load(path.name)
    assert path.stem == f"main_job-{cpu_kind(job['machine']['cpu'], job['machine']['cpu_extensions'])}"
    assert job["test_images"] == 10_000
    top1 = [run["top1"] for run in job["runs"]]
    assert len(top1) >= 3 and job["top1_mean"] == pytest.approx(statistics.fmean(top1))
    assert job["top1_worst"] == min(top1) and job["top1_spread"] == pytest.approx(max(top1) - min(top1))
    assert any(run["seed"] == 0 for run in job["runs"]), "the README quotes the default seed"


def _current_main_job(kind: str) -> dict[str, Any] | None:
    """This kind's committed main job if it ran today's configs/fashion_mnist.yaml."""
    path = ROOT / "docs" / "results" / f"main_job-{kind}.json"
    if not path.is_file():
        return None
    job = _load(path.name)
    return job if job["config_sha256"] == file_sha256(ROOT / "configs" / "fashion_mnist.yaml") else None


@pytest.mark.parametrize("path", sorted((ROOT / "docs" / "results").glob("recipe_trials-*.json")), ids=lambda p: p.stem)
def test_the_chosen_trial_is_todays_recipe_and_gave_todays_seed_0(path: Path) -> None:
    """The trial whose changes make today's configuration is the recipe, and the job being deterministic, its
    mirrored top-1 is the committed main job's seed 0 on the same kind."""
    found = _load(path.name)
    current = load_config(ROOT / "configs" / "fashion_mnist.yaml")
    chosen = [
        trial for trial in found["trials"]
        if all(getattr(current, k) == v for k, v in {**EARLIER_MAIN_JOB, "cpu_processes": 2, "test_flip": True,
                                                     **trial["changes"]}.items())
    ]  # fmt: skip
    assert [trial["command"] for trial in chosen] == ["squeezenext train --config configs/fashion_mnist.yaml"]
    job = _current_main_job(path.stem.removeprefix("recipe_trials-"))
    if job is not None:
        seed0 = next(run for run in job["runs"] if run["seed"] == 0)
        assert chosen[0]["top1_test_flip"] == pytest.approx(seed0["top1"], abs=1e-9)


@pytest.mark.parametrize("path", sorted((ROOT / "docs" / "results").glob("make_run-*.log")), ids=lambda p: p.stem)
def test_a_timed_make_run_gave_the_committed_seed_0(path: Path) -> None:
    text = path.read_text()
    assert "make run: " in text
    job = _current_main_job(path.stem.removeprefix("make_run-"))
    assert job is not None, f"{path.name}: no main job of today's configuration on this kind"
    seed0 = next(run for run in job["runs"] if run["seed"] == 0)
    assert f"test top-1 {seed0['top1']:.2f}%" in text


@pytest.mark.parametrize("path", sorted((ROOT / "docs" / "results").glob("train_speed-*.json")), ids=lambda p: p.stem)
def test_train_speed_ratios_are_its_rates(path: Path) -> None:
    results = _load(path.name)["results"]
    if "label" not in results[0]:
        pytest.skip("a file from before issue 23 (main-job rows only)")
    before = next(r for r in results if r["label"] == "before issue 23")
    for row in results:
        if row["vs_before"] is not None:
            assert row["vs_before"] == pytest.approx(row["images_per_s"] / before["images_per_s"])


def test_fine_tuning_summary_is_its_runs() -> None:
    """docs/results/finetune.json comes from `python benchmarks/finetune.py`."""
    result = _load("finetune.json")
    assert len(result["runs"]) == 6 and result["test_images"] == 10_000
    for arm, summary in result["summary"].items():
        top1 = [run["top1"] for run in result["runs"] if run["arm"] == arm]
        assert summary["top1_mean"] == pytest.approx(statistics.fmean(top1))
        assert (summary["top1_worst"], summary["top1_best"]) == (min(top1), max(top1))
    gain = result["summary"]["fine-tuned"]["top1_mean"] - result["summary"]["scratch"]["top1_mean"]
    assert result["gain_points"] == pytest.approx(gain)
    assert all(run["init"]["skipped"] == ["fc.weight"] for run in result["runs"] if run["arm"] == "fine-tuned")


@pytest.mark.parametrize("path", MAIN_JOBS, ids=lambda path: path.stem)
def test_int8_accuracy_was_measured_on_the_full_test_set(path: Path) -> None:
    int8 = _load(path.name)["int8"]
    assert int8["test_images"] == 10_000
    assert int8["change_points"] == pytest.approx(int8["int8_top1"] - int8["fp32_top1"])
    assert 0 <= int8["top1_agreement"] <= 1


def test_the_fashion_mnist_table_holds_the_papers_models() -> None:
    table = _load("fashion_mnist_table.json")
    by_model = {row["model"]: row for row in table["results"]}
    assert {"sqnxt23_w1", "torchvision:alexnet"} <= set(by_model)
    assert all(row["images"] == 10_000 for row in table["results"])


def _search_report() -> Any:
    """benchmarks/search_report.py as a module (it computes docs/results/search.json)."""
    loader = importlib.util.spec_from_file_location("search_report", ROOT / "benchmarks" / "search_report.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


def test_the_committed_search_is_what_the_cost_model_computes_today() -> None:
    """The cost-model parts of docs/results/search.json are deterministic: recomputed here."""
    results = _load("search.json")
    question = results["papers_question"]
    request, fresh = _search_report().papers_question()
    assert question["constraints"] == [str(c) for c in request.constraints]
    assert question["evaluated"] == fresh.evaluated and question["feasible"] == fresh.feasible
    assert [p["time_ms"] for p in question["front"]] == [c.metrics["time_ms"] for c in fresh.front]
    assert [p["blocks_per_stage"] for p in question["front"]] == [list(c.blocks or ()) for c in fresh.front]
    assert results["speed"]["candidates_per_s"] >= 10_000, "the search's speed target"


def test_the_search_accuracy_was_measured_on_the_committed_front() -> None:
    """docs/results/search_accuracy.json (python benchmarks/search_accuracy.py) trains the committed front specs."""
    accuracy = _load("search_accuracy.json")
    reference, *designs = accuracy["results"]
    assert reference["network"] == "sqnxt23v5_w1"
    committed = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs" / "search" / "specs").glob("*.yaml"))
    assert [d["network"] for d in designs] == committed, "the accuracy was measured on another front: rerun it"
    for row in accuracy["results"]:
        top1 = [run["top1"] for run in row["runs"]]
        assert row["mean_top1"] == pytest.approx(statistics.fmean(top1)) and len(top1) == len(accuracy["seeds"])


def test_latency_searches_are_consistent_and_named_by_the_cpu_kind_and_runtime_they_ran_on() -> None:
    """One docs/results/latency_search-KIND-BACKEND.json per CPU kind and runtime (benchmarks/latency_search.py):
    the fastest design is predicted no slower than v5 (v5 is in the space), each prediction's error is its
    measurement's, and the mean top-1 is the mean of the seeds."""
    paths = sorted((ROOT / "docs" / "results").glob("latency_search-*.json"))
    assert paths, "no committed latency search"
    for path in paths:
        found = json.loads(path.read_text())
        kind = cpu_kind(found["machine"]["cpu"], found["machine"]["cpu_extensions"])
        assert path.name == f"latency_search-{kind}-{found['backend']}.json"
        rows = {row["design"]: row for row in found["remeasured"]}
        assert set(rows) == {"fastest found", "v5", "SqueezeNet 1.0"}
        assert rows["fastest found"]["predicted_ms"] <= rows["v5"]["predicted_ms"]
        assert found["predicted_variants_ms"]["v5"] == pytest.approx(rows["v5"]["predicted_ms"])
        for row in rows.values():
            if row["predicted_ms"] is not None:
                assert row["error"] == pytest.approx(row["predicted_ms"] / row["measured_ms"] - 1)
        fastest = found["fastest"]
        assert fastest["mean_top1"] == pytest.approx(statistics.fmean(run["top1"] for run in fastest["runs"]))


@pytest.mark.parametrize("name", ["gpu_train_speed.json", "gpu_train_speed-h200.json"])
def test_gpu_throughput_statements(name: str) -> None:
    """docs/training.md: the pytorchcv flavor trains at pytorchcv's speed in fp32 on every GPU measured."""
    for row in _load(name)["results"]:
        if row["build"] == "ours (pytorchcv flavor)" and row["precision"] == "fp32":
            assert 0.9 <= row["vs_pytorchcv"] <= 1.1


def test_h200_statements() -> None:
    """docs/training.md: 'bf16 is slower than fp32 for five of the six builds and no faster for the sixth', and
    the main job ran at 'about 900 images/s' on both GPUs."""
    results = _load("gpu_train_speed-h200.json")["results"]
    speed = {(r["network"], r["build"], r["precision"]): r["images_per_s"] for r in results}
    builds = {(network, build) for network, build, _ in speed}
    slower = [speed[(*build, "bf16")] < speed[(*build, "fp32")] for build in builds]
    assert len(builds) == 6 and sum(slower) == 5
    assert all(speed[(*build, "bf16")] <= 1.01 * speed[(*build, "fp32")] for build in builds)
    log = (ROOT / "docs" / "results" / "gpu_main_job-h200.jsonl").read_text()
    rows = [json.loads(line) for line in log.splitlines()]
    median = statistics.median(row["images_per_s"] for row in rows if row["kind"] == "step")
    assert 0.9 * 900 <= median <= 1.1 * 900
