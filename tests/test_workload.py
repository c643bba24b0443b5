"""Traced layer lists of torchvision models, checked against torchvision's own operation counts."""

import pytest
import torchvision
from hypothesis import given, settings
from hypothesis import strategies as st

from squeezenext import analytic_layers, squeezenext, trace_layers
from squeezenext.sources import load_workload
from squeezenext.workload import total_macs


@pytest.mark.parametrize(
    ("name", "weights"),
    [
        ("alexnet", "AlexNet_Weights"),
        ("squeezenet1_0", "SqueezeNet1_0_Weights"),
        ("squeezenet1_1", "SqueezeNet1_1_Weights"),
        ("mobilenet_v2", "MobileNet_V2_Weights"),
        ("resnet18", "ResNet18_Weights"),
    ],
)
def test_traced_macs_match_torchvision_metadata(name: str, weights: str) -> None:
    meta = getattr(torchvision.models, weights).DEFAULT.meta
    workload = load_workload(f"torchvision:{name}", input_size=224)
    assert workload.params_numel == meta["num_params"]
    # torchvision's "_ops" is GFLOPS counted as multiply-adds, rounded to 3 decimals
    assert round(total_macs(workload.layers) / 1e9, 3) == pytest.approx(meta["_ops"], abs=0.0015)


def test_traced_vgg19_counts_depthwise_free_convs() -> None:
    layers = load_workload("torchvision:vgg19", input_size=224).layers
    assert sum(layer.type == "conv" for layer in layers) == 16
    assert sum(layer.type == "fc" for layer in layers) == 3


def test_traced_mobilenet_keeps_depthwise_groups() -> None:
    layers = load_workload("torchvision:mobilenet_v2", input_size=224).layers
    depthwise = [layer for layer in layers if layer.groups > 1]
    assert depthwise
    assert all(layer.groups == layer.in_channels == layer.out_channels for layer in depthwise)


def test_unknown_torchvision_model_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown torchvision model 'nonet'.*alexnet"):
        load_workload("torchvision:nonet", input_size=224)


@settings(max_examples=12, deadline=None)
@given(
    blocks=st.tuples(*[st.integers(1, 2)] * 4),
    width=st.sampled_from([0.5, 1.0]),
    stem_kernel=st.sampled_from([3, 5, 7]),
    groups=st.sampled_from([1, 2]),
    v5_wiring=st.booleans(),
    extra=st.integers(0, 40),
)
def test_analytic_equals_traced_for_random_architectures(
    blocks: tuple[int, int, int, int],
    width: float,
    stem_kernel: int,
    groups: int,
    v5_wiring: bool,
    extra: int,
) -> None:
    model = squeezenext(width=width, blocks=blocks, stem_kernel=stem_kernel, groups=groups, v5_wiring=v5_wiring)
    size = model.min_input_size + extra
    layers = analytic_layers(model.plan, size)
    assert layers == trace_layers(model, size)
    assert sum(layer.params for layer in layers) + 2 * sum(
        layer.out_channels for layer in layers if layer.type == "conv"
    ) == sum(p.numel() for p in model.parameters())
