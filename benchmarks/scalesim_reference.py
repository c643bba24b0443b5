"""Run the real SCALE-Sim 3.0.0 on reference layers and store what it reports as test data.

SCALE-Sim has conflicting pins, so it lives in its own venv (see docs/accelerator.md):

    python3 -m venv /tmp/scalesim-venv
    /tmp/scalesim-venv/bin/pip install scalesim==3.0.0 "numpy<2" "pandas<2.3" "numba<0.61" "llvmlite<0.44"
    /tmp/scalesim-venv/bin/python benchmarks/scalesim_reference.py --out tests/data/scalesim_reference.json
    /tmp/scalesim-venv/bin/python benchmarks/scalesim_reference.py --stalls --out tests/data/scalesim_stalls.json

This script imports nothing from squeezenext: it only describes layers in SCALE-Sim's own topology
format (padded input size, filter size, channels, filters, stride) and records SCALE-Sim's "Total
Cycles", "Stall Cycles", SRAM read/write counts, DRAM access counts and its wall time per run. By default
it runs every (array, dataflow) pair with buffers far larger than any layer and the bandwidth SCALE-Sim
computes as sufficient (so nothing stalls); ``--stalls`` runs small buffers at user-set DRAM bandwidths
(``InterfaceBandwidth: USER``), where SCALE-Sim's double-buffered memory model stalls the array.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

# name, ifmap_h (padded), ifmap_w (padded), filter_h, filter_w, channels, filters, stride
LAYERS: list[tuple[str, int, int, int, int, int, int, int]] = [
    ("conv3x3", 10, 10, 3, 3, 5, 6, 1),
    ("pw_14", 14, 14, 1, 1, 16, 32, 1),
    ("pw_s2", 15, 15, 1, 1, 8, 16, 2),
    ("sep3x1", 9, 7, 3, 1, 8, 16, 1),
    ("sep1x3", 7, 9, 1, 3, 16, 16, 1),
    ("stem7x7", 23, 23, 7, 7, 3, 16, 2),
    ("stem5x5", 21, 21, 5, 5, 3, 8, 2),
    ("fc", 1, 1, 1, 1, 128, 10, 1),
    ("pw_28", 28, 28, 1, 1, 64, 32, 1),
    ("deep3x3", 6, 6, 3, 3, 40, 3, 1),
    ("dw3x3_DP", 9, 9, 3, 3, 8, 1, 1),
]
ARRAYS: list[tuple[int, int]] = [(8, 8), (4, 8), (8, 4), (16, 16), (32, 32), (3, 5)]
DATAFLOWS = ("os", "ws", "is")
HUGE_SRAM_KB = 65536
STALL_LAYERS = ("conv3x3", "pw_28", "stem7x7", "deep3x3", "fc")
STALL_ARRAYS: list[tuple[int, int]] = [(8, 8), (16, 16)]
STALL_SRAM_KB = (1, 4)
"""Each of the three buffers (ifmap, filter, ofmap)."""
STALL_BANDWIDTHS = (1, 4, 16)
"""Words per cycle between DRAM and the buffers (one word is one byte here)."""
STALL_DATAFLOWS = ("ws", "os")
"""The Squeezelerator's two (SCALE-Sim simulates its memory cycle by cycle in Python: a stalling IS run of
pw_28 takes minutes)."""

CONFIG = """[general]
run_name = ref

[architecture_presets]
ArrayHeight: {rows}
ArrayWidth: {cols}
IfmapSramSzkB: {sram}
FilterSramSzkB: {sram}
OfmapSramSzkB: {sram}
IfmapOffset: 0
FilterOffset: 10000000
OfmapOffset: 20000000
Bandwidth: {bandwidth}
Dataflow: {dataflow}
MemoryBanks: 1
ReadRequestBuffer: 512
WriteRequestBuffer: 512

