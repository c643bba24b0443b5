"""SCALE-Sim topology CSV files: read and write.

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

from squeezenext.errors import ConfigError
from squeezenext.fileio import atomic_write_text
from squeezenext.workload import (
    LayerDesc,
    conv_macs,
    conv_params,
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
    try:
        with path.open(newline="") as handle:
            rows = list(csv.reader(handle))
    except (UnicodeDecodeError, csv.Error) as error:
        raise ConfigError(f"{path} is not a text CSV file ({error}); expected a SCALE-Sim topology") from None
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
