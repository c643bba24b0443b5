"""One reader of ONNX files and one factory of onnxruntime sessions, for every module that touches them.

It knows the file's image input (the one graph input that is not a constant, ``(N, C, H, W)``), the metadata
``squeezenext export`` writes (model name, class names, preprocessing), the Conv and fully connected layers of
the graph (with shapes by ONNX shape inference), and how every measurement configures onnxruntime.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from squeezenext.errors import ModelError
from squeezenext.workload import LayerDesc, conv_macs, conv_params, fc_layer

if TYPE_CHECKING:
    import onnx
    import onnxruntime

ONNX_SUFFIX = ".onnx"
METADATA_PREFIX = "squeezenext."
MODEL_KEY, CLASSES_KEY, PREPROCESSING_KEY = (f"{METADATA_PREFIX}{key}" for key in ("model", "classes", "preprocessing"))
"""The metadata entries ``squeezenext export`` writes (JSON text for the class names and the preprocessing)."""
LAYER_OPS = ("Conv", "Gemm", "MatMul")
"""The operators that are layers of the workload (the cost model's convolutions and fully connected layers)."""


def read_model(path: str | Path, *, load_external_data: bool = True) -> onnx.ModelProto:
    """The ONNX model in ``path``; a missing, empty or unreadable file is one clear :class:`ModelError`."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"ONNX file {path} does not exist")
    try:
        model = onnx.load(str(path), load_external_data=load_external_data)
    except Exception as error:  # protobuf raises DecodeError and others for corrupt files
        raise ModelError(f"{path} is not a readable ONNX model ({' '.join(str(error).split())[:200]})") from None
    if not model.graph.node:
        raise ModelError(f"{path} holds no ONNX graph (an empty or foreign file); export a model to ONNX first")
    return model


def image_input(model: onnx.ModelProto, path: str | Path) -> onnx.ValueInfoProto:
    """The graph's one image input, ``(N, C, H, W)``; anything else names what was found."""
    constants = {init.name for init in model.graph.initializer}
    inputs = [value for value in model.graph.input if value.name not in constants]
    if len(inputs) != 1:
        raise ModelError(f"{path}: expected one image input, found {len(inputs)} inputs")
    if len(inputs[0].type.tensor_type.shape.dim) != 4:
        raise ModelError(
            f"{path}: expected an (N, C, H, W) image input, got rank {len(inputs[0].type.tensor_type.shape.dim)}"
        )
    image: onnx.ValueInfoProto = inputs[0]
    return image


def input_dims(model: onnx.ModelProto, path: str | Path) -> list[int | None]:
    """The image input's sizes, ``None`` where a dimension is dynamic."""
    return [
        d.dim_value if d.HasField("dim_value") else None for d in image_input(model, path).type.tensor_type.shape.dim
    ]


def metadata(model: onnx.ModelProto) -> dict[str, str]:
    """The model's metadata entries."""
    return {entry.key: entry.value for entry in model.metadata_props}


def write_metadata(model: onnx.ModelProto, name: str, classes: list[str], preprocessing: Mapping[str, Any]) -> None:
    """Add what :class:`~squeezenext.deploy.predictor.Predictor` needs to the model's metadata."""
    for key, value in (
        (MODEL_KEY, name),
        (CLASSES_KEY, json.dumps(classes)),
        (PREPROCESSING_KEY, json.dumps(dict(preprocessing))),
    ):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def session_options(threads: int | None = None) -> onnxruntime.SessionOptions:
    """The options every onnxruntime session here uses: ``threads`` intra-op threads (None: onnxruntime's
    default), one inter-op thread, every graph optimization (NCHWc layouts and conv+activation fusion on x86)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def cpu_session(path: str | Path, options: onnxruntime.SessionOptions | None = None) -> onnxruntime.InferenceSession:
    """An onnxruntime CPU session of ``path``; a graph onnxruntime cannot load is one clear :class:`ModelError`."""
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(path), options or session_options(), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own types for graphs it cannot load
        raise ModelError(f"onnxruntime cannot load {path}: {' '.join(str(error).split())[:300]}") from None


def run(session: onnxruntime.InferenceSession, images: np.ndarray) -> np.ndarray:
    """The session's first output for any number of images; a model exported with a fixed batch N runs them N
    at a time (the last batch filled up by repeating its images, their outputs dropped)."""
    name, fixed = session.get_inputs()[0].name, session.get_inputs()[0].shape[0]
    if not isinstance(fixed, int) or fixed == len(images) or len(images) == 0:
        return np.asarray(session.run(None, {name: images})[0])
    outputs = []
    for start in range(0, len(images), fixed):
        chunk = images[start : start + fixed]
        filled = chunk[np.arange(fixed) % len(chunk)]
        outputs.append(np.asarray(session.run(None, {name: filled})[0])[: len(chunk)])
    return np.concatenate(outputs)


def node_kernels(model: onnx.ModelProto) -> dict[str, tuple[str, tuple[int, ...] | None]]:
    """Node name -> (op type, convolution kernel shape), for runtimes that keep the node names."""
    names: dict[str, tuple[str, tuple[int, ...] | None]] = {}
    for node in model.graph.node:
        kernel = next((tuple(a.ints) for a in node.attribute if a.name == "kernel_shape"), None)
        names[node.name] = (node.op_type, kernel)
    return names


def layers_from_onnx(path: str | Path, input_size: int | None = None) -> list[LayerDesc]:
    """Conv and FC (Gemm, MatMul with a constant weight) layers of an ONNX model, shapes by inference.

    A dynamic spatial input needs ``input_size``; a dynamic batch is fixed to 1.
    """
    import onnx
    from onnx import numpy_helper

    model = read_model(path)
    weights = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:  # int8 QDQ exports: a weight is DequantizeLinear(constant), of its shape
        if node.op_type == "DequantizeLinear" and node.input[0] in weights:
            weights[node.output[0]] = weights[node.input[0]]
    shapes = _inferred_shapes(model, path, input_size)
    layers: list[LayerDesc] = []
    for index, node in enumerate(model.graph.node):
        name = node.name or f"{node.op_type.lower()}{index}"
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            layers.append(_conv_layer(node, name, attributes, weights, shapes, path))
        elif node.op_type in ("Gemm", "MatMul") and node.input[1] in weights and weights[node.input[1]].ndim == 2:
            layers.append(_fc_layer(node, name, attributes, weights[node.input[1]]))
    if not layers:
        raise ModelError(f"{path}: no Conv, Gemm or MatMul layer with constant weights")
    return layers


def _inferred_shapes(model: onnx.ModelProto, path: str | Path, input_size: int | None) -> dict[str, list[int]]:
    """Every tensor's shape by ONNX shape inference, the input's dynamic batch fixed to 1 and its dynamic
    height and width to ``input_size``; a static height or width refuses another ``input_size`` rather than
    give shapes at a size they were not computed at."""
    import onnx
    from onnx import shape_inference

    dims = image_input(model, path).type.tensor_type.shape.dim
    if input_size is not None and any(d.HasField("dim_value") and d.dim_value != input_size for d in dims[2:]):
        sides = "x".join(str(d.dim_value) if d.HasField("dim_value") else "N" for d in dims[2:])
        raise ModelError(f"{path} takes {sides} images only; drop --input-size {input_size}")
    for index, dim in enumerate(dims):
        if not dim.HasField("dim_value"):
            if index == 0:
                dim.dim_value = 1
            elif index >= 2 and input_size is not None:
                dim.dim_value = input_size
            else:
                raise ModelError(f"{path}: input dimension {index} is dynamic; pass --input-size")
    try:
        inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except onnx.shape_inference.InferenceError as error:
        raise ModelError(f"{path}: not a valid ONNX model ({' '.join(str(error).split())[:300]})") from None
    graph = inferred.graph
    return {
        v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
        for v in [*graph.value_info, *graph.input, *graph.output]
    }


def _conv_layer(
    node: onnx.NodeProto,
    name: str,
    attributes: dict[str, Any],
    weights: dict[str, np.ndarray],
    shapes: dict[str, list[int]],
    path: str | Path,
) -> LayerDesc:
    """A Conv node as a layer, every shape checked against its weight and its attributes."""
    weight = weights.get(node.input[1])
    if weight is None or weight.ndim != 4:
        raise ModelError(f"{path}: {name}: only 2D convolutions with constant weights are supported")
    if any(d != 1 for d in attributes.get("dilations", [1, 1])):
        raise ModelError(f"{path}: {name}: dilated convolutions are not supported")
    in_shape, out_shape = shapes.get(node.input[0]), shapes.get(node.output[0])
    if not in_shape or not out_shape or len(in_shape) != 4 or len(out_shape) != 4:
        raise ModelError(f"{path}: {name}: shape inference gave no 4D shapes")
    groups = int(attributes.get("group", 1))
    pads = list(attributes.get("pads", [0, 0, 0, 0]))
    strides = list(attributes.get("strides", [1, 1]))
    kernel = (int(weight.shape[2]), int(weight.shape[3]))
    padded = (in_shape[2] + pads[0] + pads[2], in_shape[3] + pads[1] + pads[3]) if len(pads) == 4 else None
    if padded is None or kernel[0] > padded[0] or kernel[1] > padded[1]:
        raise ModelError(f"{path}: {name}: kernel {kernel} is larger than its padded input {padded}")
    if min(in_shape + out_shape) < 1:
        raise ModelError(f"{path}: {name}: a zero or unknown dimension in shapes {in_shape} -> {out_shape}")
    out_channels = int(weight.shape[0])
    if in_shape[1] != int(weight.shape[1]) * groups or out_channels % groups:
        raise ModelError(
            f"{path}: {name}: weight shape {list(weight.shape)} does not fit {in_shape[1]} input channels "
            f"in {groups} groups"
        )
    out_hw = (out_shape[2], out_shape[3])
    has_bias = len(node.input) > 2 and node.input[2] != ""
    return LayerDesc(
        name=name,
        type="conv",
        in_channels=in_shape[1],
        out_channels=out_channels,
        kernel=kernel,
        stride=(int(strides[0]), int(strides[1])),
        padding=(int(pads[0]), int(pads[1])),
        groups=groups,
        in_hw=(in_shape[2], in_shape[3]),
        out_hw=out_hw,
        params=conv_params(in_shape[1], out_channels, kernel, groups, has_bias),
        macs=conv_macs(in_shape[1], out_channels, kernel, groups, out_hw),
    )


def _fc_layer(node: onnx.NodeProto, name: str, attributes: dict[str, Any], weight: np.ndarray) -> LayerDesc:
    """A Gemm or MatMul node with a constant 2D weight as a fully connected layer."""
    transposed = node.op_type == "Gemm" and int(attributes.get("transB", 0)) == 1
    out_features, in_features = weight.shape if transposed else weight.shape[::-1]
    bias = node.op_type == "Gemm" and len(node.input) > 2 and node.input[2] != ""
    return fc_layer(name, int(in_features), int(out_features), bias)