[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 1
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 1
FilterSRAMBankPort: 2

[sparsity]
SparsitySupport: false
SparseRep: ellpack_block
OptimizedMapping: false
BlockSize: 8
RandomNumberGeneratorSeed: 40

[run_presets]
InterfaceBandwidth: {interface}
UseRamulatorTrace: False
"""


def _read_report(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        rows = list(csv.reader(handle))
    header = [h.strip() for h in rows[0] if h.strip()]
    return [dict(zip(header, [c.strip() for c in row], strict=False)) for row in rows[1:] if row]


def _total(rows: list[dict[str, str]], column: str) -> int:
    return sum(int(float(row[column])) for row in rows)


def run_one(
    layer: tuple[str, int, int, int, int, int, int, int],
    rows: int,
    cols: int,
    dataflow: str,
    sram_kb: int = HUGE_SRAM_KB,
    bandwidth: int | None = None,
) -> dict[str, Any]:
    """One SCALE-Sim run; ``bandwidth`` None lets SCALE-Sim compute a sufficient one (``CALC``)."""
    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        interface = "CALC" if bandwidth is None else "USER"
        config = CONFIG.format(
            rows=rows, cols=cols, sram=sram_kb, dataflow=dataflow, bandwidth=bandwidth or 10, interface=interface
        )
        (work / "ref.cfg").write_text(config)
        header = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        line = ", ".join(str(v) for v in layer) + ",\n"
        (work / "topo.csv").write_text(header + line)
        (work / "layout.csv").write_text("Layer name, a, b, c, d, e, f, g,\n" + layer[0] + ", 1, 1, 1, 1, 1, 1, 1,\n")
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(
                save_disk_space=True,
                verbose=False,
                config=str(work / "ref.cfg"),
                topology=str(work / "topo.csv"),
                layout=str(work / "layout.csv"),
            )
            sim.run_scale(top_path=str(work / "out"))
        seconds = time.perf_counter() - start
        # a depthwise ("DP") row runs as one SCALE-Sim layer per channel: add them up
        compute = _read_report(work / "out" / "ref" / "COMPUTE_REPORT.csv")
        detail = _read_report(work / "out" / "ref" / "DETAILED_ACCESS_REPORT.csv")
    name, ifmap_h, ifmap_w, filter_h, filter_w, channels, filters, stride = layer
    return {
        "layer": {
            "name": name,
            "ifmap_h": ifmap_h,
            "ifmap_w": ifmap_w,
            "filter_h": filter_h,
            "filter_w": filter_w,
            "channels": channels,
            "filters": filters,
            "stride": stride,
        },
        "rows": rows,
        "cols": cols,
        "dataflow": dataflow,
        "sram_kb": sram_kb,
        "bandwidth": bandwidth,
        "scalesim_layers": len(compute),
        "total_cycles": _total(compute, "Total Cycles"),
        "stall_cycles": _total(compute, "Stall Cycles"),
        "sram_ifmap_reads": _total(detail, "SRAM IFMAP Reads"),
        "sram_filter_reads": _total(detail, "SRAM Filter Reads"),
        "sram_ofmap_writes": _total(detail, "SRAM OFMAP Writes"),
        "dram_ifmap_reads": _total(detail, "DRAM IFMAP Reads"),
        "dram_filter_reads": _total(detail, "DRAM Filter Reads"),
        "dram_ofmap_writes": _total(detail, "DRAM OFMAP Writes"),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stalls", action="store_true", help="small buffers, user-set bandwidths")
    args = parser.parse_args()
    from importlib.metadata import version

    results = []
    settings: list[tuple[tuple[int, int], str, int, int | None]]
    if args.stalls:
        layers = [layer for layer in LAYERS if layer[0] in STALL_LAYERS]
        settings = [
            (a, d, k, b) for a in STALL_ARRAYS for d in STALL_DATAFLOWS for k in STALL_SRAM_KB for b in STALL_BANDWIDTHS
        ]
    else:
        layers, settings = LAYERS, [(a, d, HUGE_SRAM_KB, None) for a in ARRAYS for d in DATAFLOWS]
    for (rows, cols), dataflow, sram_kb, bandwidth in settings:
        for layer in layers:
            result = run_one(layer, rows, cols, dataflow, sram_kb, bandwidth)
            results.append(result)
            print(
                f"{layer[0]:10s} {rows}x{cols} {dataflow} {sram_kb} KB bw {bandwidth}: "
                f"{result['total_cycles']} cycles, {result['stall_cycles']} stalls"
            )
    payload: dict[str, Any] = {"scalesim_version": version("scalesim"), "runs": results}
    if not args.stalls:
        payload["sram_kb"] = HUGE_SRAM_KB
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
