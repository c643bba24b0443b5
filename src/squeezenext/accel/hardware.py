"""Hardware description of a spatial neural-network accelerator (paper Sec. "hardware study").

A 2D array of processing elements (a MAC unit and a small register file each), a global buffer split
between inputs, weights and outputs, and DRAM. Energy per access follows the normalized Eyeriss table
(Chen et al., ISCA 2016, Fig. 1 / Table IV): MAC 1, register file 1, PE-to-PE 2, global buffer 6,
DRAM 200; absolute picojoules may be given instead.

Configs are frozen dataclasses loaded from YAML; every field is validated with an error that names it.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from squeezenext.errors import ConfigError
from squeezenext.fileio import parse_yaml, read_yaml
from squeezenext.typedconfig import check_fields, from_mapping
from squeezenext.yamlkinds import ACCELERATOR, yaml_kind

Dataflow = Literal["ws", "os", "is"]
DATAFLOWS: tuple[Dataflow, ...] = get_args(Dataflow)
Timing = Literal["systolic", "broadcast"]
TIMINGS: tuple[Timing, ...] = get_args(Timing)
MappingKind = Literal["gemm", "spatial"]
MAPPINGS: tuple[MappingKind, ...] = get_args(MappingKind)
EnergyUnit = Literal["normalized", "pJ"]
ENERGY_UNITS: tuple[EnergyUnit, ...] = get_args(EnergyUnit)

PRESET_PACKAGE = "squeezenext.accel.presets"
DEFAULT_HARDWARE = "array-16x16"
"""The accelerator ``simulate`` and ``study`` use unless told otherwise (docs/accelerator.md)."""
MAX_ARRAY_SIDE = 2**16
"""Largest PE array side; with the workload limit (cost.MAX_LAYER_WORK) every count fits in 64 bits."""
REQUIRED_FIELDS = ("rows", "cols")
"""Fields a hardware file must give (the array shape has no sensible default)."""


@dataclass(frozen=True)
class EnergyCosts:
    """Energy of one access (one word) per level; ``unit`` is ``normalized`` (MAC = 1) or ``pJ``."""

    mac: float = 1.0
    rf: float = 1.0
    array: float = 2.0
    gb: float = 6.0
    dram: float = 200.0
    unit: EnergyUnit = "normalized"

    def __post_init__(self) -> None:
        check_fields(self, ConfigError)
        for name in ("mac", "rf", "array", "gb", "dram"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must be a finite number >= 0, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class HardwareConfig:
    """One accelerator.

    Attributes:
        name: label used in reports.
        rows, cols: PE array height and width.
        timing: ``systolic`` (store-and-forward skew, as SCALE-Sim) or ``broadcast`` (operands reach every
            PE of a row/column in the same cycle, as Eyeriss/Squeezelerator buses; no skew).
        mapping: ``gemm`` (SCALE-Sim: the layer as an im2col matrix product, the whole window
            ``k_h k_w C_in`` on one array axis) or ``spatial`` (Squeezelerator-style: WS/IS map input
            channels on the rows and take the ``k_h k_w`` kernel taps one after another; OS maps a 2D tile
            of output pixels of one filter at a time).
        word_bits: width of one data word (activations, weights, partial sums).
        clock_mhz: clock frequency (cycles to seconds).
        rf_bytes: register file per PE (must hold at least one word of the stationary operand).
        gb_kib: global buffer size in KiB.
        gb_split: fractions of the global buffer for (inputs, weights, outputs); they sum to 1.
        dram_bandwidth: DRAM bandwidth in bytes per cycle.
        energy: energy per access per level.
        dataflows: the dataflows the array supports; each layer runs in the best of them (the Squeezelerator,
            Kwon et al. arXiv 1804.10642, supports weight- and output-stationary: ``[ws, os]``).
    """

    name: str = "custom"
    rows: int = 16
    cols: int = 16
    timing: Timing = "broadcast"
    mapping: MappingKind = "spatial"
    word_bits: int = 16
    clock_mhz: float = 200.0
    rf_bytes: int = 512
    gb_kib: float = 128.0
    gb_split: tuple[float, float, float] = (0.4, 0.4, 0.2)
    dram_bandwidth: float = 16.0
    energy: EnergyCosts = field(default_factory=EnergyCosts)
    dataflows: tuple[Dataflow, ...] = DATAFLOWS

    def __post_init__(self) -> None:
        check_fields(self, ConfigError)
        if not self.dataflows or len(set(self.dataflows)) != len(self.dataflows):
            raise ConfigError(
                f"dataflows must list one or more of {', '.join(DATAFLOWS)} once each, got {self.dataflows}"
            )
        for name in ("rows", "cols", "word_bits", "rf_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        for name in ("rows", "cols"):
            if getattr(self, name) > MAX_ARRAY_SIDE:
                raise ConfigError(
                    f"{name}={getattr(self, name)} is above the cost model's limit of {MAX_ARRAY_SIDE} PEs per side "
                    "(which keeps its 64-bit counts exact)"
                )
        for name in ("clock_mhz", "gb_kib", "dram_bandwidth"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be a finite number > 0, got {getattr(self, name)!r}")
        if any(v < 0 for v in self.gb_split) or abs(sum(self.gb_split) - 1.0) > 1e-6:
            raise ConfigError(
                f"gb_split must be three fractions >= 0 (inputs, weights, outputs) summing to 1, got {self.gb_split!r}"
            )
        if self.rf_bytes * 8 < self.word_bits:
            raise ConfigError(
                f"rf_bytes={self.rf_bytes} cannot hold one {self.word_bits}-bit word of the stationary operand"
            )

    @property
    def pes(self) -> int:
        """Number of processing elements."""
        return self.rows * self.cols

    @property
    def word_bytes(self) -> float:
        """Bytes per word."""
        return self.word_bits / 8

    def buffer_words(self) -> tuple[float, float, float]:
        """Capacity in words of the (input, weight, output) partitions of the global buffer."""
        total = self.gb_kib * 1024 / self.word_bytes
        return (total * self.gb_split[0], total * self.gb_split[1], total * self.gb_split[2])

    def replace(self, **changes: Any) -> HardwareConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping (the YAML form)."""
        data = dataclasses.asdict(self)
        data["gb_split"] = list(self.gb_split)
        data["dataflows"] = list(self.dataflows)
        return data


