"""A calibrated latency model of one CPU and runtime for the SqueezeNext family: a hardware description that
predicts milliseconds the way the accelerator model predicts cycles (docs/cpu_latency.md).

The model follows the structure the search already exploits (:mod:`squeezenext.search.evaluate`): a network
of the family is a stem, four stages and a head, and every block of a stage after its first one has the same
shape. So, on one CPU, runtime and thread count, at batch 1,

    latency(blocks) = base(width, input size, stem kernel, v5 wiring) + sum_s (blocks_s - 1) * block_s(width, size)

where ``base`` is the measured latency of the network with one block per stage (stem, the four first blocks
with their projections and strides, head and classifier, with every fusion the runtime applies, and its fixed
per-run cost), and ``block_s`` is the measured cost of one more repeated block in stage ``s`` (the difference
between networks with 1 and ``1 + extra_blocks`` blocks there, divided by ``extra_blocks``). v5 wiring changes
the first block of each stage only, so it adds a constant to ``base``. Widths between two calibrated widths
are interpolated linearly in ``width**2`` (convolution MACs grow with its square); sizes, stem kernels,
groups and head channels must be calibrated ones: anything else is refused, never extrapolated.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import read_yaml
from squeezenext.machine import cpu_extensions, cpu_kind, cpu_model
from squeezenext.specs import STAGES, SqueezeNextSpec
from squeezenext.typedconfig import check_fields, from_mapping, is_int

PROFILE_FORMAT = "squeezenext-cpu-latency-profile"
"""The ``format`` key that marks a YAML file as a CPU latency profile (not an accelerator description)."""
PROFILE_VERSION = 1
CALIBRATED_GROUPS = 1
CALIBRATED_HEAD_CHANNELS = 128
CALIBRATED_STEM_CHANNELS = 64
MAX_PROFILE_MS = 3_600_000.0
"""No latency in a profile is an hour or more (a larger one is a damaged file, and sums of it would overflow)."""


class ProfileError(SqueezeNextError):
    """A CPU latency profile that cannot be used, or a network it cannot predict; the message says why."""


@dataclass(frozen=True)
class ProfileMachine:
    """Where a profile was measured."""

    cpu: str
    cpu_extensions: tuple[str, ...]
    cpus: int
    cpu_kind: str

    def __post_init__(self) -> None:
        check_fields(self, ProfileError)

    @classmethod
    def here(cls) -> ProfileMachine:
        """This machine."""
        return cls(cpu_model(), tuple(cpu_extensions()), os.cpu_count() or 1, cpu_kind())


@dataclass(frozen=True)
class CalibratedPoint:
    """The measured model at one (width, input size): ``base_ms`` per stem kernel of the profile (v5 wiring
    off), what v5 wiring adds to it, and one repeated block's cost per stage."""

    width: float
    input_size: int
    base_ms: tuple[float, ...]
    v5_wiring_ms: float
    block_ms: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        check_fields(self, ProfileError)
        if min(self.base_ms, default=0.0) <= 0 or self.width <= 0 or self.input_size <= 0:
            raise ProfileError(f"width {self.width:g}, size {self.input_size}: base latencies must be positive")
        if max(abs(float(ms)) for ms in self.vector()) >= MAX_PROFILE_MS:
            raise ProfileError(
                f"width {self.width:g}, size {self.input_size}: a latency of an hour or more "
                f"({MAX_PROFILE_MS:,.0f} ms) is not a measurement"
            )

    def vector(self) -> npt.NDArray[np.float64]:
        """The point's numbers in one vector: the bases, the v5 term, the four block costs."""
        return np.array([*self.base_ms, self.v5_wiring_ms, *self.block_ms], dtype=np.float64)


