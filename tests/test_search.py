"""The design search: exact vectorized evaluation, the Pareto front, constraints, spec files, Optuna storage."""

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from squeezenext.accel.cost import simulate, total
from squeezenext.accel.hardware import HardwareConfig, resolve_hardware
from squeezenext.cli import main
from squeezenext.registry import create_model, get_spec
from squeezenext.search.accuracy import AccuracyJudge
from squeezenext.search.evaluate import evaluate_networks
from squeezenext.search.objectives import Constraint, objective_matrix, pareto_front, total_violation
from squeezenext.search.optuna_search import RECHECK_EVERY
from squeezenext.search.request import Candidate, SearchRequest, select_front
from squeezenext.search.run import run_search
from squeezenext.search.space import HardwareSpace, NetworkSpace, SearchError, Template
from squeezenext.specs import SqueezeNextSpec
from squeezenext.workload import analytic_layers, analytic_parameters, count_parameters
from train_helpers import env

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = [
    Template(1.0, 7, 1, False, 128, 227),
    Template(0.5, 3, 2, True, 64, 96),
    Template(2.0, 5, 1, True, 128, 64),
]
CONFIGS = [
    resolve_hardware("array-16x16"),
    resolve_hardware("scalesim-32x32"),
    HardwareConfig(name="small buffers", rows=8, cols=32, gb_kib=4, dram_bandwidth=2, timing="systolic"),
]


def test_evaluation_equals_whole_network_simulation() -> None:
    """The 13-segment decomposition gives exactly the whole network's cycles, energy, MACs and parameters."""
    distributions = np.array([[1, 1, 1, 1], [2, 4, 14, 1], [6, 6, 8, 1], [5, 1, 2, 7]])
    evaluation = evaluate_networks(TEMPLATES, distributions, CONFIGS)
    for i in range(len(evaluation)):
        template = TEMPLATES[evaluation.template[i]]
        blocks = tuple(int(b) for b in distributions[evaluation.distribution[i]])
        config = CONFIGS[evaluation.config[i]]
        spec = template.spec(blocks)
        from squeezenext.plan import build_plan

        plan = build_plan(spec, flavor="official", num_classes=1000)
        whole = total(simulate(analytic_layers(plan, template.input_size), config))
        metrics = {key: value[i] for key, value in evaluation.metrics.items()}
        assert metrics["time_ms"] == pytest.approx(whole.time_s * 1e3, rel=1e-12)
        assert metrics["energy"] == pytest.approx(whole.energy, rel=1e-9)
        assert metrics["macs"] == whole.macs
        assert metrics["params"] == analytic_parameters(plan)
        assert metrics["blocks"] == sum(blocks)


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


def test_pareto_front_equals_brute_force() -> None:
    rng = np.random.default_rng(0)
    for objectives in (2, 3):
        values = rng.integers(0, 12, size=(300, objectives)).astype(float)  # many ties and duplicates
        front = set(pareto_front(values).tolist())
        brute = {i for i in range(len(values)) if not any(_dominates(values[j], values[i]) for j in range(len(values)))}
        # duplicates of a front point are represented once
        assert front <= brute
        assert {tuple(values[i]) for i in front} == {tuple(values[i]) for i in brute}


def test_search_front_is_the_brute_force_front_of_a_small_space() -> None:
    space = NetworkSpace(total_blocks=8, max_blocks=5, stem_kernels=(3, 7))
    constraint = Constraint.parse("params<=700000")
    request = SearchRequest(network_space=space, constraints=(constraint,))
    result = run_search(request)
    evaluation = evaluate_networks(space.templates(), space.distributions(), [resolve_hardware("array-16x16")])
    feasible = np.flatnonzero(total_violation(evaluation.metrics, [constraint]) == 0)
    values = objective_matrix(evaluation.metrics, ["time", "energy"])[feasible]
    brute = {tuple(v) for i, v in enumerate(values) if not any(_dominates(w, v) for w in values)}
    assert {(c.metrics["time_ms"], c.metrics["energy"]) for c in result.front} == brute
    assert result.evaluated == len(evaluation) and result.feasible == len(feasible)
    assert all(c.metrics["params"] <= 700000 for c in result.front)


