"""Where inference time goes: per-operator profiles from the runtimes' own profilers (``squeezenext profile``).

onnxruntime: ``SessionOptions.enable_profiling`` (one ``*_kernel_time`` event per operator and run, with the
operator's input shapes); OpenVINO: ``PERF_COUNT`` and ``InferRequest.get_profiling_info`` (per layer: the
layer type and the kernel implementation that ran it, e.g. ``brgconv_avx2_1x1_f32`` or an AMX kernel). Each
operator's time is its median over the profiled runs; the run time is the median of whole runs, and what
lies outside the operators (dispatch, the runtime's own work) is reported as its own row.

Operators are grouped by what they are in the network, the same groups for every runtime: the stem
convolution (the first one executed), the other convolutions by kernel shape (1x1, 1xk / kx1, kxk), the
residual Adds with their ReLUs, pooling, the classifier, layout reorders and quantization.
"""

from __future__ import annotations

import dataclasses
import json
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from squeezenext import onnx_io
from squeezenext.deploy.backends import (
    AS_GIVEN_BACKENDS,
    ONNX_FILE_OF,
    OPENVINO_BACKENDS,
    OPENVINO_PRECISION,
    PROFILE_BACKENDS,
    check_backend,
)
from squeezenext.deploy.timing import WARMUP_RUNS, Case, input_shape, measure
from squeezenext.errors import SqueezeNextError
from squeezenext.machine import available_memory_bytes, cpu_label, machine_summary
from squeezenext.sources import BENCH_KINDS, NetworkSource, SourceKind, parse_network
from squeezenext.tables import format_table, markdown_table
from squeezenext.workload import LayerDesc

STEM = "stem convolution"
CONV_1X1 = "1x1 convolutions"
CONV_SEPARABLE = "1xk / kx1 convolutions"
CONV_SQUARE = "kxk convolutions"
OUTSIDE = "outside operators"
"""A run's time not spent in any operator: dispatch, threading, the runtime's and the profiler's own work."""
CATEGORIES = (
    STEM,
    CONV_1X1,
    CONV_SEPARABLE,
    CONV_SQUARE,
    "residual Add and ReLU",
    "concatenation",
    "pooling",
    "classifier",
    "layout reorders",
    "quantize / dequantize",
    "other",
    OUTSIDE,
)
"""The groups a profile reports, in this order."""
CONVOLUTIONS = frozenset(
    {"Conv", "FusedConv", "NchwcConv", "QLinearConv", "ConvInteger", "Convolution", "GroupConvolution"}
)
_GROUP_OF_OP = {
    **dict.fromkeys(("Add", "Sum", "QLinearAdd", "Relu", "Eltwise"), "residual Add and ReLU"),
    **dict.fromkeys(("Concat", "QLinearConcat"), "concatenation"),
    **dict.fromkeys(
        ("MaxPool", "AveragePool", "GlobalAveragePool", "ReduceMean", "NhwcMaxPool", "QLinearGlobalAveragePool"),
        "pooling",
    ),
    **dict.fromkeys(("Gemm", "MatMul", "QGemm", "FullyConnected", "Reshape", "Flatten", "Softmax"), "classifier"),
    **dict.fromkeys(
        ("ReorderInput", "ReorderOutput", "Transpose", "Reorder", "SpaceToDepth", "DepthToSpace", "Pad"),
        "layout reorders",
    ),
    **dict.fromkeys(
        ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "FakeQuantize", "Convert"),
        "quantize / dequantize",
    ),
}
"""Non-convolution operators (onnxruntime's and OpenVINO's names) -> their group."""
RUNTIME_SUFFIX = re.compile(r"(_token_\d+|_nchwc)$")
"""What onnxruntime appends to the names of the nodes it rewrites (``stem.conv_token_1``, ``relu_3_nchwc``)."""


@dataclass(frozen=True)
class OperatorTime:
    """One operator of the optimized graph the runtime ran."""

    name: str
    op: str
    """The runtime's operator type (onnxruntime: op_name; OpenVINO: layer type)."""
    kernel: str
    """The implementation: OpenVINO's exec_type (e.g. ``brgconv_avx2_1x1_f32``); onnxruntime's op and provider."""
    category: str
    ms: float
    """Median time per run."""


def _conv_category(kernel_shape: tuple[int, ...] | None) -> str:
    if kernel_shape is None or len(kernel_shape) != 2:
        return "other"
    height, width = kernel_shape
    if height == width == 1:
        return CONV_1X1
    return CONV_SEPARABLE if 1 in (height, width) else CONV_SQUARE