@dataclass(frozen=True)
class CpuProfile:
    """A calibrated CPU latency profile (the YAML file ``squeezenext calibrate`` writes)."""

    format: str
    version: int
    backend: str
    runtime_version: str
    threads: int
    batch: int
    machine: ProfileMachine
    stem_kernels: tuple[int, ...]
    extra_blocks: int
    rounds: int
    calibration_seconds: float
    points: tuple[CalibratedPoint, ...]
    model: str = ""
    measurements: tuple[dict[str, Any], ...] = ()
    state_probe: dict[str, Any] = field(default_factory=dict)
    """How the calibration kept to the machine's fast state (squeezenext.deploy.calibrate.STATE_GATE)."""

    def __post_init__(self) -> None:
        check_fields(self, ProfileError, skip=("measurements", "state_probe"))
        if not isinstance(self.state_probe, dict):
            raise ProfileError(f"state_probe must be a mapping, got {type(self.state_probe).__name__}")
        if not _all_finite(self.state_probe):
            raise ProfileError("state_probe holds a number that is not finite (nan or inf)")
        if self.format != PROFILE_FORMAT or self.version != PROFILE_VERSION:
            raise ProfileError(f"format {self.format!r} version {self.version}: expected {PROFILE_FORMAT!r} version 1")
        counts = {
            "threads": self.threads,
            "batch": self.batch,
            "extra_blocks": self.extra_blocks,
            "rounds": self.rounds,
        }
        for name, count in counts.items():
            if count < 1:
                raise ProfileError(f"{name} must be at least 1, got {count}")
        if not 0 <= self.calibration_seconds < float("inf"):
            raise ProfileError(f"calibration_seconds must be a finite number >= 0, got {self.calibration_seconds}")
        if len(set(self.stem_kernels)) != len(self.stem_kernels) or min(self.stem_kernels, default=1) < 1:
            raise ProfileError(f"stem_kernels must be distinct positive integers, got {list(self.stem_kernels)}")
        if not self.points or not self.stem_kernels:
            raise ProfileError("the profile has no calibrated points")
        if any(len(point.base_ms) != len(self.stem_kernels) for point in self.points):
            raise ProfileError(f"every point needs one base latency per stem kernel {list(self.stem_kernels)}")
        grid = {(p.width, p.input_size) for p in self.points}
        if len(grid) != len(self.points) or len(grid) != len(self.widths) * len(self.input_sizes):
            raise ProfileError("the points must cover every (width, input size) of the profile exactly once")

    @property
    def widths(self) -> tuple[float, ...]:
        return tuple(sorted({p.width for p in self.points}))

    @property
    def input_sizes(self) -> tuple[int, ...]:
        return tuple(sorted({p.input_size for p in self.points}))

    @property
    def name(self) -> str:
        return f"{self.backend} on {self.machine.cpu} ({self.threads} threads)"

    def _point(self, width: float, input_size: int) -> CalibratedPoint:
        return next(p for p in self.points if p.width == width and p.input_size == input_size)

    def coefficients(self, width: float, input_size: int, stem_kernel: int) -> tuple[float, float, np.ndarray]:
        """(base with v5 wiring off, what v5 wiring adds, the four per-block costs) at one width and size."""
        self._check(width, input_size, stem_kernel)
        widths = self.widths
        upper = bisect.bisect_left(widths, width)
        if widths[upper] == width:
            vector = self._point(width, input_size).vector()
        else:
            low, high = widths[upper - 1], widths[upper]
            share = (width**2 - low**2) / (high**2 - low**2)
            below, above = self._point(low, input_size).vector(), self._point(high, input_size).vector()
            vector = below + share * (above - below)
        kernels = len(self.stem_kernels)
        return float(vector[self.stem_kernels.index(stem_kernel)]), float(vector[kernels]), vector[kernels + 1 :]

    def _check(self, width: float, input_size: int, stem_kernel: int) -> None:
        if input_size not in self.input_sizes:
            raise ProfileError(f"input size {input_size} is not calibrated ({list(self.input_sizes)})")
        if stem_kernel not in self.stem_kernels:
            raise ProfileError(
                f"stem kernel {stem_kernel} is not calibrated in the profile ({list(self.stem_kernels)})"
            )
        if not self.widths[0] <= width <= self.widths[-1]:
            raise ProfileError(
                f"width {width:g} is outside the calibrated widths {self.widths[0]:g}-{self.widths[-1]:g}; "
                "calibrate with --widths covering it"
            )

    def _template_coefficients(self, spec: SqueezeNextSpec, input_size: int) -> tuple[float, np.ndarray]:
        """(base with the spec's wiring, the four per-block costs) for the spec's template (its blocks aside);
        what was not calibrated is refused."""
        if not isinstance(spec, SqueezeNextSpec):
            raise ProfileError(f"a profile predicts a SqueezeNextSpec (registry.get_spec(name)), got {spec!r}")
        if not is_int(input_size):
            raise ProfileError(f"input_size must be an integer, got {input_size!r}")
        if (spec.groups, spec.head_channels, spec.stem_channels) != (
            CALIBRATED_GROUPS,
            CALIBRATED_HEAD_CHANNELS,
            CALIBRATED_STEM_CHANNELS,
        ):
            raise ProfileError(
                f"{spec.name}: groups {spec.groups}, head channels {spec.head_channels}, stem channels "
                f"{spec.stem_channels}; the profile is calibrated for groups {CALIBRATED_GROUPS}, head "
                f"{CALIBRATED_HEAD_CHANNELS}, stem {CALIBRATED_STEM_CHANNELS} only"
            )
        base, v5, per_block = self.coefficients(spec.width, input_size, spec.stem_kernel)
        return base + (v5 if spec.v5_wiring else 0.0), per_block

    def predict(self, spec: SqueezeNextSpec, input_size: int) -> Prediction:
        """The predicted latency of one SqueezeNext network at batch 1, part by part."""
        base, per_block = self._template_coefficients(spec, input_size)
        repeated = tuple(float((b - 1) * cost) for b, cost in zip(spec.blocks, per_block, strict=True))
        return Prediction(base, repeated, tuple(float(c) for c in per_block))

    def predict_distributions(
        self, template: SqueezeNextSpec, input_size: int, distributions: np.ndarray
    ) -> npt.NDArray[np.float64]:
        """Predicted milliseconds of many block distributions (rows of ``distributions``) of the network
        ``template`` describes (its own blocks aside)."""
        base, per_block = self._template_coefficients(template, input_size)
        blocks = np.asarray(distributions)
        if blocks.ndim != 2 or blocks.shape[1] != STAGES or not np.issubdtype(blocks.dtype, np.integer):
            raise ProfileError(
                f"distributions must be integers, one row of {STAGES} per design, got {blocks.dtype} {blocks.shape}"
            )
        if blocks.size and blocks.min() < 1:
            raise ProfileError("distributions must have at least one block in every stage")
        repeats: npt.NDArray[np.float64] = (blocks.astype(np.float64) - 1.0) @ per_block
        return repeats + base

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "version": self.version,
            "backend": self.backend,
            "runtime_version": self.runtime_version,
            "threads": self.threads,
            "batch": self.batch,
            "machine": {**self.machine.__dict__, "cpu_extensions": list(self.machine.cpu_extensions)},
            "stem_kernels": list(self.stem_kernels),
            "extra_blocks": self.extra_blocks,
            "rounds": self.rounds,
            "calibration_seconds": self.calibration_seconds,
            "model": self.model,
            "points": [
                {
                    "width": p.width,
                    "input_size": p.input_size,
                    "base_ms": list(p.base_ms),
                    "v5_wiring_ms": p.v5_wiring_ms,
                    "block_ms": list(p.block_ms),
                }
                for p in self.points
            ],
            "measurements": list(self.measurements),
            "state_probe": dict(self.state_probe),
        }


