"""SCALE-Sim's own hardware files: the ``.cfg`` of SCALE-Sim v3 (INI sections ``[general]``,
``[architecture_presets]``, ``[run_presets]``, ...), read wherever a hardware file is accepted and written back so
that a design found by ``search --space hardware`` can be run in SCALE-Sim.

Reading (SCALE-Sim v3 ``scalesim/scale_config.py`` names): ``ArrayHeight``/``ArrayWidth`` are the rows and
columns; ``IfmapSramSzkB``, ``FilterSramSzkB``, ``OfmapSramSzkB`` the three buffers (their sum is the global
buffer, their shares its split); ``Dataflow`` the one dataflow; ``InterfaceBandwidth: USER`` takes ``Bandwidth``
words per cycle as the DRAM bandwidth, ``CALC`` (SCALE-Sim computes the bandwidth that never stalls) an unlimited
one. The array is SCALE-Sim's: systolic timing, the im2col (``gemm``) mapping, 8-bit words, under which our
cycles and buffer counts equal SCALE-Sim 3.0.0's (tests/test_accel_scalesim.py). Every other key (address
offsets, banks, request buffers, layouts, sparsity, Ramulator) is not modelled and is named in one note; sparsity
switched on is refused, since it changes what is computed.
"""

from __future__ import annotations

import configparser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from squeezenext.errors import ConfigError

if TYPE_CHECKING:
    from squeezenext.accel.hardware import HardwareConfig

CFG_SUFFIX = ".cfg"
WORD_BITS = 8
"""SCALE-Sim counts one-byte words."""
UNLIMITED_BANDWIDTH = 1e9
"""Words per cycle standing for ``InterfaceBandwidth: CALC`` (no stall: as tests/test_accel_scalesim.py sets it)."""
ARCHITECTURE = "architecture_presets"
BUFFERS = ("IfmapSramSzkB", "FilterSramSzkB", "OfmapSramSzkB")
MODELLED = {"ArrayHeight", "ArrayWidth", *BUFFERS, "Dataflow", "Bandwidth"}
"""The ``[architecture_presets]`` keys the cost model uses."""
INTERFACES = ("CALC", "USER")
"""SCALE-Sim v3's ``InterfaceBandwidth`` values: it computes the bandwidth that never stalls, or takes ``Bandwidth``."""
NEUTRAL = {("general", "run_name"), ("run_presets", "InterfaceBandwidth")}
"""Keys read besides the architecture (the name; how the bandwidth is meant)."""


def is_cfg(path: str | Path) -> bool:
    return str(path).lower().endswith(CFG_SUFFIX)