@dataclass(frozen=True)
class _Measured:
    """An operator as a runtime's profiler reports it, before grouping."""

    name: str
    op: str
    kernel: str
    kernel_shape: tuple[int, ...] | None
    ms: float
    source_op: str = ""
    """The ONNX operator of the same name, where the runtime kept the name (OpenVINO's fused ``Subgraph``s);
    filled in by :func:`_with_source`."""


def _onnxruntime_profile(
    path: str, x: np.ndarray, threads: int, runs: int, work: Path
) -> tuple[list[_Measured], float]:
    options = onnx_io.session_options(threads)
    options.enable_profiling = True
    options.profile_file_prefix = str(work / "onnxruntime")
    session = onnx_io.cpu_session(path, options)
    for _ in range(WARMUP_RUNS + runs):
        onnx_io.run(session, x)
    events = json.loads(Path(session.end_profiling()).read_text())
    whole_runs = sorted(
        (e for e in events if e.get("cat") == "Session" and e["name"] == "model_run"), key=lambda e: e["ts"]
    )
    if len(whole_runs) != WARMUP_RUNS + runs:
        raise SqueezeNextError(f"onnxruntime's profile holds {len(whole_runs)} runs, not {WARMUP_RUNS + runs}")
    profiled_from = whole_runs[WARMUP_RUNS]["ts"]
    durations: dict[str, list[float]] = {}
    described: dict[str, tuple[str, str, tuple[int, ...] | None]] = {}
    for event in sorted(events, key=lambda e: e["ts"]):
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time") or event["ts"] < profiled_from:
            continue
        name, args = event["name"].removesuffix("_kernel_time"), event["args"]
        durations.setdefault(name, []).append(event["dur"] / 1e3)
        op = str(args["op_name"])
        shapes = [next(iter(shape.values())) for shape in args.get("input_type_shape", [])]
        weight_index = 3 if op == "QLinearConv" else 1
        weight = shapes[weight_index] if op in CONVOLUTIONS and len(shapes) > weight_index else None
        kernel_shape = tuple(weight[2:]) if weight is not None and len(weight) == 4 else None
        described[name] = (op, f"{op} ({args.get('provider', 'CPUExecutionProvider')})", kernel_shape)
    operators = [
        _Measured(name, op, kernel, shape, statistics.median(durations[name]))
        for name, (op, kernel, shape) in described.items()
    ]
    return operators, statistics.median(e["dur"] for e in whole_runs[WARMUP_RUNS:]) / 1e3


def _openvino_profile(
    path: str, x: np.ndarray, threads: int, runs: int, precision: str
) -> tuple[list[_Measured], float]:
    from squeezenext.deploy.openvino_runtime import compile_for_cpu

    request = compile_for_cpu(path, x.shape, threads, precision, perf_count=True)
    for _ in range(WARMUP_RUNS):
        request.infer({0: x})
    run_ms: list[float] = []
    durations: dict[str, list[float]] = {}
    described: dict[str, tuple[str, str]] = {}
    for _ in range(runs):
        start = time.perf_counter()
        request.infer({0: x})
        run_ms.append(1e3 * (time.perf_counter() - start))
        for layer in request.get_profiling_info():
            if layer.status.name != "EXECUTED":
                continue
            durations.setdefault(layer.node_name, []).append(layer.real_time.total_seconds() * 1e3)
            described[layer.node_name] = (layer.node_type, layer.exec_type)
    operators = [
        _Measured(name, op, kernel, None, statistics.median(durations[name]))
        for name, (op, kernel) in described.items()
    ]
    return operators, statistics.median(run_ms)


def _with_source(measured: list[_Measured], onnx_path: str) -> list[_Measured]:
    """Each operator with the ONNX node it came from, where the runtime kept its name (onnxruntime appends
    :data:`RUNTIME_SUFFIX`): its op type, and its kernel shape where the profiler gave none."""
    source = onnx_io.node_kernels(onnx_io.read_model(onnx_path, load_external_data=False))
    resolved = []
    for m in measured:
        source_op, source_shape = source.get(RUNTIME_SUFFIX.sub("", m.name), ("", None))
        resolved.append(dataclasses.replace(m, kernel_shape=m.kernel_shape or source_shape, source_op=source_op))
    return resolved


