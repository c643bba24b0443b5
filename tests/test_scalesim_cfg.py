"""SCALE-Sim's own ``.cfg`` hardware files (squeezenext.accel.scalesim_cfg), read wherever a hardware file is
accepted and written back for search's hardware designs."""

import json
from pathlib import Path
from typing import Any

import pytest

from squeezenext.accel.cost import simulate, total
from squeezenext.accel.hardware import load_hardware, resolve_hardware
from squeezenext.accel.scalesim_cfg import UNLIMITED_BANDWIDTH, read_cfg_fields, write_cfg
from squeezenext.accel.topology import CSV_COLUMNS, read_scalesim_csv
from squeezenext.cli import main

DATA = Path(__file__).parent / "data"
SHIPPED = sorted((DATA / "scalesim").glob("*.cfg"))
REFERENCE = json.loads((DATA / "scalesim_reference.json").read_text())


def test_scalesims_own_config_files_are_hardware_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(SHIPPED) == 5
    scale = resolve_hardware(str(DATA / "scalesim" / "scale.cfg"))
    assert (scale.name, scale.rows, scale.cols, scale.dataflows, scale.gb_kib) == (
        "scale_example_run_32x32_ws", 32, 32, ("ws",), 192.0,
    )  # fmt: skip
    assert (scale.timing, scale.mapping, scale.word_bits) == ("systolic", "gemm", 8)
    assert scale.dram_bandwidth == UNLIMITED_BANDWIDTH, "InterfaceBandwidth: CALC never stalls"
    google = load_hardware(DATA / "scalesim" / "google.cfg")
    _, ignored = read_cfg_fields(DATA / "scalesim" / "google.cfg")
    assert (google.rows, google.dataflows, google.dram_bandwidth) == (256, ("os",), 10.0), "USER: Bandwidth"
    assert google.gb_split == pytest.approx((6144 / 14336, 6144 / 14336, 2048 / 14336))
    assert "IfmapOffset" in ignored and "[sparsity] SparseRep" in ignored and "Dataflow" not in ignored
    notes = capsys.readouterr().err
    for path in SHIPPED:
        assert main(["simulate", "sqnxt23_w1", "--hardware", str(path), "--json"]) == 0
        notes += capsys.readouterr().err
    for path in SHIPPED:  # one note per file and process, however often a command resolves it
        assert notes.count(f"note: {path}: not modelled, so not used: ") == 1, notes


def _cfg(tmp_path: Path, run: dict[str, Any]) -> Path:
    size = REFERENCE["sram_kb"]
    path = tmp_path / "reference.cfg"
    path.write_text(
        "[general]\nrun_name = reference\n[architecture_presets]\n"
        f"ArrayHeight: {run['rows']}\nArrayWidth: {run['cols']}\nIfmapSramSzkB: {size}\nFilterSramSzkB: {size}\n"
        f"OfmapSramSzkB: {size}\nBandwidth: 10\nDataflow: {run['dataflow']}\n[run_presets]\nInterfaceBandwidth: CALC\n"
    )
    return path


