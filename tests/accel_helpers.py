"""Small layer builders shared by the accelerator tests."""

from squeezenext.workload import LayerDesc, conv_macs, conv_params


def conv(
    name: str = "conv",
    *,
    cin: int,
    cout: int,
    kernel: tuple[int, int] = (1, 1),
    out_hw: tuple[int, int],
    in_hw: tuple[int, int] | None = None,
    stride: int = 1,
    groups: int = 1,
) -> LayerDesc:
    """A convolution workload with consistent params and MACs."""
    return LayerDesc(
        name=name,
        type="conv",
        in_channels=cin,
        out_channels=cout,
        kernel=kernel,
        stride=(stride, stride),
        padding=(0, 0),
        groups=groups,
        in_hw=in_hw or out_hw,
        out_hw=out_hw,
        params=conv_params(cin, cout, kernel, groups, bias=False),
        macs=conv_macs(cin, cout, kernel, groups, out_hw),
    )
