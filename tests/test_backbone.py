"""The timm-style backbone API: features_only / out_indices / feature_info, reset_classifier, forward_features
and forward_head, for every registered model at two input sizes."""

import itertools
import math

import pytest
import torch

from squeezenext import create_model, list_models
from squeezenext.registry import model_plan

SIZES = (64, 97)


def _expected_sizes(name: str, size: int) -> list[int]:
    """Spatial size of each feature map from the analytic layer walk (independent of the module code)."""
    layers = list(model_plan(name).walk((size, size)))
    stem = layers[0][3][0]
    stage_ends = {}
    for layer_name, _, _, out in layers:
        if layer_name.startswith("stages."):
            stage_ends[int(layer_name.split(".")[1])] = out[0]
    return [stem, *(stage_ends[i] for i in range(4))]


@pytest.mark.parametrize("name", list_models())
def test_features_only_shapes_channels_and_strides(name: str) -> None:
    backbone = create_model(name, features_only=True).eval()
    info = backbone.feature_info
    assert info.module_name() == ["stem", "stages.0", "stages.1", "stages.2", "stages.3"]
    assert info.reduction() == [2, 4, 8, 16, 32]
    for size in SIZES:
        with torch.no_grad():
            maps = backbone(torch.randn(2, 3, size, size))
        assert [m.shape[1] for m in maps] == info.channels()
        assert [m.shape[-1] for m in maps] == _expected_sizes(name, size)
        assert all(m.shape[0] == 2 and m.shape[-1] == m.shape[-2] for m in maps)
        # the strides: each map is the previous one downsampled by the ratio of their reductions (floor or ceil)
        for (previous, r0), (current, r1) in itertools.pairwise(zip(maps, info.reduction(), strict=True)):
            factor = r1 // r0
            assert previous.shape[-1] // factor <= current.shape[-1] <= math.ceil(previous.shape[-1] / factor)


@pytest.mark.parametrize("name", list_models())
def test_classifier_api_matches_forward(name: str) -> None:
    model = create_model(name, num_classes=7).eval()
    x = torch.randn(2, 3, SIZES[0], SIZES[0])
    with torch.no_grad():
        features = model.forward_features(x)
        assert features.shape[1] == model.num_features
        assert torch.equal(model.forward_head(features), model(x))
        assert model.forward_head(features, pre_logits=True).shape == (2, model.num_features)
    assert [entry["num_chs"] for entry in model.feature_info] == create_model(
        name, features_only=True
    ).feature_info.channels()


def test_out_indices_select_and_normalize() -> None:
    full = create_model("sqnxt23v5_w1", stem="small-s2", in_channels=1).eval()
    backbone = create_model("sqnxt23v5_w1", stem="small-s2", in_channels=1, features_only=True, out_indices=(-1, 2))
    assert backbone.out_indices == (2, 4)
    assert backbone.feature_info.reduction() == [4, 16]
    assert len(backbone.stages) == 4
    shallow = create_model("sqnxt23v5_w1", features_only=True, out_indices=(1,))
    assert len(shallow.stages) == 1  # stages after the last requested map are dropped
    # the backbone keeps the classifier's module names: its weights load from the full model's
    backbone.load_state_dict({k: v for k, v in full.state_dict().items() if k in backbone.state_dict()})
    x = torch.randn(1, 1, 28, 28)
    with torch.no_grad():
        maps = backbone.eval()(x)
        expected = full.stages[:2](full.stem_pool(full.stem(x)))
    assert torch.equal(maps[0], expected)


@pytest.mark.parametrize(
    ("out_indices", "message"),
    [
        ((5,), r"out_indices entry 5 is out of range: this network has 5 feature maps"),
        ((-6,), r"out_indices entry -6 is out of range"),
        ((1, 1), r"names a feature map twice"),
        ((), r"non-empty sequence"),
        ("1", r"non-empty sequence"),
        ((1.0,), r"out_indices entry 1.0"),
    ],
)
def test_bad_out_indices_are_refused(out_indices: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_model("sqnxt23_w1", features_only=True, out_indices=out_indices)  # type: ignore[call-overload]


def test_reset_classifier() -> None:
    model = create_model("sqnxt23_w1").eval()
    model.reset_classifier(5)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert model(x).shape == (2, 5)
    assert model.num_classes == 5 and model.plan.num_classes == 5
    model.reset_classifier(0)
    with torch.no_grad():
        assert model(x).shape == (2, model.num_features)
    assert isinstance(model.get_classifier(), torch.nn.Identity)
    with pytest.raises(ValueError, match="num_classes must be an integer from 0 to 1,048,576"):
        model.reset_classifier(-1)