def test_optuna_and_exhaustive_paths_evaluate_a_design_alike() -> None:
    """Every design an Optuna sampler evaluates has the metrics the exhaustive evaluation gives it (same
    dataflow policy, same hardware), on an accelerator whose per-layer choice differs between the policies."""
    space = NetworkSpace(total_blocks=8, max_blocks=5, stem_kernels=(3, 7), widths=(0.5, 1.0))
    exhaustive = evaluate_networks(space.templates(), space.distributions(), [resolve_hardware("scalesim-32x32")])
    known = {
        (round(t, 9), round(e, 3))
        for t, e in zip(exhaustive.metrics["time_ms"], exhaustive.metrics["energy"], strict=True)
    }
    result = run_search(SearchRequest(network_space=space, sampler="tpe", trials=12, hardware="scalesim-32x32"))
    assert len(result.history) == 12
    for metrics in result.history:
        assert (round(metrics["time_ms"], 9), round(metrics["energy"], 3)) in known


def test_utilization_is_maximized_in_the_front() -> None:
    """Hand-made designs: (time, utilization) A (1, 0.9), B (1, 0.5), C (2, 0.95): A dominates B; C trades."""
    metrics = {key: np.zeros(3) for key in ("energy", "edp", "params", "macs", "blocks", "width")}
    metrics |= {"time_ms": np.array([1.0, 1.0, 2.0]), "utilization": np.array([0.9, 0.5, 0.95])}
    hardware = resolve_hardware("array-16x16")
    request = SearchRequest(objectives=("time", "utilization"))
    result = select_front(request, metrics, lambda i: Candidate(hardware, {"index": float(i)}), None)
    assert sorted(c.metrics["index"] for c in result.front) == [0, 2]


def test_resume_continues_from_the_finished_trials(tmp_path: Path) -> None:
    """A resumed search runs only the missing trials (also fewer than one re-read interval), keeps the finished
    ones as they were, and runs none when the storage already holds enough."""
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    space = NetworkSpace(total_blocks=8, max_blocks=5, stem_kernels=(3, 7))
    first = run_search(SearchRequest(network_space=space, sampler="nsga2", trials=12, storage=storage))
    before = _finished(storage)
    assert first.evaluated == len(before) == 12
    missing = RECHECK_EVERY // 2
    request = SearchRequest(network_space=space, sampler="nsga2", trials=12 + missing, storage=storage, resume=True)
    resumed = run_search(request)
    after = _finished(storage)
    assert after[:12] == before and len(after) == 12 + missing == resumed.evaluated
    assert run_search(request).evaluated == 12 + missing and _finished(storage) == after


def test_the_papers_question_finds_designs_that_beat_v5() -> None:
    """At the paper's depth and between v1's and v5's parameters, the front holds designs faster and lower in
    energy than the hand-made v5 on the study's accelerator (the numbers are in docs/search.md)."""
    v1, v5 = (analytic_parameters(create_model(n).plan) for n in ("sqnxt23_w1", "sqnxt23v5_w1"))
    constraints = tuple(Constraint.parse(c) for c in (f"params>={v1}", f"params<={v5}", "macs<=278000000"))
    result = run_search(SearchRequest(constraints=constraints))
    reference = result.references["v5"]
    better = [
        c
        for c in result.front
        if c.metrics["time_ms"] < reference["time_ms"] and c.metrics["energy"] < reference["energy"]
    ]
    assert better
    for point in result.front:
        assert all(c.violation(np.array([point.metrics[c.key]]))[0] == 0 for c in constraints)


def test_cli_writes_front_and_spec_files_that_every_command_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "search"
    argv = [
        "search",
        "--out",
        str(out),
        "--total-blocks",
        "8",
        "--max-blocks",
        "5",
        "--constraint",
        "params<=700000",
        "--json",
    ]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads((out / "front.json").read_text())
    assert printed == written and written["points"]
    for point in written["points"]:
        assert {"name", "spec", "params", "macs", "time_ms", "energy", "hardware"} <= set(point)
        spec_path = out / point["spec"]
        model = create_model(str(spec_path))
        assert count_parameters(model, "paper") == point["params"]
        assert get_spec(str(spec_path)).blocks == tuple(point["blocks_per_stage"])
        cost = total(simulate(analytic_layers(model.plan, 227), resolve_hardware("array-16x16")))
        assert cost.time_s * 1e3 == pytest.approx(point["time_ms"], rel=1e-12)
    spec = str(out / written["points"][0]["spec"])
    assert main(["info", spec]) == 0 and main(["simulate", spec]) == 0
    assert (out / "front.csv").read_text().startswith("name,spec,") and (out / "front.png").exists()
    assert main(argv) == 2, "a second search into the same folder is refused"
    assert "already holds a search" in capsys.readouterr().err


