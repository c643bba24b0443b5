"""Layer workloads: the convolutions and fully connected layers of a network at one input size.

Two producers give the same :class:`LayerDesc` list: :func:`analytic_layers` reads a SqueezeNext
:class:`~squeezenext.plan.NetworkPlan`; :func:`trace_layers` runs any ``nn.Module`` once with forward
hooks (torchvision's SqueezeNet, AlexNet, VGG, MobileNetV2, ResNet ...). The accelerator cost model and
the counts read this type.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from squeezenext.errors import ModelError
from squeezenext.plan import Flavor, NetworkPlan, StemKind
from squeezenext.registry import ModelRef, get_spec, model_plan

if TYPE_CHECKING:  # torch is imported by the functions that trace modules, not with the analytic workloads
    import torch
    from torch import nn

LayerType = Literal["conv", "fc"]
MAX_TRACE_SIZE = 4096
"""Largest input tried when looking for a traced network's smallest input size."""
ParamConvention = Literal["paper", "numel"]


@dataclass(frozen=True)
class LayerDesc:
    """One convolution or fully connected layer at a given input size.

    ``params`` counts the layer's own weights and bias; ``macs`` is
    ``out_h * out_w * out_channels * (in_channels / groups) * kh * kw`` (an FC layer is a 1x1 conv on
    a 1x1 map).
    """

    name: str
    type: LayerType
    in_channels: int
    out_channels: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    groups: int
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    params: int
    macs: int

    def to_json(self) -> dict[str, Any]:
        """JSON object with lists for the pairs."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


def conv_macs(
    in_channels: int, out_channels: int, kernel: tuple[int, int], groups: int, out_hw: tuple[int, int]
) -> int:
    """Multiply-accumulates of a convolution: ``H_out W_out C_out (C_in / g) k_h k_w``."""
    return out_hw[0] * out_hw[1] * out_channels * (in_channels // groups) * kernel[0] * kernel[1]


def conv_params(in_channels: int, out_channels: int, kernel: tuple[int, int], groups: int, bias: bool) -> int:
    """Weights ``C_out (C_in / g) k_h k_w`` plus ``C_out`` biases when present."""
    return out_channels * (in_channels // groups) * kernel[0] * kernel[1] + (out_channels if bias else 0)


def fc_layer(name: str, in_features: int, out_features: int, bias: bool, rows: int = 1) -> LayerDesc:
    """A fully connected layer as a 1x1 convolution on a 1x1 map, applied to ``rows`` vectors per image."""
    return LayerDesc(
        name=name,
        type="fc",
        in_channels=in_features,
        out_channels=out_features,
        kernel=(1, 1),
        stride=(1, 1),
        padding=(0, 0),
        groups=1,
        in_hw=(1, 1),
        out_hw=(1, 1),
        params=in_features * out_features + (out_features if bias else 0),
        macs=rows * in_features * out_features,
    )


def analytic_layers(plan: NetworkPlan, input_size: int | tuple[int, int]) -> list[LayerDesc]:
    """Layer list of a SqueezeNext plan, computed from the plan alone (no module is built)."""
    hw = (input_size, input_size) if isinstance(input_size, int) else input_size
    layers = [
        LayerDesc(
            name=name,
            type="conv",
            in_channels=conv.in_channels,
            out_channels=conv.out_channels,
            kernel=conv.kernel,
            stride=(conv.stride, conv.stride),
            padding=conv.padding,
            groups=conv.groups,
            in_hw=in_hw,
            out_hw=out_hw,
            params=conv_params(conv.in_channels, conv.out_channels, conv.kernel, conv.groups, conv.bias),
            macs=conv_macs(conv.in_channels, conv.out_channels, conv.kernel, conv.groups, out_hw),
        )
        for name, conv, in_hw, out_hw in plan.walk(hw)
    ]
    layers.append(fc_layer("fc", plan.num_features, plan.num_classes, plan.fc_bias))
    return layers


def _pair(value: int | tuple[int, ...] | str) -> tuple[int, int]:
    if isinstance(value, str):
        raise ModelError(f"string padding {value!r} is not supported by the layer tracer")
    if isinstance(value, int):
        return (value, value)
    return (int(value[0]), int(value[1]))


def trace_layers(module: nn.Module, input_size: int | tuple[int, int], in_channels: int = 3) -> list[LayerDesc]:
    """Run ``module`` once on a zero batch of one image and record every Conv2d and Linear call.

    A module called twice appears twice (the second as ``name#2``). Dilated convolutions are rejected:
    the workload type has no dilation.
    """
    import torch
    from torch import nn

    hw = (input_size, input_size) if isinstance(input_size, int) else input_size
    names = {mod: name for name, mod in module.named_modules()}
    calls: dict[str, int] = {}
    layers: list[LayerDesc] = []

    def unique(name: str) -> str:
        calls[name] = calls.get(name, 0) + 1
        return name if calls[name] == 1 else f"{name}#{calls[name]}"

    def on_conv(mod: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        assert isinstance(mod, nn.Conv2d)
        name = names[mod]
        if _pair(mod.dilation) != (1, 1):
            raise ModelError(f"{name}: dilated convolutions are not supported by the layer workload type")
        kernel = _pair(mod.kernel_size)
        out_hw = (int(out.shape[-2]), int(out.shape[-1]))
        layers.append(
            LayerDesc(
                name=unique(name),
                type="conv",
                in_channels=mod.in_channels,
                out_channels=mod.out_channels,
                kernel=kernel,
                stride=_pair(mod.stride),
                padding=_pair(mod.padding),
                groups=mod.groups,
                in_hw=(int(args[0].shape[-2]), int(args[0].shape[-1])),
                out_hw=out_hw,
                params=sum(p.numel() for p in mod.parameters(recurse=False)),
                macs=conv_macs(mod.in_channels, mod.out_channels, kernel, mod.groups, out_hw),
            )
        )

    def on_linear(mod: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        assert isinstance(mod, nn.Linear)
        rows = args[0].numel() // (args[0].shape[0] * mod.in_features)
        layers.append(fc_layer(unique(names[mod]), mod.in_features, mod.out_features, mod.bias is not None, rows))

    handles = []
    for mod in module.modules():
        if isinstance(mod, nn.Conv2d):
            handles.append(mod.register_forward_hook(on_conv))
        elif isinstance(mod, nn.Linear):
            handles.append(mod.register_forward_hook(on_linear))
    was_training = module.training
    try:
        module.eval()
        with torch.no_grad():
            module(torch.zeros(1, in_channels, *hw))
    finally:
        module.train(was_training)
        for handle in handles:
            handle.remove()
    return layers


def trace_checked(module: nn.Module, name: str, input_size: int, in_channels: int = 3) -> list[LayerDesc]:
    """:func:`trace_layers`, with a ModelError giving the smallest input size that works when
    ``input_size`` is too small for the network's downsampling."""
    if not isinstance(input_size, int) or input_size < 1:
        raise ModelError(f"input size must be an integer >= 1, got {input_size!r}")
    try:
        return trace_layers(module, input_size, in_channels)
    except RuntimeError:
        pass
    low, high = input_size, max(2 * input_size, 32)
    while not _traces(module, high, in_channels):
        low, high = high, 2 * high
        if high > MAX_TRACE_SIZE:
            raise ModelError(f"{name} does not run on any input up to {MAX_TRACE_SIZE}x{MAX_TRACE_SIZE}") from None
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if _traces(module, middle, in_channels) else (middle, high)
    raise ModelError(f"input size {input_size} is too small for {name}: its smallest input is {high}x{high}")


def _traces(module: nn.Module, size: int, in_channels: int) -> bool:
    try:
        trace_layers(module, size, in_channels)
    except RuntimeError:
        return False
    return True


def count_parameters(module: nn.Module, convention: ParamConvention = "paper") -> int:
    """Parameters of ``module``.

    ``"paper"``: conv weights + BatchNorm scale/shift + FC weights (the paper's convention, which omits
    conv and FC biases); ``"numel"``: every parameter tensor's ``numel`` (PyTorch's count).
    """
    from torch import nn

    if convention not in ("paper", "numel"):
        raise ModelError(f"unknown parameter convention {convention!r}; valid: paper, numel")
    total = sum(p.numel() for p in module.parameters())
    if convention == "paper":
        total -= sum(
            mod.bias.numel()
            for mod in module.modules()
            if isinstance(mod, nn.Conv2d | nn.Linear) and mod.bias is not None
        )
    return total


def total_macs(layers: list[LayerDesc]) -> int:
    """Multiply-accumulates of all conv and FC layers."""
    return sum(layer.macs for layer in layers)


def analytic_parameters(plan: NetworkPlan, convention: ParamConvention = "paper") -> int:
    """Parameters of a plan without building it: conv weights, BatchNorm scale/shift (``2 C_out`` per
    conv), FC weights, plus conv/FC biases under the ``"numel"`` convention."""
    if convention not in ("paper", "numel"):
        raise ModelError(f"unknown parameter convention {convention!r}; valid: paper, numel")
    with_bias = convention == "numel"
    total = plan.num_features * plan.num_classes + (plan.num_classes if plan.fc_bias and with_bias else 0)
    for _, conv, _, _ in plan.walk((plan.min_input_size(),) * 2):
        bias = conv.bias and with_bias
        total += conv_params(conv.in_channels, conv.out_channels, conv.kernel, conv.groups, bias)
        total += 2 * conv.out_channels
    return total


@dataclass(frozen=True)
class Workload:
    """A network's layer list with its parameter counts, the input size it was computed at and a provenance
    label."""

    name: str
    layers: list[LayerDesc]
    params: int
    params_numel: int
    provenance: str
    input_size: int

    @classmethod
    def of_layers(cls, name: str, layers: list[LayerDesc], provenance: str) -> Workload:
        """A workload read from a file: parameters are the layers' own, the input size the first layer's."""
        params = sum(layer.params for layer in layers)
        return cls(name, layers, params, params, provenance, layers[0].in_hw[0])


def analytic_workload(
    name: ModelRef, input_size: int, flavor: Flavor = "official", stem: StemKind = "standard"
) -> Workload:
    """A SqueezeNext's layers and parameters computed from its plan, without building it."""
    plan = model_plan(name, flavor=flavor, stem=stem)
    spec = get_spec(name)
    return Workload(
        name=spec.name,
        layers=analytic_layers(plan, input_size),
        params=analytic_parameters(plan, "paper"),
        params_numel=analytic_parameters(plan, "numel"),
        provenance=spec.provenance.value if flavor == "official" else f"{flavor} flavor",
        input_size=input_size,
    )


def traced_workload(module: nn.Module, name: str, input_size: int, in_channels: int, provenance: str) -> Workload:
    """A built module's layers, traced at ``input_size``, and its parameters."""
    return Workload(
        name=name,
        layers=trace_checked(module, name, input_size, in_channels),
        params=count_parameters(module, "paper"),
        params_numel=count_parameters(module, "numel"),
        provenance=provenance,
        input_size=input_size,
    )
