"""Hardware configs: presets, YAML loading and clear errors for every bad field."""

from pathlib import Path

import pytest

from squeezenext.accel.hardware import (
    EnergyCosts,
    HardwareConfig,
    list_presets,
    load_hardware,
    preset,
    resolve_hardware,
)
from squeezenext.errors import ConfigError


def test_presets_load_and_are_valid() -> None:
    names = list_presets()
    assert {"array-8x8", "array-16x16", "array-32x32", "eyeriss-16x16", "scalesim-32x32"} <= set(names)
    for name in names:
        config = preset(name)
        assert config.name == name
    assert preset("array-32x32").pes == 1024
    assert preset("scalesim-32x32").timing == "systolic"


def test_default_energy_is_the_eyeriss_table() -> None:
    energy = HardwareConfig().energy
    assert (energy.mac, energy.rf, energy.array, energy.gb, energy.dram) == (1, 1, 2, 6, 200)


def test_yaml_round_trip(tmp_path: Path) -> None:
    import yaml

    config = HardwareConfig(rows=8, cols=24, timing="systolic", energy=EnergyCosts(dram=640.0, unit="pJ"))
    path = tmp_path / "hw.yaml"
    path.write_text(yaml.safe_dump(config.to_dict()))
    assert load_hardware(path) == config
    assert resolve_hardware(str(path)) == config


def test_buffer_split_in_words() -> None:
    config = HardwareConfig(gb_kib=1, word_bits=16, gb_split=(0.5, 0.25, 0.25))
    assert config.buffer_words() == (256, 128, 128)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("rows: 0\ncols: 4", "rows must be an integer >= 1"),
        ("rows: 2.5\ncols: 4", "rows must be an integer, got 2.5"),
        ("cols: -3\nrows: 4", "cols must be an integer >= 1"),
        ("cols: 16", "missing key\\(s\\) rows"),
        ("timing: wavefront", "timing must be one of systolic, broadcast"),
        ("mapping: tiled", "mapping must be one of gemm, spatial"),
        ("gb_split: [0.5, 0.5, 0.5]", "summing to 1"),
        ("gb_kib: 0", "gb_kib must be a finite number > 0"),
        ("clock_mhz: fast", "clock_mhz must be a finite number, got .fast."),
        ("dram_bandwidth: -1", "dram_bandwidth must be a finite number > 0"),
        ("rf_bytes: 1\nword_bits: 16", "cannot hold one 16-bit word"),
        ("energy: {dram: -5}", "energy: dram must be a finite number >= 0"),
        ("energy: {sram: 5}", "energy: unknown key\\(s\\) sram"),
        ("energy: {unit: joules}", "energy: unit must be one of normalized, pJ"),
        ("array_size: 16", "unknown key"),
        ("- 1\n- 2", "expected a mapping"),
        ("rows: [1, 2", "not valid YAML"),
    ],
)
def test_bad_configs_name_the_field(yaml_text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    shape = "" if yaml_text.startswith(("rows", "cols", "-")) else "rows: 16\ncols: 16\n"
    path.write_text(shape + yaml_text)
    with pytest.raises(ConfigError, match=message):
        load_hardware(path)


def test_missing_file_and_unknown_preset() -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_hardware("/nonexistent/hw.yaml")
    with pytest.raises(ConfigError, match="unknown hardware preset 'tpu'; presets: array-16x16"):
        resolve_hardware("tpu")
