"""Workload front ends: SCALE-Sim topology CSV in and out, ONNX in."""

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from squeezenext.accel.cost import simulate, total
from squeezenext.accel.hardware import HardwareConfig
from squeezenext.accel.topology import read_scalesim_csv, write_scalesim_csv
from squeezenext.errors import ConfigError, ModelError
from squeezenext.onnx_io import layers_from_onnx
from squeezenext.registry import model_plan
from squeezenext.sources import load_workload
from squeezenext.workload import analytic_layers, total_macs

HEADER = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"


@pytest.mark.parametrize("name", ["sqnxt23_w1", "sqnxt23g_w1", "torchvision:mobilenet_v2"])
def test_csv_round_trip_keeps_macs_and_cycles(name: str, tmp_path: Path) -> None:
    layers = load_workload(name, input_size=224).layers
    path = tmp_path / "topology.csv"
    write_scalesim_csv(layers, path)
    back = read_scalesim_csv(path)
    assert total_macs(back) == total_macs(layers)
    for layer in back:
        assert layer.groups == 1 or "DP" in layer.name
    config = HardwareConfig(rows=16, cols=16, timing="systolic", mapping="gemm", gb_kib=1 << 20, dram_bandwidth=1e9)
    for dataflow in ("ws", "os", "is"):
        assert total(simulate(back, config, dataflow)).cycles == total(simulate(layers, config, dataflow)).cycles


def test_csv_output_sizes_follow_pytorch_after_cropping(tmp_path: Path) -> None:
    layers = analytic_layers(model_plan("sqnxt23_w1"), 227)
    path = tmp_path / "t.csv"
    write_scalesim_csv(layers, path)
    rows = path.read_text().splitlines()
    assert rows[0].startswith("Layer name, IFMAP Height")
    assert rows[1] == "stem.conv, 227, 227, 7, 7, 3, 64, 2,"
    assert [layer.out_hw for layer in read_scalesim_csv(path)] == [layer.out_hw for layer in layers]


def test_depthwise_dp_rows_follow_scalesim(tmp_path: Path) -> None:
    path = tmp_path / "dw.csv"
    path.write_text(HEADER + "conv_DP, 9, 9, 3, 3, 8, 1, 1,\n")
    (layer,) = read_scalesim_csv(path)
    assert (layer.groups, layer.in_channels, layer.out_channels, layer.out_hw) == (8, 8, 8, (7, 7))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("conv1, 10, 10, 3, 3, 5, 6,", r"row 2 has 7 columns"),
        ("conv1, 10, ten, 3, 3, 5, 6, 1,", r"row 2, column 'IFMAP Width': 'ten' is not an integer"),
        ("conv1, 10, 10, 3, 3, 0, 6, 1,", r"row 2, column 'Channels': must be >= 1"),
        (
            "conv1, 2, 10, 3, 3, 5, 6, 1,",
            r"row 2, column 'Filter Height': filter 3 is larger than the input 2",
        ),
    ],
)
def test_bad_csv_rows_name_row_and_column(row: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + row + "\n")
    with pytest.raises(ConfigError, match=message):
        read_scalesim_csv(path)


def test_empty_and_missing_csv(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(HEADER)
    with pytest.raises(ConfigError, match="no layer rows"):
        read_scalesim_csv(path)
    with pytest.raises(ConfigError, match="does not exist"):
        read_scalesim_csv(tmp_path / "missing.csv")


def _onnx_model(path: Path, dynamic: bool = False) -> None:
    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w")
    dw = numpy_helper.from_array(rng.standard_normal((8, 1, 3, 3)).astype(np.float32), "dw")
    fc = numpy_helper.from_array(rng.standard_normal((10, 8)).astype(np.float32), "fc")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], name="conv", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["a", "dw"], ["b"], name="depthwise", group=8, pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["b"], ["c"]),
        helper.make_node("Flatten", ["c"], ["d"]),
        helper.make_node("Gemm", ["d", "fc"], ["y"], name="fc", transB=1),
    ]
    size: list[int | str] = ["N", 3, "H", "W"] if dynamic else [1, 3, 32, 32]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, size)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [weight, dw, fc],
    )
    onnx.save(helper.make_model(graph), str(path))


def test_onnx_front_end(tmp_path: Path) -> None:
    path = tmp_path / "tiny.onnx"
    _onnx_model(path)
    conv, depthwise, fc = layers_from_onnx(path)
    assert (conv.in_hw, conv.out_hw, conv.stride, conv.padding, conv.macs) == (
        (32, 32),
        (16, 16),
        (2, 2),
        (1, 1),
        16 * 16 * 8 * 27,
    )
    assert (depthwise.groups, depthwise.macs) == (8, 16 * 16 * 8 * 9)
    assert (fc.type, fc.in_channels, fc.out_channels, fc.macs) == ("fc", 8, 10, 80)


def test_onnx_dynamic_input_needs_a_size(tmp_path: Path) -> None:
    path = tmp_path / "dyn.onnx"
    _onnx_model(path, dynamic=True)
    with pytest.raises(ModelError, match="dynamic; pass --input-size"):
        layers_from_onnx(path)
    assert layers_from_onnx(path, input_size=64)[0].out_hw == (32, 32)


def test_corrupt_onnx_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.onnx"
    path.write_bytes(b"not an onnx model")
    with pytest.raises(ModelError, match="not a readable ONNX model"):
        layers_from_onnx(path)
    path.write_bytes(b"")
    with pytest.raises(ModelError, match="holds no ONNX graph"):
        layers_from_onnx(path)