def hardware_from_dict(data: Any, source: str = "config") -> HardwareConfig:
    """Build a config from a mapping; unknown keys and wrong types raise :class:`ConfigError`."""
    return from_mapping(HardwareConfig, data, source, ConfigError, required=REQUIRED_FIELDS)


_NOTES_GIVEN: set[str] = set()


def load_hardware(path: str | Path) -> HardwareConfig:
    """Load a hardware file: our YAML, or SCALE-Sim's own ``.cfg`` (:mod:`squeezenext.accel.scalesim_cfg`; the
    keys it gives that the cost model does not use are named in one note on stderr)."""
    path = Path(path)
    if path.suffix.lower() == ".cfg":
        from squeezenext.accel.scalesim_cfg import read_cfg_fields

        fields, ignored = read_cfg_fields(path)
        config = hardware_from_dict(fields, source=str(path))
        note = f"note: {path}: not modelled, so not used: {', '.join(ignored)}"
        if ignored and note not in _NOTES_GIVEN:  # once per process: a command may resolve its hardware twice
            _NOTES_GIVEN.add(note)
            print(note, file=sys.stderr)
        return config
    data = read_yaml(path, ConfigError, "hardware file", f"; give a YAML file or a preset ({list_presets()})")
    kind = yaml_kind(data)
    if kind not in (None, ACCELERATOR):
        raise ConfigError(
            f"{path} is {kind}; an accelerator is a YAML file with rows and cols, a SCALE-Sim .cfg or a preset"
        )
    return hardware_from_dict(data, source=str(path))


def list_presets() -> list[str]:
    """Names of the shipped hardware presets."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in resources.files(PRESET_PACKAGE).iterdir()
        if entry.name.endswith(".yaml")
    )


def preset(name: str) -> HardwareConfig:
    """A shipped preset by name (``squeezenext simulate --hardware NAME``)."""
    if name not in list_presets():
        raise ConfigError(f"unknown hardware preset {name!r}; presets: {', '.join(list_presets())}")
    text = resources.files(PRESET_PACKAGE).joinpath(f"{name}.yaml").read_text()
    return hardware_from_dict(parse_yaml(text, f"preset {name}", ConfigError), source=f"preset {name}")


def cpu_profile_path(spec: str) -> Path | None:
    """The file ``--hardware`` names when it is a CPU latency profile (``squeezenext calibrate``'s YAML, marked
    by its ``format`` key), else None (a preset or an accelerator file)."""
    from squeezenext.accel.cpu_latency import is_profile_data

    path = Path(spec)
    if not (spec.endswith((".yaml", ".yml")) and path.is_file()):
        return None
    return path if is_profile_data(read_yaml(path, ConfigError, "hardware file")) else None


def resolve_hardware(spec: str) -> HardwareConfig:
    """A preset name, or a path to a YAML or SCALE-Sim ``.cfg`` file."""
    if spec and Path(spec).is_dir():
        raise ConfigError(
            f"{spec} is a folder; hardware is a preset ({', '.join(list_presets())}), a YAML or a .cfg file"
        )
    if spec.lower().endswith((".yaml", ".yml", ".cfg")) or Path(spec).is_file():
        return load_hardware(spec)
    return preset(spec)
