"""``squeezenext simulate`` and ``squeezenext study``."""

import csv
import json
from pathlib import Path

import pytest

from squeezenext.accel.cost import simulate, total
from squeezenext.accel.hardware import resolve_hardware
from squeezenext.accel.study import run_study
from squeezenext.cli import main
from squeezenext.sources import load_workload

LAYER_KEYS = {"name", "dataflow", "cycles", "stall_cycles", "utilization", "energy", "macs"}


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, object]:
    assert main(argv) == 0
    payload = json.loads(capsys.readouterr().out)
    assert isinstance(payload, dict)
    return payload


def test_simulate_json(capsys: pytest.CaptureFixture[str]) -> None:
    payload = _json(capsys, ["simulate", "1.0-SqNxt-23", "--json"])
    layers, total = payload["layers"], payload["total"]
    assert isinstance(layers, list) and isinstance(total, dict)
    assert all(set(layer) >= LAYER_KEYS for layer in layers)
    assert total["macs"] == 277_999_808
    assert total["cycles"] == sum(layer["cycles"] for layer in layers)
    assert total["energy"] == pytest.approx(sum(layer["energy"] for layer in layers))
    assert payload["policy"] == "time"


def test_simulate_options_change_the_hardware(capsys: pytest.CaptureFixture[str]) -> None:
    payload = _json(
        capsys,
        [
            "simulate",
            "sqnxt23v5_w1",
            "--rows",
            "8",
            "--cols",
            "4",
            "--timing",
            "systolic",
            "--dataflow",
            "os",
            "--json",
        ],
    )
    hardware = payload["hardware"]
    assert isinstance(hardware, dict)
    assert (hardware["rows"], hardware["cols"], hardware["timing"]) == (8, 4, "systolic")
    layers = payload["layers"]
    assert isinstance(layers, list)
    assert {layer["dataflow"] for layer in layers} == {"os"}


def test_simulate_writes_csv_plot_and_topology(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "simulate",
        "torchvision:squeezenet1_1",
        "--hardware",
        "eyeriss-16x16",
        "--input-size",
        "224",
        "--csv",
        str(tmp_path / "layers.csv"),
        "--plot",
        str(tmp_path / "layers.png"),
        "--write-topology",
        str(tmp_path / "topology.csv"),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "TOTAL" in out and "eyeriss-16x16" in out
    rows = list(csv.DictReader((tmp_path / "layers.csv").open()))
    assert len(rows) == 26 and rows[0]["name"] == "features.0"
    assert (tmp_path / "layers.png").read_bytes()[:4] == b"\x89PNG"
    payload = _json(capsys, ["simulate", str(tmp_path / "topology.csv"), "--hardware", "eyeriss-16x16", "--json"])
    total = payload["total"]
    assert isinstance(total, dict)
    assert total["macs"] == sum(int(r["macs"]) for r in rows)


def test_simulate_with_a_yaml_hardware_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hw.yaml"
    path.write_text("name: mine\nrows: 4\ncols: 4\nenergy: {dram: 100, unit: pJ}\n")
    payload = _json(capsys, ["simulate", "sqnxt23_w1", "--hardware", str(path), "--json"])
    assert payload["energy_unit"] == "pJ"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["simulate", "sqnxt23_w1", "--hardware", "tpu"], "unknown hardware preset 'tpu'"),
        (["simulate", "missing.csv"], "does not exist"),
        (["simulate", "sqnxt23_w1", "--rows", "0"], "expected an integer >= 1, got 0"),
        (["simulate", "nonet"], "unknown model 'nonet'"),
    ],
)
def test_simulate_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_study_writes_report_plots_and_results(tmp_path: Path) -> None:
    run_study(tmp_path)
    report = (tmp_path / "REPORT.md").read_text()
    assert "this model's results" in report
    assert "UNVERIFIED" in report
    for name in (
        "networks.png",
        "variants_8x8.png",
        "variants_16x16.png",
        "variants_32x32.png",
        "layers_sqnxt23_w1.png",
    ):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    written = json.loads((tmp_path / "results.json").read_text())
    ratios = written["paper_ratios"]
    assert set(ratios) == {f"{s}x{s}/{p}" for s in (8, 16, 32) for p in ("SqueezeNet 1.0", "AlexNet")}
    # recomputed here, independently of the study's own code path
    hardware = resolve_hardware("array-16x16")
    v5, squeezenet = (
        total(simulate(load_workload(name, input_size=227).layers, hardware, "time"))
        for name in ("sqnxt23v5_w1", "torchvision:squeezenet1_0")
    )
    assert written["networks"]["1.0-SqNxt-23v5"]["cycles"] == v5.cycles
    assert written["networks"]["SqueezeNet 1.0"]["energy"] == pytest.approx(squeezenet.energy)
    speedup, energy_ratio = squeezenet.time_s / v5.time_s, squeezenet.energy / v5.energy
    assert ratios["16x16/SqueezeNet 1.0"] == pytest.approx({"speedup": speedup, "energy_ratio": energy_ratio})
    row = next(line for line in report.splitlines() if line.startswith("| 16x16 | SqueezeNet 1.0 |"))
    assert f"| {speedup:.2f}x |" in row and f"| {energy_ratio:.2f}x |" in row
    committed = Path(__file__).resolve().parents[1] / "docs" / "study" / "REPORT.md"
    assert report == committed.read_text(), "docs/study is stale: run `make docs`"
