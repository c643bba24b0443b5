"""The peers' recorded workloads (``src/squeezenext/recorded_workloads.json``, :mod:`squeezenext.recorded`),
traced now: ``make docs`` rewrites the file and ``--check`` fails when a trace differs from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docgen.committed import ROOT
from squeezenext.peers import PEERS
from squeezenext.recorded import RECORD_FILE, RECORDED_SIZES
from squeezenext.sources import parse_network


def record_text() -> str:
    """The record as its file holds it, traced now (needs PyTorch)."""
    record: dict[str, dict[str, Any]] = {}
    for argument in sorted(PEERS.values()):
        record[argument] = {}
        for size in RECORDED_SIZES:
            workload = parse_network(argument).workload(size)
            record[argument][str(size)] = {
                "params": workload.params,
                "params_numel": workload.params_numel,
                "layers": [layer.to_json() for layer in workload.layers],
            }
    return json.dumps(record, indent=None, separators=(",", ":")) + "\n"


def recorded_files() -> dict[Path, str]:
    """The record's file and its text."""
    return {ROOT / "src" / "squeezenext" / RECORD_FILE: record_text()}
