"""Analytic cost of convolution and FC layers on a PE array (weight-, output-, input-stationary).

"Cycles" are analytic counts, not a trace. Every formula below is evaluated with NumPy over
broadcast arrays (layers x hardware configs x dataflows), so one network takes a few milliseconds and a
sweep of thousands of (network, hardware) points a few seconds.

Mapping. A layer of group ``g`` is computed once per group, with ``N = H_out W_out`` output pixels,
``c = C_in / g`` input channels, ``taps = k_h k_w``, window ``K = c taps`` and ``M = C_out / g`` filters.
Each dataflow places two dimensions on the ``R x C`` array (rows ``S_r``, columns ``S_c``), streams a
third in time (``T`` cycles per fold) and repeats the remaining loops ``X`` times:

=========  =========================================  ==============================================
dataflow   ``gemm`` mapping (SCALE-Sim, im2col)         ``spatial`` mapping (Squeezelerator-style)
=========  =========================================  ==============================================
OS         S_r = N, S_c = M, T = K, X = 1              S_r = H_out, S_c = W_out, T = K, X = M
WS         S_r = K, S_c = M, T = N, X = 1              S_r = c, S_c = M, T = N, X = taps
IS         S_r = K, S_c = N, T = M, X = 1              S_r = c, S_c = N, T = M, X = taps
=========  =========================================  ==============================================

The ``gemm`` rows follow SCALE-Sim (Samajdar et al., ISPASS 2020, Sec. III; scalesim 3.0.0
``systolic_compute_*.py``). Folds: ``F = f_r f_c X`` with ``f_r = ceil(S_r / R)``, ``f_c = ceil(S_c / C)``.

Compute cycles per group:
  * systolic (store-and-forward skew): OS ``F (T + R + C - 2) - 1``; WS and IS ``F (2R + C + T - 2) - 1``
    (the length of SCALE-Sim's skewed demand matrices; validated against scalesim 3.0.0 runs).
  * broadcast (Eyeriss / Squeezelerator buses, no skew): ``F T``.

Global-buffer accesses per group (SCALE-Sim's "SRAM reads/writes" for the ``gemm`` mapping):
  * OS: inputs ``N K f_c`` (``spatial``: ``N K M``, every PE reads its own input), weights ``M K f_r``
    (``spatial``: ``K M f_r f_c``, one weight broadcast per cycle), outputs ``N M`` (+ ``f_r f_c (R + C)``
    with ``gemm`` + ``systolic``: an accounting term of SCALE-Sim's OS output demand matrix, kept so the
    counts match it exactly);
  * WS: inputs ``N K f_c``, weights ``K M``, outputs ``N M P``;
  * IS: inputs ``N K``, weights ``K M f_c``, outputs ``N M P``;
  with ``P`` partial-sum passes per output (``f_r``; ``spatial``: ``f_r taps``). WS and IS also read back
  partial sums between passes: ``N M (P - 1)`` (SCALE-Sim does not count these; we do, for energy).

DRAM traffic (words), with refetch when an operand does not fit its buffer partition: a tensor that fits
is read once; the operand that is re-streamed for every outer fold (inputs in OS/WS, weights in IS) is
read ``f_c`` times (``spatial`` OS: ``M`` times) when it does not fit; partial sums that do not fit the
output partition spill: ``P`` writes and ``P - 1`` reads of the outputs. Transfers overlap compute
(double buffering): ``stall = max(0, ceil(DRAM bytes / bandwidth) - compute cycles)``.

Other accesses (Eyeriss energy analysis, Chen et al., ISCA 2016, Sec. V): 3 register-file accesses per
MAC (stationary operand, streamed operand, partial-sum update); one PE-to-PE transfer for every
operand use that is not injected from the global buffer (streamed operands and moving partial sums);
the global buffer is also written once per DRAM word read and read once per DRAM word written.

Energy = sum over levels of accesses x energy per access (:class:`~squeezenext.accel.hardware.EnergyCosts`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt

from squeezenext.accel.hardware import DATAFLOWS, HardwareConfig, resolve_hardware
from squeezenext.errors import ConfigError
from squeezenext.workload import LayerDesc

Policy = Literal["ws", "os", "is", "time", "energy", "edp"]
POLICIES: tuple[Policy, ...] = get_args(Policy)
BEST_OF_POLICIES: tuple[Policy, ...] = ("time", "energy", "edp")
"""Policies that choose each layer's dataflow by what it minimizes (the others fix one dataflow)."""
DEFAULT_POLICY: Policy = "time"
RF_ACCESSES_PER_MAC = 3
"""Register-file accesses per MAC: stationary operand, streamed operand, partial-sum update."""

