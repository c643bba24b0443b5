"""Deployment: BatchNorm folding, ONNX export round trip, int8, predictor, and clear errors."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torchvision
from PIL import Image

from model_helpers import every_model, randomize_batchnorm
from squeezenext import Predictor, analytic_layers, create_model, list_models
from squeezenext.cli import main
from squeezenext.deploy.export import ExportError, export_onnx, relative_error
from squeezenext.deploy.fold import count_batchnorms, fold_batchnorm
from squeezenext.deploy.predictor import PredictorError
from squeezenext.deploy.quantize import quantize_int8
from squeezenext.errors import ModelError
from squeezenext.onnx_io import layers_from_onnx
from squeezenext.preprocessing import Preprocessing
from squeezenext.pretrained import IMAGENET_MEAN, IMAGENET_STD
from squeezenext.registry import model_plan
from squeezenext.sources import LoadedModel, parse_network
from squeezenext.train.engine import Trainer

ROOT = Path(__file__).resolve().parents[1]
SMALL = Preprocessing("imagenet", 32, 3, IMAGENET_MEAN, IMAGENET_STD, scale_to_unit=True)


@pytest.mark.parametrize(
    "model",
    [create_model("sqnxt23_w1"), create_model("sqnxt23v5_w1", flavor="pytorchcv"), torchvision.models.mobilenet_v2()],
    ids=["official", "pytorchcv", "mobilenet_v2"],
)
def test_folding_removes_batchnorm_and_keeps_outputs(model: torch.nn.Module) -> None:
    model.eval()
    randomize_batchnorm(model)
    folded = fold_batchnorm(model)
    assert count_batchnorms(model) > 0 and count_batchnorms(folded) == 0
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, actual = model(x), folded(x)
    assert relative_error(actual.numpy(), expected.numpy()) < 1e-5


@pytest.mark.parametrize("name", every_model(list_models()))
def test_export_round_trip_for_every_registered_model(name: str, tmp_path: Path) -> None:
    module = create_model(name).eval()
    randomize_batchnorm(module)
    report = export_onnx(LoadedModel(name, module, ["a"] * 1000, SMALL, None), tmp_path / "m.onnx", batch=None)
    assert report["max_relative_error"] < 1e-4
    assert report["batchnorms_left"] == 0
    assert not list(tmp_path.glob("*.data"))  # one self-contained file
    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert not any(node.op_type == "BatchNormalization" for node in proto.graph.node)
    assert {p.key for p in proto.metadata_props} >= {"squeezenext.classes", "squeezenext.preprocessing"}
    # the export simulates as the model does: same layer names, shapes and MACs
    expected = analytic_layers(model_plan(name), SMALL.input_size)
    exported = layers_from_onnx(tmp_path / "m.onnx")
    fields = ("name", "type", "in_channels", "out_channels", "kernel", "stride", "padding", "groups", "in_hw", "out_hw")
    assert [[getattr(layer, f) for f in (*fields, "macs")] for layer in exported] == [
        [getattr(layer, f) for f in (*fields, "macs")] for layer in expected
    ]


def test_fixed_batch_export(tmp_path: Path) -> None:
    module = create_model("sqnxt23v5_w1").eval()
    report = export_onnx(LoadedModel("v5", module, ["a"] * 1000, SMALL, None), tmp_path / "m.onnx", batch=3)
    assert not report["dynamic_batch"]
    dims = onnx.load(str(tmp_path / "m.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [3, 3, 32, 32]


def test_export_fails_loudly_above_the_tolerance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import squeezenext.deploy.export as export_module

    monkeypatch.setattr(export_module, "FP32_TOLERANCE", 0.0)
    module = create_model("sqnxt23_w1").eval()
    randomize_batchnorm(module)
    with pytest.raises(ExportError, match="above the tolerance"):
        export_onnx(LoadedModel("x", module, ["a"] * 1000, SMALL, None), tmp_path / "m.onnx", batch=None)
    assert not (tmp_path / "m.onnx").exists()


@pytest.fixture(scope="module")
def fashion_mnist_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1.0-SqNxt-23 trained for one short epoch on real Fashion-MNIST images (about 30 s), with the main job's
    earlier recipe (batch 64: enough steps in 8,000 images to learn)."""
    from squeezenext.train.recipes import earlier_main_job

    out = tmp_path_factory.mktemp("fmnist")
    config = dataclasses.replace(
        earlier_main_job(), epochs=1, train_subset=8000, test_subset=1000, warmup_iters=2, progress=False,
        out=str(out / "run"), data_root=str(out / "data"),
    )  # fmt: skip
    Trainer(config).fit()
    return out / "run" / "model.pt"