def test_codesign_writes_hardware_files(tmp_path: Path) -> None:
    out = tmp_path / "hw"
    assert main(["search", "--base", "sqnxt23v5_w1", "--space", "hardware", "--out", str(out)]) == 0
    written = json.loads((out / "front.json").read_text())
    for point in written["points"]:
        hardware = resolve_hardware(str(out / point["hardware_file"]))
        assert hardware.pes == 256 and set(hardware.dataflows) == {"ws", "os"}
        cost = total(simulate(analytic_layers(create_model("sqnxt23v5_w1").plan, 227), hardware))
        assert cost.time_s * 1e3 == pytest.approx(point["time_ms"], rel=1e-12)


def test_hardware_space_enumerates_shapes_and_splits() -> None:
    space = HardwareSpace(pe_budget=64, min_side=4)
    assert space.shapes() == [(4, 16), (8, 8), (16, 4)]
    base = resolve_hardware("array-16x16")
    splits = space.split_choices(base)
    assert len(splits) == 36 and all(abs(sum(s) - 1) < 1e-9 and min(s) >= 0.1 - 1e-9 for s in splits)
    assert len(space.configs(base)) == 3 * 36


def _search_command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "squeezenext", "search", "--out", str(out), "--sampler", "nsga2", "--constraint",
            "params<=930016", *extra]  # fmt: skip


def _finished(storage: str) -> list[tuple[int, tuple[float, ...], str]]:
    import optuna

    study = optuna.load_study(study_name="squeezenext-search", storage=storage)
    trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [(t.number, tuple(t.values), json.dumps(t.params, sort_keys=True)) for t in trials]


