"""Workload front ends: SCALE-Sim topology CSV (read and write) and ONNX files.

SCALE-Sim's topology CSV (scalesim 3.0.0 ``topology_utils.py``) has a header line, then one row per
layer: ``name, ifmap height, ifmap width, filter height, filter width, channels, num filter, stride,``.
It models no padding (the given input size is the padded one) and computes the output size as
``ceil((H - R + s) / s)``; a layer whose name contains ``DP`` is depthwise: SCALE-Sim runs it as
``channels`` separate one-channel layers.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

from squeezenext.accel.hardware import ConfigError
from squeezenext.fileio import atomic_write_text
from squeezenext.plan import Flavor, StemKind
from squeezenext.workload import (
    LayerDesc,
    Workload,
    conv_macs,
    conv_params,
    count_parameters,
    fc_layer,
    load_workload,
    trace_checked,
)

CSV_COLUMNS = (
    "Layer name",
    "IFMAP Height",
    "IFMAP Width",
    "Filter Height",
    "Filter Width",
    "Channels",
    "Num Filter",
    "Strides",
)


def scalesim_output_size(ifmap: int, kernel: int, stride: int) -> int:
    """SCALE-Sim's output size ``ceil((H - R + s) / s)`` (``topology_utils.topo_calc_hyperparams``)."""
    return math.ceil((ifmap - kernel + stride) / stride)


def read_scalesim_csv(path: str | Path) -> list[LayerDesc]:
    """Layers of a SCALE-Sim topology CSV; a bad cell raises :class:`ConfigError` naming row and column."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"topology file {path} does not exist")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        raise ConfigError(f"{path}: empty file; expected a header line and one row per layer")
    if _is_layer_row(rows[0]):
        raise ConfigError(
            f"{path}: the first line is a layer, not SCALE-Sim's header line; add the header "
            f"({', '.join(CSV_COLUMNS)}) so that no layer is skipped"
        )
    layers: list[LayerDesc] = []
    for line_number, raw in enumerate(rows[1:], start=2):
        cells = [cell.strip() for cell in raw]
        while cells and cells[-1] == "":
            cells.pop()
        if not cells:
            continue
        if len(cells) < len(CSV_COLUMNS):
            raise ConfigError(
                f"{path}: row {line_number} has {len(cells)} columns; expected {len(CSV_COLUMNS)}: "
                f"{', '.join(CSV_COLUMNS)}"
            )
        values: list[int] = []
        for column, cell in zip(CSV_COLUMNS[1:], cells[1 : len(CSV_COLUMNS)], strict=True):
            try:
                value = int(cell)
            except ValueError:
                raise ConfigError(f"{path}: row {line_number}, column '{column}': {cell!r} is not an integer") from None
            if value < 1:
                raise ConfigError(f"{path}: row {line_number}, column '{column}': must be >= 1, got {value}")
            values.append(value)
        ifmap_h, ifmap_w, filter_h, filter_w, channels, filters, stride = values
        for column, kernel, size in (
            ("Filter Height", filter_h, ifmap_h),
            ("Filter Width", filter_w, ifmap_w),
        ):
            if kernel > size:
                raise ConfigError(
                    f"{path}: row {line_number}, column '{column}': filter {kernel} is larger than the input {size}"
                )
        name = cells[0] or f"layer{line_number - 1}"
        depthwise = "DP" in name
        out_channels = channels * filters if depthwise else filters
        groups = channels if depthwise else 1
        out_hw = (
            scalesim_output_size(ifmap_h, filter_h, stride),
            scalesim_output_size(ifmap_w, filter_w, stride),
        )
        layers.append(
            LayerDesc(
                name=name,
                type="conv",
                in_channels=channels,
                out_channels=out_channels,
                kernel=(filter_h, filter_w),
                stride=(stride, stride),
                padding=(0, 0),
                groups=groups,
                in_hw=(ifmap_h, ifmap_w),
                out_hw=out_hw,
                params=conv_params(channels, out_channels, (filter_h, filter_w), groups, bias=False),
                macs=conv_macs(channels, out_channels, (filter_h, filter_w), groups, out_hw),
            )
        )
    if not layers:
        raise ConfigError(f"{path}: no layer rows after the header")
    return layers


def _is_layer_row(cells: list[str]) -> bool:
    """Whether a CSV row's dimension cells are all integers (a layer, where the header is expected)."""
    values = [cell.strip() for cell in cells[1 : len(CSV_COLUMNS)]]
    return len(values) == len(CSV_COLUMNS) - 1 and all(v.lstrip("-").isdigit() for v in values)