IntArray = npt.NDArray[np.int64]
MAX_CYCLES = 2**62
"""Cycle counts the model refuses to reach: a layer's cycles are summed over layers and designs in int64."""
MAX_LAYER_WORK = 2**44
"""Largest per-layer MAC count (and input words x passes) accepted: about 1.8e13, thousands of times the
largest layer of any ImageNet network. With PE arrays of at most 2^16 per side (hardware.MAX_ARRAY_SIDE),
every product the model forms stays below 2^63, so no count can overflow and wrap negative."""
FloatArray = npt.NDArray[np.float64]

_WS, _OS, _IS = (DATAFLOWS.index("ws"), DATAFLOWS.index("os"), DATAFLOWS.index("is"))


@dataclass(frozen=True)
class Cost:
    """Cost of one layer (or, summed, of a network) on one accelerator.

    Access counts are in words. ``+`` adds two costs (``sum(costs)`` gives the network total); the
    derived properties are recomputed from the sums.
    """

    name: str
    dataflow: str
    pes: int
    clock_hz: float
    macs: int
    compute_cycles: int
    stall_cycles: int
    rf_accesses: int
    array_transfers: int
    gb_ifmap_reads: int
    gb_filter_reads: int
    gb_ofmap_writes: int
    gb_psum_reads: int
    dram_ifmap_reads: int
    dram_filter_reads: int
    dram_ofmap_writes: int
    dram_psum_reads: int
    energy_mac: float
    energy_rf: float
    energy_array: float
    energy_gb: float
    energy_dram: float

    @property
    def cycles(self) -> int:
        """Total cycles: compute plus memory stalls."""
        return self.compute_cycles + self.stall_cycles

    @property
    def time_s(self) -> float:
        """Seconds at the configured clock."""
        return self.cycles / self.clock_hz

    @property
    def utilization(self) -> float:
        """Fraction of PE-cycles doing a MAC: ``MACs / (PEs x cycles)``."""
        return self.macs / (self.pes * self.cycles) if self.cycles else 0.0

    @property
    def gb_accesses(self) -> int:
        """Global-buffer reads and writes, DRAM fills and drains included."""
        return (
            self.gb_ifmap_reads + self.gb_filter_reads + self.gb_ofmap_writes + self.gb_psum_reads + self.dram_accesses
        )

    @property
    def dram_accesses(self) -> int:
        """DRAM words read and written."""
        return self.dram_ifmap_reads + self.dram_filter_reads + self.dram_ofmap_writes + self.dram_psum_reads

    @property
    def energy(self) -> float:
        """Total energy (unit of the config's energy table)."""
        return self.energy_mac + self.energy_rf + self.energy_array + self.energy_gb + self.energy_dram

    def energy_by_level(self) -> dict[str, float]:
        """Energy per memory level, for stacked plots."""
        return {
            "MAC": self.energy_mac,
            "RF": self.energy_rf,
            "PE-to-PE": self.energy_array,
            "global buffer": self.energy_gb,
            "DRAM": self.energy_dram,
        }

    def __add__(self, other: Cost) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        if other.pes != self.pes or other.clock_hz != self.clock_hz:
            raise ValueError("cannot add costs from different accelerators")
        values: dict[str, object] = {}
        for item in fields(self):
            a, b = getattr(self, item.name), getattr(other, item.name)
            if item.name in ("pes", "clock_hz"):
                values[item.name] = a
            elif item.name == "name":
                values[item.name] = "total"
            elif item.name == "dataflow":
                values[item.name] = a if a == b else "mixed"
            else:
                values[item.name] = a + b
        return Cost(**values)  # type: ignore[arg-type]

    def __radd__(self, other: object) -> Cost:
        if other == 0:
            return self
        return NotImplemented

    def to_json(self) -> dict[str, object]:
        """JSON object with the stored fields and the derived ones."""
        data: dict[str, object] = {item.name: getattr(self, item.name) for item in fields(self)}
        data.update(
            cycles=self.cycles,
            time_s=self.time_s,
            utilization=self.utilization,
            gb_accesses=self.gb_accesses,
            dram_accesses=self.dram_accesses,
            energy=self.energy,
        )
        return data