def _parser(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(inline_comment_prefixes=("#", ";"), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # SCALE-Sim's keys are CamelCase
    if not path.is_file():
        raise ConfigError(f"SCALE-Sim config {path} does not exist")
    try:
        parser.read_string(path.read_text(), source=str(path))
    except (configparser.Error, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not a SCALE-Sim .cfg file: {' '.join(str(error).split())[:200]}") from None
    return parser


def _number(parser: configparser.ConfigParser, path: Path, key: str) -> float:
    text = parser.get(ARCHITECTURE, key, fallback=None)
    if text is None:
        raise ConfigError(f"{path}: [{ARCHITECTURE}] has no {key}; SCALE-Sim needs it")
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{path}: {key} must be a number, got {text!r}") from None


def read_cfg_fields(path: str | Path) -> tuple[dict[str, Any], list[str]]:
    """The hardware fields a SCALE-Sim ``.cfg`` describes (``hardware_from_dict`` checks them), and the keys it
    gives that the cost model does not use."""
    path = Path(path)
    parser = _parser(path)
    if not parser.has_section(ARCHITECTURE):
        raise ConfigError(f"{path} has no [{ARCHITECTURE}] section; it is not a SCALE-Sim config")
    if parser.get("sparsity", "SparsitySupport", fallback="false").strip().lower() == "true":
        raise ConfigError(f"{path}: SparsitySupport is true; the cost model computes dense layers only")
    rows, cols = (_number(parser, path, key) for key in ("ArrayHeight", "ArrayWidth"))
    sizes = [_number(parser, path, key) for key in BUFFERS]
    if any(size <= 0 for size in sizes) or rows != int(rows) or cols != int(cols):
        raise ConfigError(f"{path}: array sides must be integers and buffer sizes > 0, got {rows}, {cols}, {sizes}")
    interface = (parser.get("run_presets", "InterfaceBandwidth", fallback="CALC").split() or [""])[0].upper()
    if interface not in INTERFACES:
        raise ConfigError(f"{path}: InterfaceBandwidth must be one of {', '.join(INTERFACES)}, got {interface!r}")
    bandwidth = UNLIMITED_BANDWIDTH if interface == "CALC" else _number(parser, path, "Bandwidth")
    total = sum(sizes)
    fields = {
        "name": parser.get("general", "run_name", fallback=path.stem).strip() or path.stem,
        "rows": int(rows),
        "cols": int(cols),
        "timing": "systolic",
        "mapping": "gemm",
        "word_bits": WORD_BITS,
        "gb_kib": total,
        "gb_split": [sizes[0] / total, sizes[1] / total, 1 - sizes[0] / total - sizes[1] / total],
        "dram_bandwidth": bandwidth * WORD_BITS / 8,
        "dataflows": [parser.get(ARCHITECTURE, "Dataflow", fallback="").strip().lower()],
    }
    ignored = [
        f"{key}" if section == ARCHITECTURE else f"[{section}] {key}"
        for section in parser.sections()
        for key in parser[section]
        if not (section == ARCHITECTURE and key in MODELLED) and (section, key) not in NEUTRAL
    ]
    if interface == "CALC" and parser.has_option(ARCHITECTURE, "Bandwidth"):
        ignored.append("Bandwidth (InterfaceBandwidth is CALC)")
    return fields, ignored


def write_cfg(config: HardwareConfig, path: str | Path) -> list[str]:
    """Write ``config`` as a SCALE-Sim ``.cfg`` (one file per dataflow it supports is the caller's choice: the
    first is written); returns what SCALE-Sim cannot represent, also written as comments at the top."""
    from squeezenext.fileio import atomic_write_text

    differences = []
    if config.timing != "systolic" or config.mapping != "gemm":
        differences.append(f"timing {config.timing} and mapping {config.mapping} (SCALE-Sim: systolic, gemm)")
    if config.word_bits != WORD_BITS:
        differences.append(f"{config.word_bits}-bit words (SCALE-Sim counts bytes; buffer sizes kept in KiB)")
    if len(config.dataflows) > 1:
        differences.append(f"dataflows {'+'.join(config.dataflows)} (SCALE-Sim runs one; {config.dataflows[0]} here)")
    sizes = [config.gb_kib * share for share in config.gb_split]
    words_per_cycle = config.dram_bandwidth * 8 / config.word_bits
    lines = [f"# written by squeezenext from hardware {config.name!r}"]
    lines += [f"# not representable in SCALE-Sim: {difference}" for difference in differences]
    lines += [
        "[general]",
        f"run_name = {config.name}",
        "",
        f"[{ARCHITECTURE}]",
        f"ArrayHeight: {config.rows}",
        f"ArrayWidth: {config.cols}",
        *(f"{key}: {size:g}" for key, size in zip(BUFFERS, sizes, strict=True)),
        "IfmapOffset: 0",
        "FilterOffset: 10000000",
        "OfmapOffset: 20000000",
        f"Bandwidth: {words_per_cycle:g}",
        f"Dataflow: {config.dataflows[0]}",
        "",
        "[run_presets]",
        "InterfaceBandwidth: USER",
        "",
    ]
    atomic_write_text(path, "\n".join(lines))
    return differences