def scalesim_rows(layers: Sequence[LayerDesc]) -> list[list[str]]:
    """Rows of SCALE-Sim's topology format for our layers.

    The input size written is the part of the padded input the windows cover, ``(out - 1) s + k``, so that
    SCALE-Sim's ceil-based output size equals PyTorch's. A grouped convolution becomes one row per group.
    """
    rows: list[list[str]] = []
    for layer in layers:
        if layer.stride[0] != layer.stride[1]:
            raise ConfigError(f"{layer.name}: SCALE-Sim topologies have one stride; got {layer.stride}")
        stride = layer.stride[0]
        ifmap_h = (layer.out_hw[0] - 1) * stride + layer.kernel[0]
        ifmap_w = (layer.out_hw[1] - 1) * stride + layer.kernel[1]
        base = layer.name.replace(",", "_").replace("DP", "dp")
        for group in range(layer.groups):
            name = base if layer.groups == 1 else f"{base}.g{group}"
            rows.append(
                [
                    name,
                    str(ifmap_h),
                    str(ifmap_w),
                    str(layer.kernel[0]),
                    str(layer.kernel[1]),
                    str(layer.in_channels // layer.groups),
                    str(layer.out_channels // layer.groups),
                    str(stride),
                ]
            )
    return rows


def write_scalesim_csv(layers: Sequence[LayerDesc], path: str | Path) -> None:
    """Write a SCALE-Sim topology CSV (atomically: temp file, then rename)."""
    lines = [", ".join(CSV_COLUMNS) + ",\n"] + [", ".join(row) + ",\n" for row in scalesim_rows(layers)]
    atomic_write_text(path, "".join(lines))


def layers_from_onnx(path: str | Path, input_size: int | None = None) -> list[LayerDesc]:
    """Conv and FC (Gemm, MatMul with a constant weight) layers of an ONNX model, shapes by inference.

    A dynamic spatial input needs ``input_size``; a dynamic batch is fixed to 1.
    """
    import onnx
    from onnx import numpy_helper, shape_inference

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"ONNX file {path} does not exist")
    try:
        model = onnx.load(str(path))
    except Exception as error:  # onnx raises DecodeError and others for corrupt files
        raise ConfigError(f"{path}: not a readable ONNX model ({error})") from None
    graph = model.graph
    initializers = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    graph_inputs = [i for i in graph.input if i.name not in initializers]
    # int8 QDQ exports: a weight is DequantizeLinear(constant); its shape is the constant's
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in initializers:
            initializers[node.output[0]] = initializers[node.input[0]]
    if len(graph_inputs) != 1:
        raise ConfigError(f"{path}: expected one image input, found {len(graph_inputs)}")
    dims = graph_inputs[0].type.tensor_type.shape.dim
    if len(dims) != 4:
        raise ConfigError(f"{path}: expected an (N, C, H, W) input, got rank {len(dims)}")
    for index, dim in enumerate(dims):
        if not dim.HasField("dim_value"):
            if index == 0:
                dim.dim_value = 1
            elif index >= 2 and input_size is not None:
                dim.dim_value = input_size
            else:
                raise ConfigError(f"{path}: input dimension {index} is dynamic; pass --input-size")
    try:
        inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except onnx.shape_inference.InferenceError as error:
        detail = " ".join(str(error).split())[:300]
        raise ConfigError(f"{path}: not a valid ONNX model ({detail})") from None
    shapes: dict[str, list[int]] = {}
    for value in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        shapes[value.name] = [d.dim_value for d in value.type.tensor_type.shape.dim]

    layers: list[LayerDesc] = []
    for index, node in enumerate(graph.node):
        name = node.name or f"{node.op_type.lower()}{index}"
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            weight = initializers.get(node.input[1])
            if weight is None or weight.ndim != 4:
                raise ConfigError(f"{path}: {name}: only 2D convolutions with constant weights are supported")
            if any(d != 1 for d in attrs.get("dilations", [1, 1])):
                raise ConfigError(f"{path}: {name}: dilated convolutions are not supported")
            in_shape, out_shape = shapes.get(node.input[0]), shapes.get(node.output[0])
            if not in_shape or not out_shape or len(in_shape) != 4 or len(out_shape) != 4:
                raise ConfigError(f"{path}: {name}: shape inference gave no 4D shapes")
            groups = int(attrs.get("group", 1))
            pads = list(attrs.get("pads", [0, 0, 0, 0]))
            strides = list(attrs.get("strides", [1, 1]))
            kernel = (int(weight.shape[2]), int(weight.shape[3]))
            padded = (in_shape[2] + pads[0] + pads[2], in_shape[3] + pads[1] + pads[3]) if len(pads) == 4 else None
            if padded is None or kernel[0] > padded[0] or kernel[1] > padded[1]:
                raise ConfigError(f"{path}: {name}: kernel {kernel} is larger than its padded input {padded}")
            if min(in_shape + out_shape) < 1:
                raise ConfigError(f"{path}: {name}: a zero or unknown dimension in shapes {in_shape} -> {out_shape}")
            if in_shape[1] != int(weight.shape[1]) * groups or int(weight.shape[0]) % groups:
                raise ConfigError(
                    f"{path}: {name}: weight shape {list(weight.shape)} does not fit {in_shape[1]} input channels "
                    f"in {groups} groups"
                )
            out_hw = (out_shape[2], out_shape[3])
            has_bias = len(node.input) > 2 and node.input[2] != ""
            layers.append(
                LayerDesc(
                    name=name,
                    type="conv",
                    in_channels=in_shape[1],
                    out_channels=int(weight.shape[0]),
                    kernel=kernel,
                    stride=(int(strides[0]), int(strides[1])),
                    padding=(int(pads[0]), int(pads[1])),
                    groups=groups,
                    in_hw=(in_shape[2], in_shape[3]),
                    out_hw=out_hw,
                    params=conv_params(in_shape[1], int(weight.shape[0]), kernel, groups, has_bias),
                    macs=conv_macs(in_shape[1], int(weight.shape[0]), kernel, groups, out_hw),
                )
            )
        elif node.op_type in ("Gemm", "MatMul") and node.input[1] in initializers:
            weight = initializers[node.input[1]]
            if weight.ndim != 2:
                continue
            transposed = node.op_type == "Gemm" and int(attrs.get("transB", 0)) == 1
            out_features, in_features = weight.shape if transposed else weight.shape[::-1]
            bias = node.op_type == "Gemm" and len(node.input) > 2 and node.input[2] != ""
            layers.append(fc_layer(name, int(in_features), int(out_features), bias))
    if not layers:
        raise ConfigError(f"{path}: no Conv, Gemm or MatMul layer with constant weights")
    return layers


NETWORK_HELP = "a registered or paper name, torchvision:<name>, pytorchcv:<name>, a checkpoint .pt, .onnx or .csv"
"""What a network argument may be, in every command's help."""


def load_network(source: str, *, input_size: int, flavor: Flavor = "official", stem: StemKind = "standard") -> Workload:
    """The workload of any network argument, the same for every command: a registered or paper name (any
    case), ``torchvision:<name>``, ``pytorchcv:<name>``, a training checkpoint ``.pt`` (its own architecture,
    input size and channels), an ``.onnx`` file (fp32 or int8 QDQ) or a SCALE-Sim ``.csv``."""
    lowered = source.lower()
    if lowered.endswith((".csv", ".onnx")):
        layers = read_scalesim_csv(source) if lowered.endswith(".csv") else layers_from_onnx(source, input_size)
        params = sum(layer.params for layer in layers)
        return Workload(
            Path(source).name, layers, params, params, "SCALE-Sim topology" if lowered.endswith(".csv") else "ONNX file"
        )
    if lowered.endswith(".pt"):
        from squeezenext.deploy.export import load_model

        loaded = load_model(source)
        size = loaded.preprocessing.input_size
        layers = trace_checked(loaded.module, source, size, loaded.preprocessing.in_channels)
        params = count_parameters(loaded.module, "paper")
        return Workload(
            loaded.name, layers, params, count_parameters(loaded.module, "numel"), f"checkpoint at {size}x{size}"
        )
    return load_workload(source, input_size=input_size, flavor=flavor, stem=stem)
