"""Cycles and buffer counts equal SCALE-Sim 3.0.0's on the layers it was run on.

The reference data was produced by ``benchmarks/scalesim_reference.py`` with the real SCALE-Sim
(regenerate: see docs/accelerator.md); this test needs no SCALE-Sim.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from squeezenext.accel.cost import simulate, total
from squeezenext.accel.hardware import HardwareConfig
from squeezenext.accel.topology import CSV_COLUMNS, read_scalesim_csv

REFERENCE = json.loads((Path(__file__).parent / "data" / "scalesim_reference.json").read_text())
RUNS = REFERENCE["runs"]


def _id(run: dict[str, Any]) -> str:
    return f"{run['layer']['name']}-{run['rows']}x{run['cols']}-{run['dataflow']}"


def test_reference_covers_every_dataflow_and_rectangular_arrays() -> None:
    assert REFERENCE["scalesim_version"] == "3.0.0"
    assert {r["dataflow"] for r in RUNS} == {"ws", "os", "is"}
    assert any(r["rows"] != r["cols"] for r in RUNS)
    assert any("DP" in r["layer"]["name"] for r in RUNS)
    assert all(r["stall_cycles"] == 0 for r in RUNS)


@pytest.mark.parametrize("run", RUNS, ids=_id)
def test_matches_scalesim(run: dict[str, Any], tmp_path: Path) -> None:
    layer = run["layer"]
    keys = ("name", "ifmap_h", "ifmap_w", "filter_h", "filter_w", "channels", "filters", "stride")
    topology = tmp_path / "topology.csv"
    topology.write_text(", ".join(CSV_COLUMNS) + ",\n" + ", ".join(str(layer[k]) for k in keys) + ",\n")
    config = HardwareConfig(
        rows=run["rows"],
        cols=run["cols"],
        timing="systolic",
        mapping="gemm",
        word_bits=8,
        gb_kib=3 * REFERENCE["sram_kb"],
        gb_split=(1 / 3, 1 / 3, 1 / 3),
        dram_bandwidth=1e9,
    )
    cost = total(simulate(read_scalesim_csv(topology), config, run["dataflow"]))
    assert cost.stall_cycles == 0
    assert cost.cycles == run["total_cycles"]
    assert cost.gb_ifmap_reads == run["sram_ifmap_reads"]
    assert cost.gb_filter_reads == run["sram_filter_reads"]
    assert cost.gb_ofmap_writes == run["sram_ofmap_writes"]