def test_killed_search_resumes_without_losing_or_repeating_trials(tmp_path: Path) -> None:
    out = tmp_path / "killed"
    storage = f"sqlite:///{out / 'search.db'}"
    process = subprocess.Popen(_search_command(out, "--trials", "100000"), env=env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 120
    before: list[tuple[int, tuple[float, ...], str]] = []
    while time.monotonic() < deadline and len(before) < 25:
        time.sleep(0.5)
        if (out / "search.db").exists():
            try:
                before = _finished(storage)
            except Exception:  # the study is being created
                before = []
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = _finished(storage)
    assert len(before) >= 25
    target = len(before) + 15
    resumed = subprocess.run(_search_command(out, "--trials", str(target), "--resume"), env=env(), capture_output=True,
                             text=True, timeout=300)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    after = _finished(storage)
    assert set(before) <= set(after), "a finished trial was lost"
    assert len(after) == target, "the resumed search ran more or fewer trials than were missing"
    assert len({number for number, _, _ in after}) == len(after)
    assert json.loads((out / "front.json").read_text())["evaluated"] == target


def _workers_share(storage: str, folder: Path) -> None:
    """Three workers on one storage: their trials are the union, none repeated, and the last front covers all."""
    workers = [
        subprocess.Popen(
            _search_command(
                folder / f"worker{i}", "--trials", "60", "--storage", storage, "--resume", "--seed", str(i)
            ),
            env=env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(3)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    trials = _finished(storage)
    numbers = [number for number, _, _ in trials]
    assert len(set(numbers)) == len(numbers) >= 60
    # each worker re-reads the shared count every RECHECK_EVERY trials: three workers that each ran --trials on
    # their own would hold about 180
    assert len(numbers) <= 60 + 3 * RECHECK_EVERY, "the workers did not see each other's trials"
    evaluated = [json.loads((folder / f"worker{i}" / "front.json").read_text())["evaluated"] for i in range(3)]
    assert max(evaluated) == len(trials), "the last worker's front covers every worker's trials"


def test_workers_sharing_one_storage_produce_the_union_of_their_trials(tmp_path: Path) -> None:
    _workers_share(f"sqlite:///{tmp_path / 'shared.db'}", tmp_path)


@pytest.fixture
def postgresql_url() -> Iterator[str]:
    """A throwaway PostgreSQL server (Debian's binaries, run as ``nobody``: PostgreSQL refuses root; its folder
    is outside pytest's root-only temporary tree)."""
    import shutil
    import socket
    import tempfile

    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL's initdb/pg_ctl are not installed")
    pytest.importorskip("psycopg")  # SQLAlchemy 2 maps postgresql:// to psycopg 3
    cluster = Path(tempfile.mkdtemp(prefix="squeezenext-pg-"))
    os.chown(cluster, 65534, 65534)
    as_nobody = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
    subprocess.run([*as_nobody, initdb, "-D", str(cluster / "data"), "-A", "trust", "-U", "search"], check=True,
                   capture_output=True)  # fmt: skip
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    options = f"-p {port} -k {cluster} -h 127.0.0.1"
    subprocess.run([*as_nobody, pg_ctl, "-D", str(cluster / "data"), "-o", options, "-l", str(cluster / "log"), "-w",
                    "start"], check=True, capture_output=True)  # fmt: skip
    try:
        yield f"postgresql://search@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_nobody, pg_ctl, "-D", str(cluster / "data"), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(cluster, ignore_errors=True)


@pytest.mark.slow
def test_workers_sharing_a_postgresql_storage(postgresql_url: str, tmp_path: Path) -> None:
    """The documented multi-machine setup, on a real PostgreSQL server."""
    _workers_share(postgresql_url, tmp_path)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--objective", "speed"], r"unknown objective\(s\) 'speed'"),
        (["--constraint", "params=<5"], r"cannot parse constraint 'params=<5'"),
        (["--constraint", "depth<=5"], r"unknown constraint key 'depth'"),
        (["--constraint", "params<=1e5", "--constraint", "params>=1e6"], r"contradictory constraints"),
        (
            ["--constraint", "params<=1000"],
            r"no design of the 6,840 evaluated meets every constraint .* the closest: blocks",
        ),
        (["--min-blocks", "10"], r"no distribution of 21 blocks over 4 stages"),
        (["--widths", "0.3"], r"the network space holds an invalid network"),
        (
            ["--sampler", "nsga2", "--storage", "postgresql://nobody@127.0.0.1:1/none"],
            r"cannot open the Optuna storage",
        ),
        (["--resume"], r"--storage and --resume need an Optuna sampler"),
        (["--objective", "latency"], r"latency_ms is measured per design .* use --sampler nsga2"),
        (["--objective", "error"], r"error_pct is measured per design .* use --sampler nsga2"),
        (["--sampler", "nsga2", "--rungs", "8000,2000"], r"fidelity rungs must be increasing image counts"),
        (["--sampler", "nsga2", "--rungs", "64,256"], r"of at least 128 \(one batch\)"),
        (
            ["--base", "torchvision:alexnet"],
            r"--space network's --base takes .*; torchvision:alexnet is a torchvision model",
        ),
        (
            ["--space", "hardware", "--base", "torchvision:alexnet", "--constraint", "blocks<=3"],
            r"exist only for SqueezeNext",
        ),
    ],
)
def test_bad_searches_fail_with_one_line_and_write_nothing(argv: list[str], message: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "out"
    assert main(["search", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("squeezenext: error: "), err
    import re

    assert re.search(message, lines[0]), lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_spec_file_with_wrong_fields_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cases = {
        "unknown.yaml": ("blocks: [1, 1, 1, 1]\ndepth: 23\n", r"unknown key\(s\) depth"),
        "missing.yaml": ("width: 1.0\n", r"missing key\(s\) blocks"),
        "three.yaml": ("blocks: [1, 2, 3]\n", r"blocks must be four positive integers"),
        "nan.yaml": ("blocks: [1, 1, 1, 1]\nwidth: .nan\n", r"width multiplier must be a positive number, got nan"),
        "kernel.yaml": ("blocks: [1, 1, 1, 1]\nstem_kernel: three\n", r"stem_kernel must be an integer"),
    }
    import re

    for name, (text, message) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        for argv in (["info", str(path)], ["search", "--base", str(path), "--out", str(tmp_path / "o")]):
            assert main(argv) == 2
            err = capsys.readouterr().err.strip()
            assert re.search(message, err), err


def test_distributions_respect_the_bounds() -> None:
    space = NetworkSpace(total_blocks=10, min_blocks=2, max_blocks=4)
    rows = space.distributions()
    assert len(rows) == len({tuple(r) for r in rows})
    assert all(r.sum() == 10 and r.min() >= 2 and r.max() <= 4 for r in rows)
    expected = [p for p in itertools.product(range(2, 5), repeat=4) if sum(p) == 10]
    assert [tuple(r) for r in rows] == expected
    with pytest.raises(SearchError, match="stem_kernels is empty"):
        NetworkSpace(stem_kernels=())


@pytest.mark.extended
def test_latency_objective_measures_designs_and_references(tmp_path: Path) -> None:
    """CPU latency (onnxruntime fp32, batch 1) is measured per design and for v1..v5 in the same run."""
    out = tmp_path / "latency"
    argv = ["search", "--out", str(out), "--sampler", "nsga2", "--trials", "2", "--objective", "latency,params",
            "--total-blocks", "4", "--max-blocks", "1", "--stem-kernels", "3", "--wiring", "standard",
            "--input-sizes", "64"]  # fmt: skip
    assert main(argv) == 0
    written = json.loads((out / "front.json").read_text())
    assert written["points"] and all(point["latency_ms"] > 0 for point in written["points"])
    assert all(reference["latency_ms"] > 0 for reference in written["references"].values())
    assert "latency_ms" in (out / "front.csv").read_text().splitlines()[0]


def test_accuracy_judge_trains_promising_designs_longer(tmp_path: Path) -> None:
    """Successive halving over the rungs: the designs that lead at a rung go on, the others stop there with the
    error of their last rung; the best design is always trained to the end."""
    calls: list[tuple[str, int]] = []

    def expected(network: str, images: int) -> float:
        quality = int(network.removeprefix("design-"))
        return 50.0 / (1 + quality) + 1000.0 / images  # better designs lower at every rung; more images help

    def fake_error(network: str | SqueezeNextSpec, images: int, seed: int) -> float:
        calls.append((str(network), images))
        return expected(str(network), images)

    judge = AccuracyJudge(f"sqlite:///{tmp_path / 'a.db'}", (128, 512, 2048), seed=0, train_error=fake_error)
    results = {f"design-{q}": judge.error(f"design-{q}") for q in (3, 1, 7, 0, 5, 2, 9, 4, 8, 6)}
    trained = {name: r["trained_images"] for name, r in results.items()}
    assert trained["design-9"] == 2048, "the best design reaches the last rung"
    assert sum(images < 2048 for images in trained.values()) >= 5, "most designs are stopped early"
    for name, result in results.items():
        assert result["error_pct"] == expected(name, int(result["trained_images"]))
        assert [images for network, images in calls if network == name] == [
            r for r in (128, 512, 2048) if r <= result["trained_images"]
        ]  # fmt: skip


@pytest.mark.slow
def test_error_objective_trains_designs_and_references(tmp_path: Path) -> None:
    """The error objective end to end: real short Fashion-MNIST training of every design and of v1..v5."""
    out = tmp_path / "error"
    argv = ["search", "--out", str(out), "--sampler", "nsga2", "--trials", "3", "--objective", "error,params",
            "--rungs", "256,1024", "--total-blocks", "4", "--max-blocks", "1", "--stem-kernels", "3,5",
            "--wiring", "standard", "--input-sizes", "64"]  # fmt: skip
    assert main(argv) == 0
    written = json.loads((out / "front.json").read_text())
    assert written["points"] and all(0 <= point["error_pct"] <= 100 for point in written["points"])
    assert all(point["trained_images"] in (256, 1024) for point in written["points"])
    assert all(reference["trained_images"] == 1024 for reference in written["references"].values())
    assert "error_pct" in (out / "front.csv").read_text().splitlines()[0]