def _grouped(measured: list[_Measured]) -> list[OperatorTime]:
    """Each operator with its group; the first convolution executed is the stem."""
    grouped = []
    stem_seen = False
    for m in measured:
        if m.op in CONVOLUTIONS:
            category = _conv_category(m.kernel_shape) if stem_seen else STEM
            stem_seen = True
        else:
            leading = m.name.split("_")[0]  # OpenVINO names fused layers after their first operator: Convert_1528
            category = _GROUP_OF_OP.get(m.op) or _GROUP_OF_OP.get(m.source_op) or _GROUP_OF_OP.get(leading, "other")
        grouped.append(OperatorTime(m.name, m.op, m.kernel, category, m.ms))
    return grouped


def _runtime_version(backend: str) -> str:
    if backend in OPENVINO_BACKENDS:
        import openvino

        return f"OpenVINO {openvino.__version__}"
    import onnxruntime

    return f"onnxruntime {onnxruntime.__version__}"


RUNTIME_MEMORY_FACTOR = 3
"""Bytes a runtime holds per byte of the largest layer's input and output: both, plus its arena's slack."""


def check_memory(layers: Sequence[LayerDesc], batch: int, what: str, advice: str) -> None:
    """Refuse activations that cannot fit in this machine's available memory (the kernel would kill the process
    without a message): ``what`` names them, ``advice`` says what to change."""
    available = available_memory_bytes()
    if available is None or not layers:
        return
    largest = max(
        layer.in_hw[0] * layer.in_hw[1] * layer.in_channels + layer.out_hw[0] * layer.out_hw[1] * layer.out_channels
        for layer in layers
    )
    needed = RUNTIME_MEMORY_FACTOR * 4 * largest * batch
    if needed > available:
        raise SqueezeNextError(
            f"{what} needs about {needed / 2**30:.1f} GiB for its activations, more than the "
            f"{available / 2**30:.1f} GiB this machine has available; {advice}"
        )


def profile(
    network: str | NetworkSource, backend: str = "onnxruntime", *, batch: int = 1, input_size: int = 224,
    threads: int = 1, runs: int = 50, rounds: int = 1,
) -> dict[str, Any]:  # fmt: skip
    """Profile one network (a network argument, an ``.onnx`` file run as given) in one backend.

    Returns the run time, every operator with its group and kernel, and the totals per group and per kernel.
    With ``rounds`` > 1 the file is profiled that many times (``runs`` each, in fresh sessions) and the round
    with the lowest run time is kept: load from other work on a shared machine only ever adds time.
    """
    if runs < 1 or rounds < 1:
        raise SqueezeNextError(f"runs and rounds must be at least 1, got {runs} and {rounds}")
    check_backend(backend, PROFILE_BACKENDS)
    source = parse_network(network, BENCH_KINDS, purpose="profile")
    is_file = source.kind is SourceKind.ONNX
    if is_file and backend not in AS_GIVEN_BACKENDS:
        raise SqueezeNextError(
            f"backend {backend} makes its own file from a network; profile {source.argument} with one of "
            f"{', '.join(AS_GIVEN_BACKENDS)}, which run it as given"
        )
    channels, size = input_shape(source, input_size, [batch])
    check_memory(source.workload(size).layers, batch, f"batch {batch} of {source.argument}", "use a smaller --batch")
    x = np.random.default_rng(0).standard_normal((batch, channels, size, size)).astype(np.float32)
    with tempfile.TemporaryDirectory(prefix="squeezenext-profile-") as work:
        if is_file:
            path = str(source.path)
        else:
            from squeezenext.deploy.bench import export_for_bench

            path = export_for_bench(source, size, Path(work), (ONNX_FILE_OF[backend],), channels)[backend]
        try:
            if backend in OPENVINO_BACKENDS:
                profiled = [
                    _openvino_profile(path, x, threads, runs, OPENVINO_PRECISION[backend]) for _ in range(rounds)
                ]
            else:
                profiled = [_onnxruntime_profile(path, x, threads, runs, Path(work)) for _ in range(rounds)]
            measured, run_ms = min(profiled, key=lambda round_: round_[1])  # every round is kept in the report
            plain_ms = _plain_run_ms(path, backend, x, threads, runs, channels)
        except SqueezeNextError:
            raise
        except Exception as error:  # onnxruntime and OpenVINO raise their own types (a graph they cannot run)
            detail = " ".join(str(error).split())[:300]
            raise SqueezeNextError(f"{backend} cannot run {source.argument}: {detail}") from None
        measured = _with_source(measured, path)  # once, for the kept round
    operators = _grouped(measured)
    return {
        "model": source.argument,
        "backend": backend,
        "runtime": _runtime_version(backend),
        "batch": batch,
        "input_shape": list(x.shape),
        "threads": threads,
        "runs": runs,
        "rounds": rounds,
        "round_run_ms": [round_[1] for round_ in profiled],
        "machine": {**machine_summary(), "label": cpu_label()},
        "run_ms": run_ms,
        "plain_run_ms": plain_ms,
        "categories": _totals(operators, run_ms),
        "kernels": _kernels(operators),
        "operators": [asdict(o) for o in operators],
    }


