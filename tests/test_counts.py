"""Parameter and MAC counts against docs/paper.md and pytorchcv's published counts."""

import pytest
from torch import nn

from squeezenext import analytic_layers, analytic_parameters, count_parameters, create_model
from squeezenext.registry import model_plan
from squeezenext.workload import total_macs

# docs/paper.md: paper convention (conv weights + BN scale/shift + FC weights), official definitions.
PAPER_PARAMS = {
    "sqnxt23_w1": 717_280,
    "sqnxt23g_w1": 543_072,
    "sqnxt23v5_w1": 930_016,
}
# docs/paper.md, "The pytorchcv flavor": pytorchcv's numel counts.
PYTORCHCV_PARAMS = {
    "sqnxt23_w1": 724_056,
    "sqnxt23_w3d2": 1_511_824,
    "sqnxt23_w2": 2_583_752,
    "sqnxt23v5_w1": 921_816,
    "sqnxt23v5_w3d2": 1_953_616,
    "sqnxt23v5_w2": 3_366_344,
}


@pytest.mark.parametrize(("name", "expected"), PAPER_PARAMS.items())
def test_official_parameter_counts_match_the_paper(name: str, expected: int) -> None:
    model = create_model(name)
    assert count_parameters(model, "paper") == expected
    assert count_parameters(model, "numel") == expected  # no biases in the official definitions
    assert analytic_parameters(model_plan(name)) == expected


def test_sqnxt23_w1_macs_at_227() -> None:
    macs = total_macs(analytic_layers(model_plan("sqnxt23_w1"), 227))
    assert macs == 277_999_808
    assert f"{macs / 1e6:.1f}M" == "278.0M"


def test_2_0_sqnxt_44_has_4_4m_parameters() -> None:
    assert round(analytic_parameters(model_plan("2.0-SqNxt-44")) / 1e6, 1) == 4.4


def test_g_sqnxt_is_112x_smaller_than_alexnet() -> None:
    assert round(60_970_000 / analytic_parameters(model_plan("1.0-G-SqNxt-23")), 1) == 112.3


@pytest.mark.parametrize(("name", "expected"), PYTORCHCV_PARAMS.items())
def test_pytorchcv_flavor_parameter_counts(name: str, expected: int) -> None:
    model = create_model(name, flavor="pytorchcv")
    assert count_parameters(model, "numel") == expected
    assert analytic_parameters(model_plan(name, flavor="pytorchcv"), "numel") == expected
    conv_fc_biases = sum(
        m.bias.numel() for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear) and m.bias is not None
    )
    assert conv_fc_biases > 0
    assert count_parameters(model, "paper") == expected - conv_fc_biases