def test_int8_keeps_accuracy_and_agrees_with_fp32_on_real_images(
    fashion_mnist_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fp32 = tmp_path / "m.onnx"
    assert main(["export", str(fashion_mnist_model), "--out", str(fp32), "--int8", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["int8"]["calibration_images"] == 256
    assert report["int8"]["path"] == str(tmp_path / "m.int8.onnx")
    assert report["fp32"]["max_relative_error"] < 1e-3
    proto = onnx.load(str(tmp_path / "m.int8.onnx"))
    assert any(node.op_type == "QuantizeLinear" for node in proto.graph.node)
    assert not any(node.op_type == "QuantizeLinear" for node in onnx.load(str(fp32)).graph.node)
    simulated = [(layer.name, layer.macs) for layer in layers_from_onnx(fp32)]
    assert [(layer.name, layer.macs) for layer in layers_from_onnx(tmp_path / "m.int8.onnx")] == simulated
    accuracy = report["accuracy"]
    assert accuracy["test_images"] == 1000 and accuracy["fp32_top1"] > 50, "the model learned something (chance: 10%)"
    # A model trained this briefly quantizes worse than the main job's (whose int8 change, at most 1 point on the
    # 10k test images, tests/test_results.py checks); a miscalibrated int8 model agrees with fp32 on few images.
    assert abs(accuracy["change_points"]) <= 8.0
    assert accuracy["top1_agreement"] >= 0.6


@pytest.mark.extended
def test_executorch_int8_beside_fp32_on_real_images(
    fashion_mnist_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("executorch")
    argv = ["export", str(fashion_mnist_model), "--out", str(tmp_path / "m.onnx"), "--int8", "--executorch"]
    assert main([*argv, "--calibration-images", "64", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["executorch"]
    assert report["int8"]["path"] == str(tmp_path / "m.int8.pte") and (tmp_path / "m.int8.pte").stat().st_size > 0
    assert report["int8"]["bytes"] < report["bytes"] / 2, "int8 weights: under half the fp32 program"
    accuracy = report["int8"]["accuracy"]
    assert accuracy["test_images"] == 1000 and accuracy["fp32_top1"] > 50
    assert abs(accuracy["change_points"]) <= 8.0 and accuracy["top1_agreement"] >= 0.6  # as the int8 ONNX file


def test_int8_export_evaluates_on_the_checkpoints_own_data(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fake-data checkpoint with 4 classes: export must rebuild exactly the test split `eval` uses."""
    assert main(["eval", str(trained), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    argv = ["export", str(trained), "--out", str(tmp_path / "m.onnx"), "--int8", "--calibration-images", "32"]
    assert main([*argv, "--json"]) == 0
    accuracy = json.loads(capsys.readouterr().out)["accuracy"]
    assert accuracy["test_images"] == evaluated["images"] == 16
    assert accuracy["fp32_top1"] == pytest.approx(evaluated["top1"])


def test_predictor_on_a_real_image_file(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from skimage import data as skimage_data

    image = tmp_path / "coffee.png"
    Image.fromarray(skimage_data.coffee()).save(image)  # type: ignore[no-untyped-call]
    assert main(["export", str(trained), "--out", str(tmp_path / "m.onnx")]) == 0
    capsys.readouterr()
    from_onnx = Predictor(tmp_path / "m.onnx").predict([image, str(image)], top_k=3)
    from_torch = Predictor(trained).predict([image], top_k=3)
    assert len(from_onnx) == 2 and len(from_onnx[0].labels) == 3
    assert from_onnx[0].labels == from_torch[0].labels
    assert from_onnx[0].probabilities == pytest.approx(from_torch[0].probabilities, abs=1e-4)
    assert sum(from_onnx[0].probabilities) <= 1.0 + 1e-6
    array = np.asarray(Image.open(image))
    assert Predictor(trained).predict([array], top_k=1)[0].labels == from_torch[0].labels[:1]
    assert main(["predict", str(image), "--model", str(tmp_path / "m.onnx"), "--top-k", "2"]) == 0
    assert str(image) in capsys.readouterr().out


def test_clear_errors(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PredictorError, match="does not exist"):
        Predictor(tmp_path / "missing.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x00garbage")
    with pytest.raises(ModelError, match="not a readable ONNX model"):
        Predictor(corrupt)
    with pytest.raises(PredictorError, match=r"image .*nope\.png does not exist"):
        Predictor(trained).predict([tmp_path / "nope.png"])
    assert main(["export", "sqnxt23_w1", "--out", str(tmp_path / "x.onnx"), "--input-size", "8"]) == 2
    assert "smaller than the minimum 11" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "y.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_wrong_input_size_is_refused_by_the_model() -> None:
    loaded = parse_network("sqnxt23_w1").loaded(32)
    with pytest.raises(ValueError, match=">= 11"):
        loaded.module(torch.randn(1, 3, 8, 8))


def test_quantize_needs_calibration_images(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one image"):
        quantize_int8(tmp_path / "m.onnx", tmp_path / "q.onnx", np.zeros((0, 3, 32, 32), dtype=np.float32))


def test_a_registered_model_exports_with_its_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "small.onnx"
    argv = ["export", "sqnxt23v5_w1", "--out", str(out), "--num-classes", "10", "--in-channels", "1"]
    assert main([*argv, "--stem", "small-s2", "--input-size", "28", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fp32"]["input_size"] == 28
    graph = onnx.load(str(out)).graph
    assert [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim][1:] == [1, 28, 28]
    assert graph.output[0].type.tensor_type.shape.dim[1].dim_value == 10


def test_fp16_export_beside_fp32(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m.onnx"
    assert main(["export", "sqnxt23v5_w1", "--out", str(out), "--input-size", "64", "--fp16", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    half = tmp_path / "m.fp16.onnx"
    assert report["fp16"]["path"] == str(half) and report["fp16"]["max_relative_error"] <= 1e-2
    assert half.stat().st_size < 0.6 * out.stat().st_size  # float16 weights: about half the file
    graph = onnx.load(str(half)).graph
    assert graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT  # fp32 in and out
    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16}
    assert {init.data_type for init in graph.initializer if init.data_type in floats} == {onnx.TensorProto.FLOAT16}
    x = np.random.default_rng(1).standard_normal((2, 3, 64, 64), dtype=np.float32)
    sessions = [ort.InferenceSession(str(p)) for p in (out, half)]
    outputs = [s.run(None, {s.get_inputs()[0].name: x})[0] for s in sessions]
    assert np.abs(outputs[1] - outputs[0]).max() <= 1e-2 * np.abs(outputs[0]).max()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.fp16.onnx", "m.onnx"]  # no temporaries left


def test_openvino_ir_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ov = pytest.importorskip("openvino")
    out = tmp_path / "m.onnx"
    assert main(["export", "sqnxt23_w1", "--out", str(out), "--input-size", "64", "--openvino", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["openvino"]
    assert report["path"] == str(tmp_path / "m.xml") and report["max_relative_error"] <= 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.bin", "m.onnx", "m.xml"]
    # f32 pinned: on CPUs with native bf16 (AVX-512 BF16, AMX) OpenVINO computes in bf16 by default
    compiled = ov.Core().compile_model(str(tmp_path / "m.xml"), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    x = np.random.default_rng(2).standard_normal((1, 3, 64, 64), dtype=np.float32)
    session = ort.InferenceSession(str(out))
    expected = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert np.abs(compiled({0: x})[0] - expected).max() <= 1e-3 * np.abs(expected).max()


def test_openvino_export_without_openvino_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from squeezenext.deploy import commands

    monkeypatch.setattr(commands, "installed", lambda package: False)
    assert main(["export", "sqnxt23_w1", "--out", str(tmp_path / "m.onnx"), "--openvino"]) == 2
    assert "pip install openvino" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.extended
def test_executorch_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("executorch")
    from squeezenext.deploy.executorch_runtime import load_method

    out = tmp_path / "m.onnx"
    assert main(["export", "sqnxt23v5_w1", "--out", str(out), "--input-size", "64", "--executorch", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["executorch"]
    assert report["path"] == str(tmp_path / "m.pte") and report["batch"] == 1
    assert report["max_relative_error"] <= 1e-4
    x = torch.from_numpy(np.random.default_rng(3).standard_normal((1, 3, 64, 64), dtype=np.float32))
    session = ort.InferenceSession(str(out))
    expected = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    assert np.abs(load_method(tmp_path / "m.pte")(x).numpy() - expected).max() <= 1e-4 * np.abs(expected).max()
