"""Deployment: BatchNorm folding, ONNX export round trip, int8, predictor, and clear errors."""

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
import torchvision
from PIL import Image

from model_helpers import randomize_batchnorm
from squeezenext import Predictor, create_model, list_models
from squeezenext.cli import main
from squeezenext.deploy.export import ExportError, LoadedModel, export_onnx, load_model, relative_error
from squeezenext.deploy.fold import count_batchnorms, fold_batchnorm
from squeezenext.deploy.predictor import PredictorError
from squeezenext.deploy.quantize import quantize_int8
from squeezenext.train.data import IMAGENET_MEAN, IMAGENET_STD, Preprocessing
from squeezenext.train.engine import Trainer

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


@pytest.mark.parametrize("name", list_models())
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
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small model trained on synthetic data: a real checkpoint for export, int8 and prediction."""
    from squeezenext.train.config import TrainConfig

    out = tmp_path_factory.mktemp("run")
    config = TrainConfig(
        data="fake", input_size=32, stem="small", model="sqnxt23_w1", fake_images=64, fake_classes=4,
        batch_size=16, base_batch=16, base_lr=0.05, warmup_iters=0, epochs=1, progress=False, out=str(out),
    )  # fmt: skip
    Trainer(config).fit()
    return out / "model.pt"


def test_int8_path_on_a_tiny_calibration_set(trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["export", str(trained), "--out", str(tmp_path / "m.onnx"), "--int8", "--calibration-images", "32", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["int8"]["calibration_images"] == 32
    assert report["fp32"]["max_relative_error"] < 1e-3
    proto = onnx.load(str(tmp_path / "m.onnx"))
    assert any(node.op_type == "QuantizeLinear" for node in proto.graph.node)
    assert abs(report["accuracy"]["change_points"]) <= 100  # measured on the fake test split
    assert report["accuracy"]["test_images"] == 16


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
    with pytest.raises(PredictorError, match="not a readable ONNX model"):
        Predictor(corrupt)
    with pytest.raises(PredictorError, match=r"image .*nope\.png does not exist"):
        Predictor(trained).predict([tmp_path / "nope.png"])
    assert main(["export", "sqnxt23_w1", "--out", str(tmp_path / "x.onnx"), "--input-size", "8"]) == 2
    assert "smaller than the minimum 11" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.pt"), "--out", str(tmp_path / "y.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_wrong_input_size_is_refused_by_the_model() -> None:
    loaded = load_model("sqnxt23_w1", 32)
    with pytest.raises(ValueError, match=">= 11"):
        loaded.module(torch.randn(1, 3, 8, 8))


def test_quantize_needs_calibration_images(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one image"):
        quantize_int8(tmp_path / "m.onnx", tmp_path / "q.onnx", np.zeros((0, 3, 32, 32), dtype=np.float32))
