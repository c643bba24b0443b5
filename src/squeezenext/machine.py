"""What machine a measurement ran on: the CPU model and the vector and matrix extensions that decide speed.

Every timing and every trained result this project commits records it, since these machines change
between sessions (AMD EPYC with AVX2, Intel Xeon with AVX-512, VNNI and AMX).
"""

from __future__ import annotations

import functools
import os
import platform
import re
from collections.abc import Sequence
from pathlib import Path

from squeezenext.errors import OutputError, SqueezeNextError

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
NATIVE_BF16 = frozenset({"AVX-512 BF16", "AMX-BF16"})
"""Extensions with which a CPU computes bf16 itself (without them bf16 is emulated, several times slower)."""


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


def cpu_label(cpu: str | None = None, extensions: Sequence[str] | None = None) -> str:
    """A CPU model with its extensions, e.g. ``AMD EPYC (AVX2, FMA)`` (this machine's by default)."""
    cpu = cpu_model() if cpu is None else cpu
    extensions = cpu_extensions() if extensions is None else extensions
    return f"{cpu} ({', '.join(extensions)})" if extensions else cpu


def native_bf16(extensions: Sequence[str] | None = None) -> bool:
    """Whether a CPU with ``extensions`` (this one's by default) computes bf16 natively (:data:`NATIVE_BF16`)."""
    return bool(NATIVE_BF16 & set(cpu_extensions() if extensions is None else extensions))


def default_threads() -> int:
    """Inference threads when none are given: the cores this process may run on (its CPU affinity, which a
    container or ``taskset`` narrows)."""
    return len(os.sched_getaffinity(0))


def cpu_kind(cpu: str | None = None, extensions: Sequence[str] | None = None) -> str:
    """A short name for a kind of CPU (this machine's by default), the vendor and its widest matrix or vector
    unit: ``intel-amx``, ``intel-avx512``, ``amd-avx2``, ... (results of machines of one kind are comparable)."""
    model = (cpu_model() if cpu is None else cpu).lower()
    extensions = cpu_extensions() if extensions is None else extensions
    vendor = next((name for name in ("intel", "amd", "arm", "apple") if name in model), platform.machine().lower())
    unit = next(
        (label for name, label in (("AMX", "amx"), ("AVX-512", "avx512"), ("AVX2", "avx2")) if name in extensions),
        "generic",
    )
    return f"{vendor or 'cpu'}-{unit}"


CPU_KIND_PLACEHOLDER = "{cpu_kind}"
"""Written in an output path, replaced by :func:`cpu_kind`: runs on different kinds of CPU keep their own files."""


def check_thread_count(threads: int) -> None:
    """Refuse more threads than this machine has CPUs: timings with more measure their contention (and a mistyped
    count would start that many threads)."""
    cpus = os.cpu_count() or 1
    if threads > cpus:
        raise SqueezeNextError(
            f"{threads} threads: this machine has {cpus} CPUs; more threads than CPUs measure their contention, "
            "not the CPU"
        )


def with_cpu_kind(path: Path) -> Path:
    """``path`` with :data:`CPU_KIND_PLACEHOLDER` replaced by this CPU's kind; any other ``{name}`` is refused (a
    mistyped placeholder would otherwise become part of a file name)."""
    other = re.search(r"\{\w*\}", str(path).replace(CPU_KIND_PLACEHOLDER, ""))
    if other:
        raise OutputError(f"{path}: unknown placeholder {other.group()}; the one placeholder is {CPU_KIND_PLACEHOLDER}")
    return Path(str(path).replace(CPU_KIND_PLACEHOLDER, cpu_kind()))


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


def available_memory_bytes() -> int | None:
    """Memory the kernel can give a new process without swapping (``MemAvailable`` of /proc/meminfo; None where
    there is no such file)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None
