"""Hand-checked cases for every formula of the cost model, and property tests."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accel_helpers import conv
from squeezenext.accel.cost import RF_ACCESSES_PER_MAC, simulate, sweep, total
from squeezenext.accel.hardware import EnergyCosts, HardwareConfig
from squeezenext.errors import ConfigError
from squeezenext.registry import model_plan
from squeezenext.workload import LayerDesc, analytic_layers

BIG = {"gb_kib": 1 << 20, "dram_bandwidth": 1e9}


def hw(**changes: object) -> HardwareConfig:
    return HardwareConfig(**{"rows": 2, "cols": 2, **BIG, **changes})  # type: ignore[arg-type]


# A 1x1 conv: N = 4 pixels, K = 3, M = 5 filters, MACs = 60, on a 2x2 array.
POINTWISE = conv(cin=3, cout=5, out_hw=(2, 2))
# A 3x3 conv: N = 9, c = 2, taps = 9, K = 18, M = 3, MACs = 486.
SPATIAL = conv(cin=2, cout=3, kernel=(3, 3), out_hw=(3, 3), in_hw=(5, 5))


@pytest.mark.parametrize(
    ("dataflow", "cycles", "ifmap", "filt", "ofmap", "psum"),
    [
        # OS: S_r=N=4, S_c=M=5, T=K=3 -> f_r=2, f_c=3, F=6
        ("os", 18, 4 * 3 * 3, 5 * 3 * 2, 20, 0),
        # WS: S_r=K=3, S_c=M=5, T=N=4 -> f_r=2, f_c=3, F=6
        ("ws", 24, 4 * 3 * 3, 15, 20 * 2, 20),
        # IS: S_r=K=3, S_c=N=4, T=M=5 -> f_r=2, f_c=2, F=4
        ("is", 20, 12, 15 * 2, 20 * 2, 20),
    ],
)
def test_gemm_broadcast_by_hand(dataflow: str, cycles: int, ifmap: int, filt: int, ofmap: int, psum: int) -> None:
    cost = simulate([POINTWISE], hw(timing="broadcast", mapping="gemm"), dataflow)[0]
    assert (cost.compute_cycles, cost.stall_cycles) == (cycles, 0)
    assert (cost.gb_ifmap_reads, cost.gb_filter_reads, cost.gb_ofmap_writes, cost.gb_psum_reads) == (
        ifmap,
        filt,
        ofmap,
        psum,
    )
    assert cost.utilization == pytest.approx(60 / (4 * cycles))


@pytest.mark.parametrize(
    ("dataflow", "cycles"), [("os", 6 * (3 + 2) - 1), ("ws", 6 * (4 + 4) - 1), ("is", 4 * (5 + 4) - 1)]
)
def test_gemm_systolic_skew_by_hand(dataflow: str, cycles: int) -> None:
    cost = simulate([POINTWISE], hw(timing="systolic", mapping="gemm"), dataflow)[0]
    assert cost.compute_cycles == cycles


def test_systolic_os_output_count_has_scalesims_demand_term() -> None:
    cost = simulate([POINTWISE], hw(timing="systolic", mapping="gemm"), "os")[0]
    assert cost.gb_ofmap_writes == 20 + 6 * (2 + 2)


@pytest.mark.parametrize(
    ("dataflow", "cycles", "ifmap", "filt", "ofmap", "psum"),
    [
        # OS: 3x3 output tile on 2x2 -> f_r=f_c=2, X=M=3, F=12, T=K=18
        ("os", 12 * 18, 9 * 18 * 3, 18 * 3 * 4, 27, 0),
        # WS: S_r=c=2, S_c=M=3, X=taps=9 -> F=1*2*9=18, T=N=9; P = 9 passes
        ("ws", 18 * 9, 9 * 18 * 2, 54, 27 * 9, 27 * 8),
        # IS: S_r=c=2, S_c=N=9, X=9 -> F=1*5*9=45, T=M=3
        ("is", 45 * 3, 9 * 18, 54 * 5, 27 * 9, 27 * 8),
    ],
)
def test_spatial_broadcast_by_hand(dataflow: str, cycles: int, ifmap: int, filt: int, ofmap: int, psum: int) -> None:
    cost = simulate([SPATIAL], hw(timing="broadcast", mapping="spatial"), dataflow)[0]
    assert cost.compute_cycles == cycles
    assert (cost.gb_ifmap_reads, cost.gb_filter_reads, cost.gb_ofmap_writes, cost.gb_psum_reads) == (
        ifmap,
        filt,
        ofmap,
        psum,
    )


def test_spatial_ws_shows_low_utilization_for_three_input_channels() -> None:
    stem = analytic_layers(model_plan("sqnxt23_w1"), 227)[0]
    cost = simulate([stem], HardwareConfig(rows=16, cols=16, **BIG), "ws")[0]  # type: ignore[arg-type]
    assert cost.utilization <= 3 / 16


def test_grouped_conv_costs_g_times_one_group() -> None:
    grouped = conv(cin=8, cout=8, kernel=(3, 3), out_hw=(4, 4), groups=4)
    one_group = conv(cin=2, cout=2, kernel=(3, 3), out_hw=(4, 4))
    for dataflow in ("ws", "os", "is"):
        a = simulate([grouped], hw(), dataflow)[0]
        b = simulate([one_group], hw(), dataflow)[0]
        assert a.compute_cycles == 4 * b.compute_cycles
        assert a.macs == 4 * b.macs


def test_dram_stall_by_hand() -> None:
    # 12 input + 15 weight + 20 output words, 2 bytes each, at 1 byte/cycle = 94 cycles vs 18 of compute
    config = hw(timing="broadcast", mapping="gemm", word_bits=16, dram_bandwidth=1.0)
    cost = simulate([POINTWISE], config, "os")[0]
    assert cost.dram_accesses == 47
    assert (cost.compute_cycles, cost.stall_cycles, cost.cycles) == (18, 94 - 18, 94)
    assert cost.time_s == pytest.approx(94 / 200e6)


def test_refetch_when_the_input_does_not_fit() -> None:
    config = hw(timing="broadcast", mapping="gemm", gb_kib=0.01)  # 5 words in all
    cost = simulate([POINTWISE], config, "os")[0]
    assert cost.dram_ifmap_reads == 12 * 3  # re-streamed for each of f_c = 3 column folds


def test_partial_sums_spill_when_the_output_buffer_is_small() -> None:
    config = hw(timing="broadcast", mapping="gemm", gb_kib=0.01)
    cost = simulate([POINTWISE], config, "ws")[0]
    assert (cost.dram_ofmap_writes, cost.dram_psum_reads) == (20 * 2, 20)


def test_energy_is_accesses_times_costs() -> None:
    costs = EnergyCosts(mac=1, rf=2, array=3, gb=5, dram=7, unit="pJ")
    cost = simulate([POINTWISE], hw(energy=costs), "ws")[0]
    assert cost.rf_accesses == RF_ACCESSES_PER_MAC * 60
    assert cost.energy_mac == 60
    assert cost.energy_rf == 2 * cost.rf_accesses
    assert cost.energy_array == 3 * cost.array_transfers
    assert cost.energy_gb == 5 * cost.gb_accesses
    assert cost.energy_dram == 7 * cost.dram_accesses
    assert cost.energy == pytest.approx(sum(cost.energy_by_level().values()))


def test_policies_pick_the_best_dataflow_per_layer() -> None:
    layers = analytic_layers(model_plan("sqnxt23v5_w1"), 227)
    config = HardwareConfig()
    fixed = {d: simulate(layers, config, d) for d in ("ws", "os", "is")}
    for policy, key in (("time", "cycles"), ("energy", "energy")):
        chosen = simulate(layers, config, policy)
        for i, cost in enumerate(chosen):
            assert getattr(cost, key) == min(getattr(fixed[d][i], key) for d in fixed)
    assert total(simulate(layers, config, "time")).cycles <= min(total(v).cycles for v in fixed.values())


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ConfigError, match="valid: ws, os, is, time, energy, edp"):
        simulate([POINTWISE], hw(), "fastest")


def test_sweep_equals_simulate() -> None:
    networks = [analytic_layers(model_plan(n), 227) for n in ("sqnxt23_w1", "sqnxt23v5_w1")]
    configs = [HardwareConfig(rows=r, cols=r) for r in (8, 16, 32)]
    result = sweep(networks, configs, "time")
    for i, layers in enumerate(networks):
        for j, config in enumerate(configs):
            expected = total(simulate(layers, config, "time"))
            assert result.cycles[i, j] == expected.cycles
            assert result.energy[i, j] == pytest.approx(expected.energy)
            assert result.utilization[i, j] == pytest.approx(expected.utilization)


layer_strategy = st.builds(
    lambda cin_g, cout_g, k, oh, ow, groups: conv(
        cin=cin_g * groups, cout=cout_g * groups, kernel=k, out_hw=(oh, ow), groups=groups
    ),
    st.integers(1, 40),
    st.integers(1, 40),
    st.sampled_from([(1, 1), (3, 3), (3, 1), (1, 3), (5, 5), (7, 7)]),
    st.integers(1, 30),
    st.integers(1, 30),
    st.integers(1, 4),
)
config_strategy = st.builds(
    HardwareConfig,
    rows=st.integers(1, 40),
    cols=st.integers(1, 40),
    timing=st.sampled_from(["systolic", "broadcast"]),
    mapping=st.sampled_from(["gemm", "spatial"]),
    gb_kib=st.floats(0.5, 4096),
    dram_bandwidth=st.floats(0.5, 1024),
)


@settings(max_examples=150, deadline=None)
@given(
    layers=st.lists(layer_strategy, min_size=1, max_size=5),
    config=config_strategy,
    dataflow=st.sampled_from(["ws", "os", "is"]),
)
def test_properties(layers: list[LayerDesc], config: HardwareConfig, dataflow: str) -> None:
    costs = simulate(layers, config, dataflow)
    for layer, cost in zip(layers, costs, strict=True):
        assert cost.macs == layer.macs
        assert cost.cycles * config.pes >= cost.macs  # cycles >= MACs / PEs
        assert 0 < cost.utilization <= 1
        assert min(cost.rf_accesses, cost.array_transfers, cost.gb_accesses, cost.dram_accesses) >= 0
    network = total(costs)
    assert network.cycles == sum(c.cycles for c in costs)
    assert network.energy == pytest.approx(sum(c.energy for c in costs))
    assert network.macs == sum(layer.macs for layer in layers)


@settings(max_examples=60, deadline=None)
@given(
    layer=layer_strategy,
    config=config_strategy,
    level=st.sampled_from(["mac", "rf", "array", "gb", "dram"]),
    factor=st.floats(1.0, 10.0),
)
def test_energy_is_monotone_in_access_costs(
    layer: LayerDesc, config: HardwareConfig, level: str, factor: float
) -> None:
    cheaper = simulate([layer], config, "ws")[0].energy
    energy = dataclasses.replace(config.energy, **{level: getattr(config.energy, level) * factor})
    assert simulate([layer], config.replace(energy=energy), "ws")[0].energy >= cheaper