def total(costs: Iterable[Cost]) -> Cost:
    """Network total of per-layer costs (``sum(costs)`` with a precise type); ValueError when empty."""
    items = list(costs)
    if not items:
        raise ValueError("no costs to add")
    result = items[0]
    for cost in items[1:]:
        result = result + cost
    return result


def costs_csv(costs: Sequence[Cost]) -> str:
    """Per-layer costs as CSV text, one column per field of :meth:`Cost.to_json`."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(costs[0].to_json()))
    writer.writeheader()
    for cost in costs:
        writer.writerow(cost.to_json())
    return buffer.getvalue()


@dataclass(frozen=True)
class LayerArrays:
    """Layer shapes as arrays: pixels ``N``, window ``K``, filters ``M`` (per group), groups, tensor sizes."""

    names: tuple[str, ...]
    n: IntArray
    k: IntArray
    m: IntArray
    groups: IntArray
    input_words: IntArray
    c: IntArray
    taps: IntArray
    out_h: IntArray
    out_w: IntArray

    @classmethod
    def from_layers(cls, layers: Sequence[LayerDesc]) -> LayerArrays:
        if not layers:
            raise ConfigError("the workload has no conv or FC layer")
        for layer in layers:
            if layer.in_channels % layer.groups or layer.out_channels % layer.groups:
                raise ConfigError(f"{layer.name}: channels are not divisible by groups={layer.groups}")
            _check_size(layer)
        return cls(
            names=tuple(layer.name for layer in layers),
            n=np.array([layer.out_hw[0] * layer.out_hw[1] for layer in layers], dtype=np.int64),
            k=np.array(
                [layer.kernel[0] * layer.kernel[1] * layer.in_channels // layer.groups for layer in layers],
                dtype=np.int64,
            ),
            m=np.array([layer.out_channels // layer.groups for layer in layers], dtype=np.int64),
            groups=np.array([layer.groups for layer in layers], dtype=np.int64),
            input_words=np.array(
                [layer.in_hw[0] * layer.in_hw[1] * layer.in_channels for layer in layers], dtype=np.int64
            ),
            c=np.array([layer.in_channels // layer.groups for layer in layers], dtype=np.int64),
            taps=np.array([layer.kernel[0] * layer.kernel[1] for layer in layers], dtype=np.int64),
            out_h=np.array([layer.out_hw[0] for layer in layers], dtype=np.int64),
            out_w=np.array([layer.out_hw[1] for layer in layers], dtype=np.int64),
        )


@dataclass(frozen=True)
class HardwareArrays:
    """Hardware configs as arrays (one entry per config)."""

    rows: IntArray
    cols: IntArray
    systolic: npt.NDArray[np.bool_]
    spatial: npt.NDArray[np.bool_]
    word_bytes: FloatArray
    clock_hz: FloatArray
    buffer_words: FloatArray  # shape (configs, 3): inputs, weights, outputs
    dram_bandwidth: FloatArray
    energy: FloatArray  # shape (configs, 5): mac, rf, array, gb, dram
    allowed: npt.NDArray[np.bool_]  # shape (configs, 3): the dataflows each config supports (DATAFLOWS order)

    @classmethod
    def from_configs(cls, configs: Sequence[HardwareConfig]) -> HardwareArrays:
        return cls(
            rows=np.array([c.rows for c in configs], dtype=np.int64),
            cols=np.array([c.cols for c in configs], dtype=np.int64),
            systolic=np.array([c.timing == "systolic" for c in configs]),
            spatial=np.array([c.mapping == "spatial" for c in configs]),
            word_bytes=np.array([c.word_bytes for c in configs], dtype=np.float64),
            clock_hz=np.array([c.clock_mhz * 1e6 for c in configs], dtype=np.float64),
            buffer_words=np.array([c.buffer_words() for c in configs], dtype=np.float64),
            dram_bandwidth=np.array([c.dram_bandwidth for c in configs], dtype=np.float64),
            energy=np.array(
                [[c.energy.mac, c.energy.rf, c.energy.array, c.energy.gb, c.energy.dram] for c in configs],
                dtype=np.float64,
            ),
            allowed=np.array([[d in c.dataflows for d in DATAFLOWS] for c in configs]),
        )


def _check_size(layer: LayerDesc) -> None:
    """Refuse a layer whose counts could overflow the model's 64-bit integers (see MAX_LAYER_WORK)."""
    pixels = layer.out_hw[0] * layer.out_hw[1]
    window = layer.kernel[0] * layer.kernel[1] * layer.in_channels // layer.groups
    filters = layer.out_channels // layer.groups
    input_words = layer.in_hw[0] * layer.in_hw[1] * layer.in_channels
    work = max(layer.macs, pixels * window * filters, input_words * max(filters, pixels), input_words)
    if work > MAX_LAYER_WORK:
        raise ConfigError(
            f"{layer.name} is too large for the cost model: its work ({work:.3g} MACs or words x passes) is above "
            f"the limit {MAX_LAYER_WORK:.3g} (2^44) that keeps every 64-bit count exact; use a smaller input or layer"
        )


