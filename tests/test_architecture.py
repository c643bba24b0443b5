"""The official block structure, checked layer by layer against docs/paper.md."""

import torch
from torch import nn

from squeezenext import create_model, squeezenext
from squeezenext.model import Block, ConvBnReLU


def _convs(block: Block) -> dict[str, nn.Conv2d]:
    convs = {"shortcut": _projection(block)}
    convs.update({name: getattr(block, name).conv for name in ("reduce1", "reduce2", "sep1", "sep2", "expand")})
    return convs


def _projection(block: Block) -> nn.Conv2d:
    assert isinstance(block.shortcut, ConvBnReLU), "expected a projection shortcut"
    return block.shortcut.conv


def test_official_v1_stem_and_first_block() -> None:
    model = create_model("1.0-SqNxt-23")
    stem = model.stem.conv
    assert (stem.kernel_size, stem.stride, stem.padding, stem.out_channels) == ((7, 7), (2, 2), (0, 0), 64)
    convs = _convs(model.stage_blocks(0)[0])
    assert (convs["shortcut"].in_channels, convs["shortcut"].out_channels) == (64, 32)
    assert [(c.in_channels, c.out_channels) for k, c in convs.items() if k != "shortcut"] == [
        (64, 16),
        (16, 8),
        (8, 16),
        (16, 16),
        (16, 32),
    ]
    assert all(c.bias is None for c in convs.values())
    assert model.fc.bias is None


def test_separable_order_alternates_within_each_stage() -> None:
    model = create_model("sqnxt23_w1")
    for i in range(4):
        for j, block in enumerate(model.stage_blocks(i)):
            expected = ((3, 1), (1, 3)) if j % 2 == 0 else ((1, 3), (3, 1))
            assert (block.sep1.conv.kernel_size, block.sep2.conv.kernel_size) == expected
            assert block.sep1.conv.padding == ((1, 0) if j % 2 == 0 else (0, 1))


def test_stride_and_projection_sit_in_first_blocks() -> None:
    model = create_model("sqnxt23_w1")
    for i in range(4):
        first, *others = model.stage_blocks(i)
        assert _projection(first).stride == ((2, 2) if i > 0 else (1, 1))
        assert first.reduce1.conv.stride == _projection(first).stride
        assert all(isinstance(b.shortcut, nn.Identity) for b in others)


def test_v5_wiring_feeds_the_projection_into_the_branch() -> None:
    model = create_model("1.0-SqNxt-23v5").eval()
    assert model.stem.conv.kernel_size == (5, 5)
    first = model.stage_blocks(1)[0]
    assert first.v5_wiring
    assert (first.reduce1.conv.in_channels, first.reduce1.conv.stride) == (64, (1, 1))
    assert _projection(first).stride == (2, 2)
    x = torch.randn(1, 32, 56, 56)
    with torch.no_grad():
        p = first.shortcut(x)
        expected = torch.relu(p + first.expand(first.sep2(first.sep1(first.reduce2(first.reduce1(p))))))
        torch.testing.assert_close(first(x), expected)


def test_official_wide_models_keep_stem_and_head_unscaled() -> None:
    model = create_model("2.0-SqNxt-23")
    assert model.stem.conv.out_channels == 64
    assert model.head.conv.out_channels == 128
    assert [model.stage_blocks(i)[0].expand.conv.out_channels for i in range(4)] == [64, 128, 256, 512]


def test_group_variant_groups_reduce1_and_separable() -> None:
    block = create_model("1.0-G-SqNxt-23").stage_blocks(2)[1]
    assert [block.reduce1.conv.groups, block.sep1.conv.groups, block.sep2.conv.groups] == [2, 2, 2]
    assert [block.reduce2.conv.groups, block.expand.conv.groups] == [1, 1]


def test_general_constructor_builds_any_configuration() -> None:
    model = squeezenext(width=0.5, blocks=(1, 2, 3, 1), stem_kernel=3, groups=2, v5_wiring=True, num_classes=3)
    assert [model.stage_blocks(i)[0].expand.conv.out_channels for i in range(4)] == [16, 32, 64, 128]
    assert [len(model.stage_blocks(i)) for i in range(4)] == [1, 2, 3, 1]
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 3)