@pytest.mark.parametrize(
    "run", REFERENCE["runs"][::7], ids=lambda r: f"{r['layer']['name']}-{r['rows']}x{r['cols']}-{r['dataflow']}"
)
def test_a_cfg_in_scalesims_reference_setting_gives_scalesims_cycles(run: dict[str, Any], tmp_path: Path) -> None:
    """The reference runs were real SCALE-Sim 3.0.0 runs (benchmarks/scalesim_reference.py); the same setting
    written as a .cfg gives their cycles and buffer counts exactly."""
    layer = run["layer"]
    keys = ("name", "ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "filters", "stride")
    topology = tmp_path / "topology.csv"
    topology.write_text(", ".join(CSV_COLUMNS) + ",\n" + ", ".join(str(layer[k]) for k in keys) + ",\n")
    config = load_hardware(_cfg(tmp_path, run))
    cost = total(simulate(read_scalesim_csv(topology), config))
    assert (cost.cycles, cost.gb_ifmap_reads, cost.gb_filter_reads, cost.gb_ofmap_writes) == (
        run["total_cycles"], run["sram_ifmap_reads"], run["sram_filter_reads"], run["sram_ofmap_writes"],
    )  # fmt: skip


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_a_cfg_written_back_reads_as_the_same_hardware(path: Path, tmp_path: Path) -> None:
    config = load_hardware(path)
    assert write_cfg(config, tmp_path / "back.cfg") == [], "SCALE-Sim's own hardware is representable"
    again = load_hardware(tmp_path / "back.cfg")
    _assert_same(again.to_dict(), config.to_dict())


def _assert_same(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == (pytest.approx(b[key]) if key == "gb_split" else b[key]), key


def test_search_writes_each_hardware_design_as_a_cfg_too(tmp_path: Path) -> None:
    """A hardware design from search --space hardware runs in SCALE-Sim: hardware/front-NNN.cfg beside the YAML;
    what SCALE-Sim cannot represent of a non-SCALE-Sim base is written as comments at its top."""
    out = tmp_path / "s"
    argv = ["search", "--space", "hardware", "--base", "sqnxt23_w1", "--pe-budget", "64", "--fixed-split",
            "--objective", "time", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    front = json.loads((out / "front.json").read_text())["points"]
    for point in front:
        cfg = (out / point["hardware_file"]).with_suffix(".cfg")
        config = load_hardware(cfg)
        assert (config.rows, config.cols) == (point["hardware"]["rows"], point["hardware"]["cols"])
        assert "# not representable in SCALE-Sim: timing broadcast and mapping spatial" in cfg.read_text()


CONFIG_RUNS = json.loads((DATA / "scalesim_configs.json").read_text())
"""SCALE-Sim 3.0.0 run with its own shipped configs on its own AlexNet topology
(``benchmarks/scalesim_reference.py --configs``)."""


@pytest.mark.parametrize("run", [r for r in CONFIG_RUNS["runs"] if "layers" in r], ids=lambda r: r["config"])
def test_scalesims_own_configs_give_scalesims_cycles(run: dict[str, Any]) -> None:
    """Read as hardware files, unchanged, SCALE-Sim's configs give SCALE-Sim's compute cycles on every layer,
    and its total cycles wherever neither stalls (docs/accelerator.md: stalls come from different memory models)."""
    hardware = load_hardware(DATA / "scalesim" / run["config"])
    costs = simulate(read_scalesim_csv(DATA / "scalesim" / run["topology"]), hardware, hardware.dataflows[0])
    assert [c.compute_cycles for c in costs] == [x["total_cycles"] - x["stall_cycles"] for x in run["layers"]]
    for cost, layer in zip(costs, run["layers"], strict=True):
        if layer["stall_cycles"] == 0 and cost.stall_cycles == 0:
            assert cost.cycles == layer["total_cycles"]


def test_the_configs_scalesim_itself_refuses_are_recorded_with_what_was_added() -> None:
    """SCALE-Sim 3.0.0 refuses three of its own shipped configs as shipped (missing [layout] or [sparsity]
    sections, request-buffer and Ramulator keys); it ran them completed with its scale.cfg's values for those keys,
    none of which the array's computation depends on, and the record says so. One of them, rebuttal_test_is.cfg,
    asks for a custom ifmap layout, which needs a layout file written for the topology: SCALE-Sim fails inside the
    run without one, so it has no cycles to compare. We read every file as it is."""
    assert CONFIG_RUNS["scalesim_version"] == "3.0.0" and len(CONFIG_RUNS["runs"]) == 5
    refused = {r["config"]: r["completed_with"] for r in CONFIG_RUNS["runs"] if "scalesim_error" in r}
    assert set(refused) == {"eyeriss.cfg", "rebuttal_test_is.cfg", "tpuv5e_downscale.cfg"}
    assert all(refused.values())
    not_run = [r["config"] for r in CONFIG_RUNS["runs"] if "not_run" in r]
    assert not_run == ["rebuttal_test_is.cfg", "tpuv5e_downscale.cfg"]
    assert [r["config"] for r in CONFIG_RUNS["runs"] if "layers" in r] == ["eyeriss.cfg", "google.cfg", "scale.cfg"]
