"""Every registered model: shapes, gradients, classes, scripting, analytic == traced layers."""

import pytest
import torch

from model_helpers import every_model
from squeezenext import analytic_layers, create_model, list_models, trace_layers
from squeezenext.registry import PYTORCHCV_MODELS, model_plan

ALL = list_models()
PYTORCHCV = sorted(PYTORCHCV_MODELS)


@pytest.mark.parametrize("name", ALL)
def test_forward_shape_at_227_and_224(name: str) -> None:
    model = create_model(name).eval()
    with torch.no_grad():
        for size in (227, 224):
            assert model(torch.randn(1, 3, size, size)).shape == (1, 1000)


@pytest.mark.parametrize("name", ALL)
def test_backward_reaches_every_parameter(name: str) -> None:
    model = create_model(name, num_classes=7)
    out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 7)
    out.square().mean().backward()
    for param_name, param in model.named_parameters():
        assert param.grad is not None, param_name
        assert param.grad.abs().sum() > 0, param_name


@pytest.mark.parametrize("name", ALL)
def test_analytic_layers_equal_traced_layers(name: str) -> None:
    model = create_model(name)
    for size in (227, 96):
        assert analytic_layers(model_plan(name), size) == trace_layers(model, size)


@pytest.mark.parametrize("name", PYTORCHCV)
def test_pytorchcv_flavor_analytic_equals_traced(name: str) -> None:
    model = create_model(name, flavor="pytorchcv")
    assert analytic_layers(model_plan(name, flavor="pytorchcv"), 224) == trace_layers(model, 224)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:FutureWarning")
@pytest.mark.parametrize("name", every_model(ALL))
def test_torchscript_matches_eager(name: str) -> None:
    model = create_model(name, num_classes=10).eval()
    scripted = torch.jit.script(model)
    x = torch.randn(2, 3, 48, 48)
    torch.testing.assert_close(scripted(x), model(x))


@pytest.mark.parametrize("name", ["sqnxt23_w1", "sqnxt23v5_w1"])
def test_torch_export_matches_eager(name: str) -> None:
    model = create_model(name).eval()
    x = torch.randn(1, 3, 227, 227)
    exported = torch.export.export(model, (x,))
    torch.testing.assert_close(exported.module()(x), model(x))


@pytest.mark.parametrize("name", ["sqnxt23_w1", "sqnxt23v5_w1", "sqnxt23g_w1"])
@pytest.mark.parametrize("size", [28, 32, 64])
def test_small_stem_for_small_inputs(name: str, size: int) -> None:
    model = create_model(name, num_classes=10, in_channels=1, stem="small")
    assert model(torch.randn(2, 1, size, size)).shape == (2, 10)
    assert analytic_layers(model.plan, size) == trace_layers(model, size, in_channels=1)


@pytest.mark.parametrize("name", ["sqnxt23_w1", "sqnxt23v5_w1"])
def test_too_small_input_names_the_minimum(name: str) -> None:
    model = create_model(name).eval()
    minimum = model.min_input_size
    with torch.no_grad():
        assert model(torch.randn(1, 3, minimum, minimum)).shape == (1, 1000)
        with pytest.raises(ValueError, match=f">= {minimum}"):
            model(torch.randn(1, 3, minimum - 1, minimum - 1))
    with pytest.raises(ValueError, match="too small"):
        analytic_layers(model.plan, minimum - 1)


def test_forward_features_and_head() -> None:
    model = create_model("sqnxt23_w1", num_classes=5).eval()
    x = torch.randn(2, 3, 227, 227)
    features = model.forward_features(x)
    assert features.shape == (2, 128, 7, 7)
    assert model.forward_head(features, pre_logits=True).shape == (2, 128)
    torch.testing.assert_close(model.forward_head(features), model(x))


def test_default_init_is_caffe_xavier() -> None:
    model = create_model("sqnxt23_w1")
    weight = model.stage_blocks(2)[3].reduce2.conv.weight
    bound = (3 / (weight.shape[1] * weight.shape[2] * weight.shape[3])) ** 0.5
    assert weight.abs().max() <= bound
    assert weight.abs().max() > 0.9 * bound
    assert torch.all(model.stem.bn.weight == 1)
