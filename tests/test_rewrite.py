"""Exact graph rewrites: the space-to-depth stem and the redundant-ReLU removal compute what the originals do."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from model_helpers import randomize_batchnorm
from squeezenext import create_model, list_models
from squeezenext.cli import main
from squeezenext.deploy.export import export_onnx
from squeezenext.deploy.rewrite import apply_exact_rewrites, drop_redundant_relus, stem_to_space_to_depth
from squeezenext.preprocessing import Preprocessing
from squeezenext.pretrained import IMAGENET_MEAN, IMAGENET_STD
from squeezenext.registry import model_plan
from squeezenext.sources import LoadedModel


def _run(proto: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    onnx.checker.check_model(proto, full_check=True)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.asarray(session.run(None, {"x": x})[0])


def _stem_graph(weight: np.ndarray, bias: np.ndarray, pads: list[int], size: tuple[int, int]) -> onnx.ModelProto:
    channels, (kh, kw) = weight.shape[1], weight.shape[2:]
    out = ((size[0] + pads[0] + pads[2] - kh) // 2 + 1, (size[1] + pads[1] + pads[3] - kw) // 2 + 1)
    conv = helper.make_node(
        "Conv", ["x", "w", "b"], ["y"], name="stem.conv", kernel_shape=list(weight.shape[2:]), strides=[2, 2], pads=pads
    )
    graph = helper.make_graph(
        [conv],
        "stem",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, *size])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, weight.shape[0], *out])],
        [numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@settings(max_examples=40, deadline=None)
@given(
    kernel=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    channels=st.integers(1, 4),
    pads=st.lists(st.integers(0, 3), min_size=4, max_size=4),
    size=st.tuples(st.integers(7, 19), st.integers(7, 19)),
)
def test_space_to_depth_stem_equals_the_stride_2_convolution(
    kernel: tuple[int, int], channels: int, pads: list[int], size: tuple[int, int]
) -> None:
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((5, channels, *kernel)).astype(np.float32)
    bias = rng.standard_normal(5).astype(np.float32)
    x = rng.standard_normal((1, channels, *size)).astype(np.float32)
    original = _stem_graph(weight, bias, pads, size)
    expected = torch.nn.functional.conv2d(
        torch.nn.functional.pad(torch.from_numpy(x), (pads[1], pads[3], pads[0], pads[2])),
        torch.from_numpy(weight),
        torch.from_numpy(bias),
        stride=2,
    ).numpy()
    rewritten = _stem_graph(weight, bias, pads, size)
    note = stem_to_space_to_depth(rewritten)
    if note.startswith("left alone"):  # only when the padded image would have to be cropped (even kernels)
        assert "crop" in note and (kernel[0] % 2 == 0 or kernel[1] % 2 == 0)
        return
    assert [node.op_type for node in rewritten.graph.node][-2:] == ["SpaceToDepth", "Conv"]
    np.testing.assert_allclose(_run(original, x), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_run(rewritten, x), expected, rtol=1e-5, atol=1e-5)


def _relu_graph(add_inputs_relu: tuple[bool, bool]) -> onnx.ModelProto:
    """y = ReLU(a + b) with a, b each ReLU(x * s) or x * s (possibly negative)."""
    nodes = []
    names = []
    for i, rectified in enumerate(add_inputs_relu):
        nodes.append(helper.make_node("Mul", ["x", f"s{i}"], [f"m{i}"]))
        if rectified:
            nodes.append(helper.make_node("Relu", [f"m{i}"], [f"r{i}"]))
        names.append(f"r{i}" if rectified else f"m{i}")
    nodes += [helper.make_node("Add", names, ["sum"]), helper.make_node("Relu", ["sum"], ["rectified"])]
    nodes.append(helper.make_node("Identity", ["rectified"], ["y"]))
    scales = [numpy_helper.from_array(np.array(v, np.float32), f"s{i}") for i, v in enumerate((1.5, -2.0))]
    graph = helper.make_graph(
        nodes,
        "relu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        scales,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])


@pytest.mark.parametrize(
    ("rectified", "removed"), [((True, True), 1), ((True, False), 0), ((False, True), 0), ((False, False), 0)]
)
def test_only_relus_of_provably_non_negative_sums_are_removed(rectified: tuple[bool, bool], removed: int) -> None:
    x = np.array([-2.0, -0.5, 0.5, 3.0], np.float32)
    proto = _relu_graph(rectified)
    expected = _run(proto, x)
    assert drop_redundant_relus(proto) == removed
    np.testing.assert_array_equal(_run(proto, x), expected)


@pytest.mark.parametrize(
    ("name", "size"),
    [
        pytest.param(name, size, marks=() if name == "sqnxt23v5_w1" and size == 67 else pytest.mark.extended)
        for name in list_models()
        for size in (64, 67)
    ],
)
def test_rewritten_exports_match_pytorch_for_every_registered_model(name: str, size: int, tmp_path: Path) -> None:
    """An even and an odd input size (the stem's space-to-depth then pads the image)."""
    module = create_model(name).eval()
    randomize_batchnorm(module)
    preprocessing = Preprocessing("imagenet", size, 3, IMAGENET_MEAN, IMAGENET_STD, scale_to_unit=True)
    loaded = LoadedModel(name, module, ["a"] * 1000, preprocessing, None)
    report = export_onnx(loaded, tmp_path / "m.onnx", batch=None, rewrite=True)
    assert report["max_relative_error"] < 1e-4  # against PyTorch, as every export
    assert report["rewrites"]["relus_removed"] == sum(len(stage) for stage in model_plan(name).stages)
    assert report["rewrites"]["stem_space_to_depth"]
    ops = [node.op_type for node in onnx.load(str(tmp_path / "m.onnx")).graph.node]
    assert "SpaceToDepth" in ops and ops.count("Relu") == ops.count("Conv")  # one per conv-BN-ReLU


def test_the_rewritten_graph_keeps_a_graph_output_relu() -> None:
    """A ReLU whose output is the graph's output is never dropped (its name is the interface)."""
    proto = _relu_graph((True, True))
    proto.graph.node.pop()  # drop the Identity: the last ReLU now writes the graph output
    proto.graph.node[-1].output[0] = "y"
    assert drop_redundant_relus(proto) == 0


def test_export_cli_reports_the_rewrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.onnx"
    assert main(["export", "sqnxt23v5_w1", "--out", str(out), "--input-size", "67", "--graph-rewrites"]) == 0
    assert "exact rewrites: 21 redundant ReLUs removed; stem 5x5 stride 2 on 3 channels -> 3x3 stride 1 on 12" in (
        capsys.readouterr().out
    )
    assert apply_exact_rewrites(onnx.load(str(out))).relus_removed == 0  # nothing left to remove