def points_table(profile: CpuProfile) -> tuple[list[str], list[list[object]]]:
    """The profile's calibrated points as table headers and rows (the command's output and the docs)."""
    rows: list[list[object]] = [
        [f"{p.width:g}", p.input_size, " / ".join(f"{ms:.2f}" for ms in p.base_ms), f"{p.v5_wiring_ms:+.3f}",
         " / ".join(f"{ms:.3f}" for ms in p.block_ms)]
        for p in profile.points
    ]  # fmt: skip
    kernels = "/".join(map(str, profile.stem_kernels))
    return ["width", "size", f"base ms (stem {kernels})", "v5 wiring ms", "ms per block (stages 1-4)"], rows


@dataclass(frozen=True)
class Prediction:
    """A predicted latency: the base part and each stage's repeated blocks, in milliseconds."""

    base_ms: float
    stage_ms: tuple[float, ...]
    per_block_ms: tuple[float, ...]

    @property
    def total_ms(self) -> float:
        return self.base_ms + sum(self.stage_ms)


def _all_finite(value: Any) -> bool:
    """Whether every number in a nested mapping or list is finite."""
    if isinstance(value, dict):
        return all(_all_finite(item) for item in value.values())
    if isinstance(value, list | tuple):
        return all(_all_finite(item) for item in value)
    return not isinstance(value, float) or bool(np.isfinite(value))


def is_profile_data(data: Any) -> bool:
    """Whether parsed YAML is a CPU latency profile (its ``format`` key), not an accelerator description."""
    return isinstance(data, dict) and data.get("format") == PROFILE_FORMAT


def profile_from_dict(data: Any, source: str) -> CpuProfile:
    if isinstance(data, dict) and isinstance(data.get("measurements"), list):
        data = {**data, "measurements": tuple(data["measurements"])}
    return from_mapping(CpuProfile, data, source, ProfileError)


def load_profile(path: str | Path) -> CpuProfile:
    """Read a CPU latency profile; a missing, damaged or foreign file is one :class:`ProfileError`."""
    data = read_yaml(Path(path), ProfileError, "CPU latency profile")
    if not is_profile_data(data):
        raise ProfileError(f"{path} is not a CPU latency profile (no 'format: {PROFILE_FORMAT}')")
    return profile_from_dict(data, str(path))


def differences(profile: CpuProfile, here: ProfileMachine, runtime_version: str | None, threads: int) -> list[str]:
    """What differs between where a profile was measured and where it is used (each a warning's words)."""
    found = []
    if (profile.machine.cpu, profile.machine.cpu_extensions) != (here.cpu, here.cpu_extensions):
        found.append(
            f"it was measured on {profile.machine.cpu} ({profile.machine.cpu_kind}), "
            f"this is {here.cpu} ({here.cpu_kind})"
        )
    if runtime_version is not None and runtime_version != profile.runtime_version:
        found.append(f"it was measured with {profile.backend} {profile.runtime_version}, this has {runtime_version}")
    if threads != profile.threads:
        found.append(f"it was measured with {profile.threads} threads, this run uses {threads}")
    return found


STAGE_NAMES: Sequence[str] = tuple(f"stage {s + 1}" for s in range(STAGES))
