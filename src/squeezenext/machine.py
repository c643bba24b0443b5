"""What machine a measurement ran on: the CPU model and the vector and matrix extensions that decide speed.

Every timing and every trained result this project commits records it, since these machines change
between sessions (AMD EPYC with AVX2, Intel Xeon with AVX-512, VNNI and AMX).
"""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
EXTENSIONS = {
    "avx2": "AVX2",
    "fma": "FMA",
    "avx512f": "AVX-512",
    "avx512_vnni": "AVX-512 VNNI",
    "avx_vnni": "AVX-VNNI",
    "avx512_bf16": "AVX-512 BF16",
    "amx_tile": "AMX",
    "amx_bf16": "AMX-BF16",
    "amx_int8": "AMX-INT8",
}
"""/proc/cpuinfo flags worth reporting, with their usual names."""


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what the platform module knows."""
    for line in _cpuinfo_lines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or platform.machine()


@functools.cache
def cpu_extensions() -> list[str]:
    """The reported extensions (:data:`EXTENSIONS`) this CPU has, in that order."""
    flags: set[str] = set()
    for line in _cpuinfo_lines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            break
    return [name for flag, name in EXTENSIONS.items() if flag in flags]


def machine_summary() -> dict[str, object]:
    """CPU model, extensions, logical CPUs and the platform string."""
    return {
        "cpu": cpu_model(),
        "cpu_extensions": cpu_extensions(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }


def _cpuinfo_lines() -> list[str]:
    try:
        return CPUINFO.read_text().splitlines()
    except OSError:
        return []
