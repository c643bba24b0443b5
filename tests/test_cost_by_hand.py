"""Cost-model and constraint cases computed by hand, not from the code's own earlier output.

Each expected number below is worked out in the comment beside it from the formulas of docs/accelerator.md
(the module docstring of ``squeezenext.accel.cost``) and the hardware's definition.
"""

import numpy as np
import pytest

from squeezenext.accel.cost import simulate
from squeezenext.accel.hardware import HardwareConfig, list_presets, resolve_hardware
from squeezenext.search.objectives import Constraint
from squeezenext.workload import LayerDesc, conv_macs, conv_params

EYERISS_ENERGY = {"mac": 1.0, "rf": 1.0, "array": 2.0, "gb": 6.0, "dram": 200.0}
"""Normalized energy per access (Chen et al., "Eyeriss", ISCA 2016, Fig. 2 / Sec. V: ALU 1x, RF 1x, PE array
2x, global buffer 6x, DRAM 200x), which every preset uses."""


def _pointwise(channels: int, size: int, filters: int) -> LayerDesc:
    """A 1x1 stride-1 convolution on a ``channels x size x size`` input."""
    return LayerDesc(
        name="pw",
        type="conv",
        in_channels=channels,
        out_channels=filters,
        kernel=(1, 1),
        stride=(1, 1),
        padding=(0, 0),
        groups=1,
        in_hw=(size, size),
        out_hw=(size, size),
        params=conv_params(channels, filters, (1, 1), 1, False),
        macs=conv_macs(channels, filters, (1, 1), 1, (size, size)),
    )


def _tiny(split: tuple[float, float, float]) -> HardwareConfig:
    """8 rows x 4 columns, gemm mapping, 8-bit words, a 1 KiB global buffer: 1,024 words, split as given."""
    return resolve_hardware("scalesim-32x32").replace(
        rows=8, cols=4, word_bits=8, gb_kib=1, gb_split=split, dataflows=("ws", "os", "is")
    )


def test_an_input_exactly_as_large_as_its_partition_is_read_once() -> None:
    # 8 channels of 8x8 = 512 input words. WS on the gemm mapping: S_c = M = 8 filters over 4 columns, f_c = 2.
    layer = _pointwise(8, 8, 8)
    exact = simulate([layer], _tiny((0.5, 0.25, 0.25)), "ws")[0]  # input partition 0.5 x 1,024 = 512 words: fits
    assert exact.dram_ifmap_reads == 512
    short = simulate([layer], _tiny((0.49, 0.26, 0.25)), "ws")[0]  # 501.76 words: re-read for each of f_c = 2 folds
    assert short.dram_ifmap_reads == 2 * 512
    # everything else about the two is the same: weights 8 x 8 = 64 words, read once; outputs 8 x 64 = 512, written once
    for cost in (exact, short):
        assert (cost.dram_filter_reads, cost.dram_ofmap_writes, cost.dram_psum_reads) == (64, 512, 0)


def test_an_uneven_split_moves_the_boundary_of_each_operand() -> None:
    # IS restreams the weights for every column fold when they do not fit: S_c = N = 64 pixels / 4 columns = 16
    # folds. 64 filters x 8 channels = 512 weight words.
    layer = _pointwise(8, 8, 64)
    fits = simulate([layer], _tiny((0.25, 0.5, 0.25)), "is")[0]  # weight partition 512 words: fits
    assert fits.dram_filter_reads == 512
    starved = simulate([layer], _tiny((0.5, 0.25, 0.25)), "is")[0]  # 256 words: 16 reads of every weight
    assert starved.dram_filter_reads == 16 * 512


def test_every_preset_uses_the_eyeriss_energy_table() -> None:
    for name in list_presets():
        energy = resolve_hardware(name).energy
        assert {key: getattr(energy, key) for key in EYERISS_ENERGY} == EYERISS_ENERGY, name
        assert energy.unit == "normalized"


def test_dram_energy_is_two_hundred_macs_per_word() -> None:
    layer = _pointwise(8, 8, 8)
    cost = simulate([layer], _tiny((0.5, 0.25, 0.25)), "ws")[0]
    words = cost.dram_ifmap_reads + cost.dram_filter_reads + cost.dram_ofmap_writes + cost.dram_psum_reads
    assert cost.energy_dram == pytest.approx(200.0 * words)
    assert cost.energy_mac == pytest.approx(1.0 * 8 * 8 * 64)  # one per MAC: 8 channels x 8 filters x 64 pixels


@pytest.mark.parametrize(
    ("text", "holds_at_the_bound"),
    [("params<=930016", True), ("params<930016", False), ("params>=930016", True), ("params>930016", False),
     ("params==930016", True)],
)  # fmt: skip
def test_a_design_exactly_at_a_bound(text: str, holds_at_the_bound: bool) -> None:
    constraint = Constraint.parse(text)
    at, below, above = constraint.violation(np.array([930016.0, 930015.0, 930017.0]))
    assert bool(at == 0.0) is holds_at_the_bound
    assert bool(below == 0.0) is (constraint.op in ("<=", "<"))
    assert bool(above == 0.0) is (constraint.op in (">=", ">"))
