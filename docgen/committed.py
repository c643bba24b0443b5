"""The committed results the documents are rendered from, read in one place."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from squeezenext.machine import cpu_kind, cpu_label

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
BENCH = ROOT / "docs" / "bench"


def relative(path: Path) -> str:
    """``path`` as the docs name it: relative to the repository root, with forward slashes."""
    return path.relative_to(ROOT).as_posix()


def read(path: Path) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(path.read_text())
    return payload


def result(name: str) -> dict[str, Any]:
    """``docs/results/NAME``."""
    return read(RESULTS / name)


def per_kind(pattern: str, folder: Path = RESULTS) -> list[Path]:
    """The committed files of one measurement, one per CPU kind (or GPU), sorted by name."""
    return sorted(folder.glob(pattern))


def machine_cpu(machine: dict[str, Any]) -> str:
    """A result's CPU with its extensions, e.g. ``AMD EPYC (AVX2, FMA)``."""
    return cpu_label(machine["cpu"], machine.get("cpu_extensions") or [])


def machine_kind(machine: dict[str, Any]) -> str:
    """A result's CPU kind (``amd-avx2``, ``intel-amx``, ...), as file names carry it."""
    return cpu_kind(machine["cpu"], machine.get("cpu_extensions") or [])