def _plain_run_ms(path: str, backend: str, x: np.ndarray, threads: int, runs: int, channels: int) -> float:
    """The median run of the same file in a plain session (profiling off, timed as bench times it): profiling
    adds its own time per operator, which on a small model can exceed the model's."""
    case = Case("plain", backend, x.shape[0], x.shape[-1], threads, 0.0, runs, path, channels)
    times: list[float] = measure(case)["times"]
    return 1e3 * statistics.median(times)


def _totals(operators: list[OperatorTime], run_ms: float) -> list[dict[str, Any]]:
    """Time per group, as a share of the run; where the operators' medians add up to more than the run's
    median (per-operator and whole-run medians come from different runs), of their sum instead."""
    inside = sum(o.ms for o in operators)
    whole = max(run_ms, inside)
    totals = []
    for category in CATEGORIES:
        members = [o for o in operators if o.category == category]
        ms = whole - inside if category == OUTSIDE else sum(o.ms for o in members)
        if members or (category == OUTSIDE and ms > 0):
            totals.append({"category": category, "operators": len(members), "ms": ms, "share": ms / whole})
    return totals


def _kernels(operators: list[OperatorTime]) -> list[dict[str, Any]]:
    kernels: dict[str, list[OperatorTime]] = {}
    for operator in operators:
        kernels.setdefault(operator.kernel, []).append(operator)
    rows = [{"kernel": k, "operators": len(v), "ms": sum(o.ms for o in v)} for k, v in kernels.items()]
    return sorted(rows, key=lambda row: -row["ms"])


def profile_tables(payload: dict[str, Any], top: int = 10) -> str:
    """The command's printout: time per group, per kernel implementation, and the slowest operators."""
    title = (
        f"{payload['model']} in {payload['backend']} ({payload['runtime']}), batch {payload['batch']}, "
        f"{'x'.join(str(d) for d in payload['input_shape'][2:])}, {payload['threads']} threads, "
        f"{payload['machine']['label']}: "
        f"{payload['run_ms']:.2f} ms per profiled run (median of {payload['runs']}, best of {payload['rounds']} "
        f"rounds); {payload['plain_run_ms']:.2f} ms per run with profiling off (the shares below are of the "
        "profiled run)"
    )
    groups = format_table(
        ["group", "operators", "ms", "share"],
        [[c["category"], c["operators"], f"{c['ms']:.3f}", f"{100 * c['share']:.1f}%"] for c in payload["categories"]],
    )
    kernels = format_table(
        ["kernel", "operators", "ms"], [[k["kernel"], k["operators"], f"{k['ms']:.3f}"] for k in payload["kernels"]]
    )
    slowest = sorted(payload["operators"], key=lambda o: -o["ms"])[:top]
    operators = format_table(
        ["operator", "type", "group", "ms"], [[o["name"], o["op"], o["category"], f"{o['ms']:.3f}"] for o in slowest]
    )
    return f"{title}\n\n{groups}\n\n{kernels}\n\n{operators}"


TOP_KERNELS = 2
"""Kernel implementations named per profile in the docs' table (the ones taking the most time)."""


def profiles_markdown(payloads: list[dict[str, Any]]) -> str:
    """One row per (model, backend): the run time, each group's share of it, and the kernels that took most."""
    used = [c for c in CATEGORIES if any(g["category"] == c for p in payloads for g in p["categories"])]
    rows = []
    for p in payloads:
        shares = {g["category"]: g["share"] for g in p["categories"]}
        cells = [f"{100 * shares[c]:.0f}%" if c in shares else "" for c in used]
        whole = sum(g["ms"] for g in p["categories"])  # the denominator of the shares (see _totals)
        kernels = ", ".join(f"{k['kernel']} {100 * k['ms'] / whole:.0f}%" for k in p["kernels"][:TOP_KERNELS])
        rows.append([p["model"], p["backend"], f"{p['run_ms']:.2f}", *cells, kernels])
    return markdown_table(["model", "backend", "ms per run", *used, "top kernels"], rows)