def _ceil_div(a: IntArray, b: IntArray) -> IntArray:
    return -(-a // b)


def cost_arrays(layers: LayerArrays, hardware: HardwareArrays) -> dict[str, npt.NDArray[Any]]:
    """Every cost field for every (layer, config, dataflow): arrays of shape ``(L, H, 3)``.

    Dataflow index ``d`` follows :data:`~squeezenext.accel.hardware.DATAFLOWS` (ws, os, is).
    """
    n, k, m, g = (a[:, None, None] for a in (layers.n, layers.k, layers.m, layers.groups))
    c, taps, oh, ow = (a[:, None, None] for a in (layers.c, layers.taps, layers.out_h, layers.out_w))
    rows, cols = hardware.rows[None, :, None], hardware.cols[None, :, None]
    systolic = hardware.systolic[None, :, None]
    spatial = hardware.spatial[None, :, None]
    d = np.arange(3)[None, None, :]
    is_os, is_ws, is_is = d == _OS, d == _WS, d == _IS

    s_r = np.where(spatial, np.where(is_os, oh, c), np.where(is_os, n, k))
    s_c = np.where(spatial & is_os, ow, np.where(is_is, n, m))
    t = np.where(is_os, k, np.where(is_ws, n, m))
    extra = np.where(spatial, np.where(is_os, m, taps), 1)
    f_r = _ceil_div(s_r, rows)
    f_c = _ceil_div(s_c, cols)
    folds = f_r * f_c * extra

    skew = np.where(is_os, rows + cols - 2, 2 * rows + cols - 2)
    per_group = np.where(systolic, folds * (t + skew) - 1, folds * t)
    compute_cycles = g * per_group

    macs = g * n * k * m
    outputs = n * m
    passes = np.where(is_os, 1, f_r * np.where(spatial, taps, 1))
    spatial_os = spatial & is_os
    gb_ifmap = g * np.where(is_is, n * k, np.where(spatial_os, n * k * m, n * k * f_c))
    gb_filter = g * np.where(is_os, m * k * f_r * np.where(spatial, f_c, 1), np.where(is_ws, k * m, k * m * f_c))
    clean_ofmap = outputs * passes
    scalesim_term = np.where(is_os & systolic & ~spatial, f_r * f_c * (rows + cols), 0)
    gb_ofmap = g * (clean_ofmap + scalesim_term)
    gb_psum = g * outputs * (passes - 1)

    in_buf, w_buf, out_buf = (hardware.buffer_words[None, :, i, None] for i in range(3))
    input_words = layers.input_words[:, None, None]
    input_per_group = input_words // layers.groups[:, None, None]
    weights_per_group = k * m
    restream_inputs = (is_os | is_ws) & (input_per_group > in_buf)
    restream_weights = is_is & (weights_per_group > w_buf)
    input_passes = np.where(spatial_os, m, f_c)
    dram_ifmap = input_words * np.where(restream_inputs, input_passes, 1)
    dram_filter = g * weights_per_group * np.where(restream_weights, f_c, 1)
    # partial sums of one outer fold: OS keeps them in the PEs; WS holds N x C, IS holds C x M words
    live_psums = np.where(is_ws, n * np.minimum(cols, m), np.minimum(cols, n) * m)
    spill = ~is_os & (live_psums > out_buf)
    dram_ofmap = g * outputs * np.where(spill, passes, 1)
    dram_psum = g * outputs * np.where(spill, passes - 1, 0)

    dram_words = dram_ifmap + dram_filter + dram_ofmap + dram_psum
    transfer_cycles = np.ceil(dram_words * hardware.word_bytes[None, :, None] / hardware.dram_bandwidth[None, :, None])
    if transfer_cycles.size and not float(transfer_cycles.max()) < MAX_CYCLES:
        slowest = float(hardware.dram_bandwidth.min())
        raise ConfigError(
            f"a DRAM bandwidth of {slowest:g} bytes/cycle makes a layer's transfers take more than 2^62 cycles, "
            "beyond what the cost model counts; give a larger dram_bandwidth"
        )
    stall_cycles = np.maximum(0, transfer_cycles.astype(np.int64) - compute_cycles)

    rf = RF_ACCESSES_PER_MAC * macs
    clean_gb_ofmap = g * clean_ofmap
    array = np.where(
        is_os,
        (macs - gb_ifmap) + (macs - gb_filter),
        np.where(is_ws, macs - gb_ifmap, macs - gb_filter) + (macs - clean_gb_ofmap),
    )
    array = np.maximum(array, 0)
    gb_total = gb_ifmap + gb_filter + gb_ofmap + gb_psum + dram_words
    e = hardware.energy[None, :, :]
    with np.errstate(over="ignore"):  # an overflow to infinity is refused below, with one line
        energies = {
            "energy_mac": macs * e[..., 0:1],
            "energy_rf": rf * e[..., 1:2],
            "energy_array": array * e[..., 2:3],
            "energy_gb": gb_total * e[..., 3:4],
            "energy_dram": dram_words * e[..., 4:5],
        }
    values = {
        "macs": macs,
        "compute_cycles": compute_cycles,
        "stall_cycles": stall_cycles,
        "rf_accesses": rf,
        "array_transfers": array,
        "gb_ifmap_reads": gb_ifmap,
        "gb_filter_reads": gb_filter,
        "gb_ofmap_writes": gb_ofmap,
        "gb_psum_reads": gb_psum,
        "dram_ifmap_reads": dram_ifmap,
        "dram_filter_reads": dram_filter,
        "dram_ofmap_writes": dram_ofmap,
        "dram_psum_reads": dram_psum,
        **energies,
    }
    for level in ("energy_mac", "energy_rf", "energy_array", "energy_gb", "energy_dram"):
        if not np.all(np.isfinite(values[level])):
            raise ConfigError(
                f"{level.removeprefix('energy_')} energy per access is too large: a layer's energy overflows to "
                "infinity; give smaller energy costs (the unit is arbitrary, Eyeriss's table is 1/1/2/6/200)"
            )
    shape = np.broadcast_shapes(*(v.shape for v in values.values()))
    return {key: np.broadcast_to(value, shape) for key, value in values.items()}


def _energy(values: dict[str, npt.NDArray[Any]]) -> FloatArray:
    """Total energy of every (layer, config, dataflow)."""
    levels = ("energy_mac", "energy_rf", "energy_array", "energy_gb", "energy_dram")
    energy: FloatArray = np.sum([values[level] for level in levels], axis=0, dtype=np.float64)
    return energy


def _choose(values: dict[str, npt.NDArray[Any]], policy: Policy, hardware: HardwareArrays) -> IntArray:
    """Index of the dataflow the policy picks for every (layer, config), among the dataflows each config
    supports: shape ``(L, H)``."""
    if policy in DATAFLOWS:
        shape = values["compute_cycles"].shape[:2]
        return np.full(shape, DATAFLOWS.index(policy), dtype=np.int64)
    cycles = (values["compute_cycles"] + values["stall_cycles"]).astype(np.float64)
    energy = _energy(values)
    score = {"time": cycles, "energy": energy, "edp": energy * cycles / hardware.clock_hz[None, :, None]}[policy]
    return np.asarray(np.argmin(np.where(hardware.allowed[None], score, np.inf), axis=-1), dtype=np.int64)


def _check_policy(policy: str, configs: Sequence[HardwareConfig]) -> Policy:
    if policy not in POLICIES:
        raise ConfigError(f"unknown dataflow policy {policy!r}; valid: {', '.join(POLICIES)}")
    for config in configs:
        if policy in DATAFLOWS and policy not in config.dataflows:
            raise ConfigError(
                f"{config.name} supports the dataflows {', '.join(config.dataflows)}, not {policy!r}; choose one of "
                "them, or use a hardware file whose dataflows include it"
            )
    return policy


def as_hardware(hardware: HardwareConfig | str) -> HardwareConfig:
    """A hardware config given as itself, a preset name or a YAML file's path."""
    if isinstance(hardware, HardwareConfig):
        return hardware
    if isinstance(hardware, str):
        return resolve_hardware(hardware)
    raise ConfigError(f"hardware must be a HardwareConfig, a preset name or a YAML file, got {type(hardware).__name__}")


def simulate(layers: Sequence[LayerDesc], hardware: HardwareConfig | str, policy: str = DEFAULT_POLICY) -> list[Cost]:
    """Per-layer costs on one accelerator (a config, a preset name or a YAML file); ``policy``: a dataflow, or
    ``time``/``energy``/``edp`` (the best per layer of the dataflows the hardware supports,
    ``HardwareConfig.dataflows``).

    ``sum(simulate(...))`` is the network total.
    """
    hardware = as_hardware(hardware)
    chosen_policy = _check_policy(policy, [hardware])
    arrays = LayerArrays.from_layers(layers)
    hw = HardwareArrays.from_configs([hardware])
    values = cost_arrays(arrays, hw)
    choice = _choose(values, chosen_policy, hw)[:, 0]
    results = []
    for i, name in enumerate(arrays.names):
        d = int(choice[i])
        row = {key: value[i, 0, d] for key, value in values.items()}
        results.append(
            Cost(
                name=name,
                dataflow=DATAFLOWS[d],
                pes=hardware.pes,
                clock_hz=hardware.clock_mhz * 1e6,
                **{key: (float(v) if key.startswith("energy") else int(v)) for key, v in row.items()},  # type: ignore[arg-type]
            )
        )
    return results


def layer_totals(layers: LayerArrays, hardware: HardwareArrays, policy: Policy = "time") -> tuple[IntArray, FloatArray]:
    """Cycles (compute + stalls) and energy of every (layer, config) under the policy's dataflow choice:
    two arrays of shape ``(L, H)``. ``policy`` must have been checked against the configs."""
    values = cost_arrays(layers, hardware)
    choice = _choose(values, policy, hardware)[..., None]
    cycles = np.take_along_axis(values["compute_cycles"] + values["stall_cycles"], choice, -1)[..., 0]
    energy = np.take_along_axis(_energy(values), choice, -1)[..., 0]
    return cycles, energy


@dataclass(frozen=True)
class SweepResult:
    """Network totals for every (network, config) pair: arrays of shape ``(networks, configs)``."""

    cycles: IntArray
    energy: FloatArray
    macs: IntArray
    pes: IntArray

    @property
    def utilization(self) -> FloatArray:
        """Network-level utilization ``MACs / (PEs x cycles)``."""
        return self.macs / (self.pes[None, :] * self.cycles)


def sweep(
    networks: Iterable[Sequence[LayerDesc]],
    configs: Sequence[HardwareConfig | str],
    policy: str = "time",
) -> SweepResult:
    """Totals of many networks on many configs (configs, preset names or YAML files) in one vectorized
    evaluation."""
    if not configs:
        raise ConfigError("sweep needs at least one hardware config")
    hardware = [as_hardware(config) for config in configs]
    chosen_policy = _check_policy(policy, hardware)
    hw = HardwareArrays.from_configs(hardware)
    all_layers: list[LayerDesc] = []
    owner: list[int] = []
    for index, layers in enumerate(networks):
        all_layers.extend(layers)
        owner.extend([index] * len(layers))
    arrays = LayerArrays.from_layers(all_layers)
    cycles, energy = layer_totals(arrays, hw, chosen_policy)
    owners = np.array(owner)
    count = int(owners.max()) + 1
    if float(np.max(cycles, initial=0)) * len(owner) >= 2**63:
        raise ConfigError("the networks' total cycle counts would overflow 64 bits; sweep fewer or smaller networks")
    totals_cycles = np.zeros((count, len(configs)), dtype=np.int64)
    totals_energy = np.zeros((count, len(configs)), dtype=np.float64)
    totals_macs = np.zeros((count, len(configs)), dtype=np.int64)
    macs = arrays.groups * arrays.n * arrays.k * arrays.m
    np.add.at(totals_cycles, owners, cycles)
    np.add.at(totals_energy, owners, energy)
    np.add.at(totals_macs, owners, np.broadcast_to(macs[:, None], cycles.shape))
    return SweepResult(cycles=totals_cycles, energy=totals_energy, macs=totals_macs, pes=hw.rows * hw.cols)
