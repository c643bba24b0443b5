"""Run the real SCALE-Sim 3.0.0 on reference layers and store what it reports as test data.

SCALE-Sim has conflicting pins, so it lives in its own venv (see docs/accelerator.md):

    python3 -m venv /tmp/scalesim-venv
    /tmp/scalesim-venv/bin/pip install scalesim==3.0.0 "numpy<2" "pandas<2.3" "numba<0.61" "llvmlite<0.44"
    /tmp/scalesim-venv/bin/python benchmarks/scalesim_reference.py --out tests/data/scalesim_reference.json
    /tmp/scalesim-venv/bin/python benchmarks/scalesim_reference.py --stalls --out tests/data/scalesim_stalls.json
    /tmp/scalesim-venv/bin/python benchmarks/scalesim_reference.py --configs tests/data/scalesim \
        --topology tests/data/scalesim/alexnet.csv --out tests/data/scalesim_configs.json

This script imports nothing from squeezenext: it only describes layers in SCALE-Sim's own topology
format (padded input size, filter size, channels, filters, stride) and records SCALE-Sim's "Total
Cycles", "Stall Cycles", SRAM read/write counts, DRAM access counts and its wall time per run. By default
it runs every (array, dataflow) pair with buffers far larger than any layer and the bandwidth SCALE-Sim
computes as sufficient (so nothing stalls); ``--stalls`` runs small buffers at user-set DRAM bandwidths
(``InterfaceBandwidth: USER``), where SCALE-Sim's double-buffered memory model stalls the array. ``--configs``
runs SCALE-Sim's own shipped ``.cfg`` files, unchanged, on one of its own topologies, and records each layer's
cycles (tests/test_scalesim_cfg.py reads the same files as hardware and compares).
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


DEFAULTS = {
    ("architecture_presets", "memorybanks"): "MemoryBanks: 1",
    ("architecture_presets", "readrequestbuffer"): "ReadRequestBuffer: 32",
    ("architecture_presets", "writerequestbuffer"): "WriteRequestBuffer: 32",
    ("run_presets", "useramulatortrace"): "UseRamulatorTrace: False",
}
"""Keys SCALE-Sim 3.0.0 requires that some of its own shipped configs lack, with the values of its ``scale.cfg``
(none changes what the array computes)."""
LAYOUT_DEFAULT = """[layout]
IfmapCustomLayout: False
IfmapSRAMBankBandwidth: 10
IfmapSRAMBankNum: 10
IfmapSRAMBankPort: 2
FilterCustomLayout: False
FilterSRAMBankBandwidth: 10
FilterSRAMBankNum: 10
FilterSRAMBankPort: 2
"""
"""``scale.cfg``'s ``[layout]`` (no custom layout), for a config without the section."""
SPARSITY_DEFAULT = """[sparsity]
SparsitySupport : false
SparseRep : ellpack_block
OptimizedMapping : false
BlockSize : 8
RandomNumberGeneratorSeed : 40
"""
"""``scale.cfg``'s ``[sparsity]`` (dense), for a config without the section."""
SECTION_DEFAULTS = {"layout": LAYOUT_DEFAULT, "sparsity": SPARSITY_DEFAULT}


def run_config(config: Path, topology: Path) -> dict[str, Any]:
    """SCALE-Sim with one of its own config files on a topology: each layer's cycles. A config SCALE-Sim 3.0.0
    refuses for a missing key or section is completed from :data:`DEFAULTS` and :data:`SECTION_DEFAULTS`, one at a
    time, and run again; its first error and what was added are recorded."""
    import configparser

    text, added, first_error = config.read_text(), list[str](), None
    for _ in range(len(DEFAULTS) + len(SECTION_DEFAULTS)):
        try:
            result = _run_config(text, topology)
        except configparser.NoSectionError as error:
            if error.section not in SECTION_DEFAULTS:
                raise
            text, addition = text + "\n" + SECTION_DEFAULTS[error.section], f"[{error.section}] (scale.cfg's)"
            refusal = f"{type(error).__name__}: {error}"
        except configparser.NoOptionError as error:
            line = DEFAULTS[(error.section, error.option.lower())]
            text, addition = text.replace(f"[{error.section}]", f"[{error.section}]\n{line}", 1), line
            refusal = f"{type(error).__name__}: {error}"
        except Exception as error:  # SCALE-Sim fails inside the run (a custom layout needs its own layout file)
            failure = f"{type(error).__name__}: {error}"
            return {"config": config.name, "topology": topology.name, "scalesim_error": first_error or failure,
                    "completed_with": added, "not_run": failure}  # fmt: skip
        else:
            record = {"config": config.name, "topology": topology.name, **result}
            return {**record, "scalesim_error": first_error, "completed_with": added} if added else record
        first_error = first_error or refusal
        added.append(addition)
    raise RuntimeError(f"{config}: still refused after adding {added}")


def _run_config(config_text: str, topology: Path) -> dict[str, Any]:
    from scalesim.scale_sim import scalesim

    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "run.cfg"
        config.write_text(config_text)
        names = [row.split(",")[0].strip() for row in topology.read_text().splitlines()[1:] if row.strip()]
        layout = Path(tmp) / "layout.csv"  # read by SCALE-Sim, used only with custom layouts (off in its configs)
        layout.write_text("Layer name, a, b, c, d, e, f, g,\n" + "".join(f"{n}, 1, 1, 1, 1, 1, 1, 1,\n" for n in names))
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            sim = scalesim(
                save_disk_space=True, verbose=False, config=str(config), topology=str(topology), layout=str(layout)
            )
            sim.run_scale(top_path=str(Path(tmp) / "out"))
        seconds = time.perf_counter() - start
        (report,) = (Path(tmp) / "out").glob("*/COMPUTE_REPORT.csv")
        compute = _read_report(report)
    layers = [
        {"total_cycles": int(float(row["Total Cycles"])), "stall_cycles": int(float(row["Stall Cycles"]))}
        for row in compute
    ]
    return {"layers": layers, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stalls", action="store_true", help="small buffers, user-set bandwidths")
    parser.add_argument("--configs", type=Path, help="a folder of SCALE-Sim .cfg files, each run on --topology")
    parser.add_argument("--topology", type=Path, help="a SCALE-Sim topology CSV (with --configs)")
    args = parser.parse_args()
    from importlib.metadata import version

    if args.configs is not None:
        if args.topology is None:
            parser.error("--configs needs --topology")
        runs = []
        for config in sorted(args.configs.glob("*.cfg")):
            runs.append(run_config(config, args.topology))
            _write(args.out, {"scalesim_version": version("scalesim"), "runs": runs})  # kept as it grows
            run = runs[-1]
            outcome = f"{sum(x['total_cycles'] for x in run['layers'])} cycles" if "layers" in run else run["not_run"]
            print(f"{config.name}: {outcome}; completed with {run.get('completed_with', [])}", flush=True)
        _write(args.out, {"scalesim_version": version("scalesim"), "runs": runs})
        return
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
    _write(args.out, payload)


def _write(out: Path, payload: dict[str, Any]) -> None:
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1) + "\n")
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
