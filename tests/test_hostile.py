"""Hostile input, table-driven: every bad file, value or name gets one clear line and a non-zero exit.

Each CLI case asserts: exit status 2, exactly one line on stderr (``squeezenext: error: ...``) naming the
problem, no traceback, and nothing new, changed or half-written in the output folder. Each API case asserts
the library's own error type (a :class:`~squeezenext.errors.SqueezeNextError`) with a clear message.
Add a row for every command or option you write.
"""

import json
import os
import pickle
import re
import runpy
import shutil
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import onnx
import pytest
import torch
import yaml
from onnx import TensorProto, helper, numpy_helper

from squeezenext import create_model, load_pytorchcv_state_dict, squeezenext
from squeezenext.accel.cost import simulate, sweep
from squeezenext.accel.cpu_latency import (
    PROFILE_FORMAT,
    CalibratedPoint,
    CpuProfile,
    ProfileMachine,
    load_profile,
    profile_from_dict,
)
from squeezenext.accel.hardware import hardware_from_dict
from squeezenext.cli import main
from squeezenext.deploy.calibrate import CalibrationRequest
from squeezenext.deploy.predictor import Predictor
from squeezenext.deploy.profile import profile
from squeezenext.errors import SqueezeNextError
from squeezenext.machine import native_bf16
from squeezenext.registry import get_spec
from squeezenext.search.objectives import pareto_front
from squeezenext.search.request import SearchRequest
from squeezenext.search.space import HardwareSpace
from squeezenext.sources import load_workload
from squeezenext.train.config import TrainConfig

FAST_TRAIN = [
    "--data", "fake", "--input-size", "32", "--stem", "small", "--model", "sqnxt23_w1", "--fake-images", "32",
    "--fake-classes", "4", "--batch-size", "8", "--base-batch", "8", "--epochs", "1", "--progress", "false",
]  # fmt: skip
HARDWARE = "rows: 16\ncols: 16\n"
CPUS = os.cpu_count() or 1
CPU_PROFILE = CpuProfile(
    format=PROFILE_FORMAT, version=1, backend="onnxruntime", runtime_version="1.32.0", threads=2, batch=1,
    machine=ProfileMachine("Test CPU", ("AVX2",), 2, "test-avx2"), stem_kernels=(3, 5, 7), extra_blocks=4, rounds=3,
    calibration_seconds=60.0, points=(CalibratedPoint(1.0, 227, (1.0, 2.0, 3.0), 0.5, (0.1, 0.2, 0.3, 0.4)),),
)  # fmt: skip


def _png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's signature)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def _onnx_conv(path: Path, input_shape: list[int], weight_shape: list[int]) -> Path:
    """A one-Conv ONNX graph with the given input and weight shapes (no padding)."""
    weight = numpy_helper.from_array(torch.zeros(weight_shape).numpy(), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="conv")
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [weight],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), str(path))
    return path


class _Evil:
    """Pickles as a call to os.system: loading it with pickle would run a command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, trained: Path) -> SimpleNamespace:
    """Crafted bad inputs, made once."""
    root = tmp_path_factory.mktemp("hostile")
    f = SimpleNamespace(root=root, trained=trained, marker=root / "pwned")

    def write(name: str, text: str) -> Path:
        (root / name).write_text(text)
        return root / name

    f.evil = root / "evil.pt"
    torch.save({"model": _Evil(f.marker), "config": {}}, f.evil)
    state = torch.load(trained, weights_only=True)
    wrong = dict(state, model={**state["model"], "fc.weight": torch.zeros(5, 128)})
    torch.save(wrong, root / "wrong_shape.pt")
    missing = dict(state, model={k: v for k, v in state["model"].items() if k != "fc.weight"})
    torch.save(missing, root / "missing_key.pt")
    torch.save(dict(state, preprocessing=[1, 2]), root / "bad_preprocessing.pt")
    torch.save({"model": state["model"], "config": state["config"]}, root / "weights_only.pt")
    f.image = root / "image.png"
    from PIL import Image

    Image.new("RGB", (40, 40), (120, 30, 60)).save(f.image)
    f.bomb = root / "bomb.png"
    f.bomb.write_bytes(_png_header(14000, 14000))
    assert main(["export", str(trained), "--out", str(root / "good.onnx")]) == 0
    model = onnx.load(str(root / "good.onnx"))
    for entry in model.metadata_props:
        if entry.key == "squeezenext.preprocessing":
            entry.value = '{"transform": 5}'
    onnx.save(model, str(root / "edited.onnx"))
    f.nan_config = write("nan.yaml", "base_lr: .nan\n")
    f.dup_config = write("dup.yaml", "epochs: 1\nepochs: 2\n")
    f.hw_nan_energy = write("hw_nan.yaml", HARDWARE + "energy: {dram: .nan}\n")
    f.hw_inf_clock = write("hw_inf.yaml", HARDWARE + "clock_mhz: .inf\n")
    f.hw_nan_split = write("hw_split.yaml", HARDWARE + "gb_split: [.nan, 0.5, 0.5]\n")
    f.hw_nan_bandwidth = write("hw_bw.yaml", HARDWARE + "dram_bandwidth: .nan\n")
    f.hw_no_rows = write("hw_norows.yaml", "cols: 16\n")
    f.hw_dup = write("hw_dup.yaml", "rows: 16\ncols: 16\nrows: 8\n")
    f.hw_huge = write("hw_huge.yaml", "rows: 1000000000\ncols: 16\n")
    f.cpu_partial = write("cpu_partial.yaml", "format: squeezenext-cpu-latency-profile\nversion: 1\n")
    profile_data = CPU_PROFILE.to_dict()
    f.cpu = write("cpu.yaml", yaml.safe_dump(profile_data))
    f.cpu_nan = write("cpu_nan.yaml", yaml.safe_dump({**profile_data, "calibration_seconds": float("nan")}))
    f.csv_no_header = write("noheader.csv", "conv1, 56, 56, 3, 3, 64, 64, 1,\nconv2, 56, 56, 3, 3, 64, 64, 1,\n")
    header = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    f.csv_huge = write("huge.csv", header + "big, 1000000, 1000000, 3, 3, 64, 64, 1,\n")
    f.csv_zero = write("zero.csv", header + "conv, 56, 0, 3, 3, 64, 64, 1,\n")
    f.csv = write("conv.csv", header + "conv, 56, 56, 3, 3, 64, 64, 1,\n")
    f.pth = write("weights.pth", "not a network")
    f.onnx_big_kernel = _onnx_conv(root / "big_kernel.onnx", [1, 3, 4, 4], [8, 3, 7, 7])
    f.onnx_channels = _onnx_conv(root / "channels.onnx", [1, 3, 16, 16], [8, 5, 3, 3])
    f.onnx_zero = _onnx_conv(root / "zero.onnx", [1, 3, 0, 16], [8, 3, 1, 1])
    f.onnx_garbage = write("garbage.onnx", "not a model")
    f.onnx_empty = write("empty.onnx", "")
    f.spec_yes = write("spec_yes.yaml", "blocks: [1, 1, 1, 1]\nv5_wiring: 'yes'\n")
    f.spec_two = write("spec_two.yaml", "blocks: [1, 1, 1, 1]\nv5_wiring: 2\n")
    f.spec_huge_width = write("spec_wide.yaml", "blocks: [1, 1, 1, 1]\nwidth: 1e308\n")
    f.spec_huge_head = write("spec_head.yaml", "blocks: [1, 1, 1, 1]\nhead_channels: 1000000000\n")
    f.hw_tiny_bandwidth = write("hw_tiny_bw.yaml", HARDWARE + "dram_bandwidth: 1e-300\n")
    f.hw_huge_energy = write("hw_huge_energy.yaml", HARDWARE + "energy: {dram: 1e308}\n")
    f.binary_csv = root / "binary.csv"
    f.binary_csv.write_bytes(bytes(range(256)) * 4)
    nan_state = dict(
        state, model={**state["model"], "fc.weight": torch.full_like(state["model"]["fc.weight"], float("nan"))}
    )
    torch.save(nan_state, root / "nan_weights.pt")
    f.nan_weights = root / "nan_weights.pt"
    f.plain_pickle = root / "plain.pt"
    with f.plain_pickle.open("wb") as handle:
        pickle.dump({"model": {}, "config": {}}, handle)

    def profile_file(name: str, **changes: Any) -> Path:
        return write(name, yaml.safe_dump({**profile_data, **changes}))

    point = profile_data["points"][0]
    f.cpu_v2 = profile_file("cpu_v2.yaml", version=2)
    f.cpu_no_points = profile_file("cpu_no_points.yaml", points=[])
    f.cpu_negative = profile_file("cpu_negative.yaml", points=[{**point, "base_ms": [-1.0, 2.0, 3.0]}])
    f.cpu_two_bases = profile_file("cpu_two_bases.yaml", points=[{**point, "base_ms": [1.0, 2.0]}])
    f.cpu_twice = profile_file("cpu_twice.yaml", points=[point, point])
    f.cpu_nan_block = profile_file("cpu_nan_block.yaml", points=[{**point, "block_ms": [0.1, float("nan"), 0.3, 0.4]}])
    f.cpu_string_threads = profile_file("cpu_threads.yaml", threads="two")
    f.cpu_bad_machine = profile_file("cpu_machine.yaml", machine="AMD")
    f.cpu_state_list = profile_file("cpu_state.yaml", state_probe=[1, 2])
    f.hw_list = write("hw_list.yaml", "- 1\n- 2\n")
    f.spec_zero_block = write("spec_zero.yaml", "blocks: [0, 1, 1, 1]\n")
    f.spec_three_stages = write("spec_three.yaml", "blocks: [1, 1, 1]\n")
    f.spec_unknown_key = write("spec_depth.yaml", "blocks: [1, 1, 1, 1]\ndepth: 23\n")
    f.spec_list = write("spec_list.yaml", "- 1\n- 2\n")
    f.spec_empty = write("spec_empty.yml", "")
    f.spec_odd_width = write("spec_odd.yaml", "blocks: [1, 1, 1, 1]\nwidth: 0.3\n")
    f.spec_stem_zero = write("spec_stem.yaml", "blocks: [1, 1, 1, 1]\nstem_kernel: 0\n")
    f.spec_width_text = write("spec_width_text.yaml", "blocks: [1, 1, 1, 1]\nwidth: wide\n")
    f.spec_wide = write("spec_w3.yaml", "blocks: [1, 1, 1, 1]\nwidth: 3.0\n")
    f.spec_stem9 = write("spec_k9.yaml", "blocks: [1, 1, 1, 1]\nstem_kernel: 9\n")
    f.cfg_no_array = write("no_array.cfg", "[general]\nrun_name = x\n")
    f.cfg_sparse = write(
        "sparse.cfg", "[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\n[sparsity]\nSparsitySupport : true\n"
    )
    f.cfg_dataflow = write(
        "dataflow.cfg",
        "[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 1\nFilterSramSzkB: 1\nOfmapSramSzkB: 1\nDataflow: rs\n",
    )
    f.cfg_text_side = write("side.cfg", "[architecture_presets]\nArrayHeight: eight\nArrayWidth: 8\n")
    f.cfg_garbage = write("garbage.cfg", "not an ini file\n")
    f.float_tiff = root / "float.tiff"
    Image.fromarray(np.full((28, 28), 3.5, dtype=np.float32)).save(f.float_tiff)
    _round_three_files(f, write, profile_file)
    return f


def _round_three_files(
    f: SimpleNamespace, write: Callable[[str, str], Path], profile_file: Callable[..., Path]
) -> None:
    """The files of round three (issue 21's own inputs: CPU profiles, spec files, SCALE-Sim .cfg files)."""
    point = CPU_PROFILE.to_dict()["points"][0]
    profile_changes: dict[str, dict[str, Any]] = {
        "cpu_extra_key": {"comment": 1}, "cpu_tensorrt": {"backend": "tensorrt"}, "cpu_foreign": {"format": "other"},
        "cpu_batch0": {"batch": 0}, "cpu_extra0": {"extra_blocks": 0}, "cpu_rounds0": {"rounds": 0},
        "cpu_seconds": {"calibration_seconds": -5.0}, "cpu_stems": {"stem_kernels": [3, 3, 5]},
        "cpu_width0": {"points": [{**point, "width": 0}]}, "cpu_size0": {"points": [{**point, "input_size": 0}]},
        "cpu_three_blocks": {"points": [{**point, "block_ms": [0.1, 0.2, 0.3]}]},
        "cpu_points_mapping": {"points": {"a": 1}}, "cpu_point_text": {"points": ["x"]},
        "cpu_huge": {"points": [{**point, "base_ms": [1e308, 1e308, 1e308]}]},
        "cpu_state_nan": {"state_probe": {"best_ms": float("nan")}}, "cpu_threads_bool": {"threads": True},
    }  # fmt: skip
    for name, changes in profile_changes.items():
        setattr(f, name, profile_file(f"{name}.yaml", **changes))
    f.cpu_duplicate = write("cpu_duplicate.yaml", f.cpu.read_text() + "threads: 4\n")
    f.cpu_binary = write("cpu_binary.yaml", "\x00\x01PK\x03")
    spec = "blocks: [1, 1, 1, 1]\n"
    for name, text in {
        "spec_blocks_text": "blocks: '1,1,1,1'\n", "spec_blocks_huge": "blocks: [100000000, 1, 1, 1]\n",
        "spec_width_negative": spec + "width: -1\n", "spec_stem_1001": spec + "stem_kernel: 1001\n",
        "spec_groups0": spec + "groups: 0\n", "spec_duplicate": spec + "blocks: [2, 2, 2, 2]\n",
        "spec_width_nan": spec + "width: .nan\n", "spec_accelerator": "rows: 16\ncols: 16\n",
        "spec_binary": "\x00\x01\x02", "spec_head0": spec + "head_channels: 0\n",
        "spec_blocks_float": "blocks: [1, 1, 1, 1.5]\n", "spec_blocks_bool": "blocks: [true, 1, 1, 1]\n",
        "spec_width_bool": spec + "width: true\n", "spec_tab": "blocks:\t[1, 1, 1, 1]\n",
        "spec_anchors": "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
        "spec_python_tag": f"blocks: !!python/object/apply:os.system ['touch {f.marker}']\n",
        "hw_rows_bool": "rows: true\ncols: 16\n",
    }.items():  # fmt: skip
        setattr(f, name, write(f"{name}.yaml", text))
    cfg = (
        "[run_presets]\nInterfaceBandwidth: {interface}\n[architecture_presets]\nArrayHeight: {rows}\nArrayWidth: 8\n"
        "IfmapSramSzkB: {ifmap}\nFilterSramSzkB: 64\nOfmapSramSzkB: 64\nDataflow: ws\nBandwidth: {bandwidth}\n"
    )
    cfg_changes: dict[str, dict[str, Any]] = {
        "cfg_rows0": {"rows": 0}, "cfg_rows_huge": {"rows": 10**9}, "cfg_ifmap_negative": {"ifmap": -4},
        "cfg_bandwidth0": {"bandwidth": 0}, "cfg_bandwidth_nan": {"bandwidth": "nan"},
        "cfg_bandwidth_inf": {"bandwidth": "inf"}, "cfg_rows_fraction": {"rows": 8.5},
        "cfg_interface": {"interface": "FAST"}, "cfg_interpolation": {"rows": "%(side)s"},
    }  # fmt: skip
    for name, values in cfg_changes.items():
        fields = {"interface": "USER", "rows": 8, "ifmap": 64, "bandwidth": 10, **values}
        setattr(f, name, write(f"{name}.cfg", cfg.format(**fields)))
    f.cfg_repeated_option = write("cfg_repeated.cfg", "[architecture_presets]\nArrayHeight: 8\nArrayHeight: 16\n")
    f.cfg_repeated_section = write(
        "cfg_sections.cfg", "[architecture_presets]\nArrayHeight: 8\n[architecture_presets]\n"
    )
    f.cfg_binary = write("cfg_binary.cfg", "\x00\xff\xfe")
    f.cfg_empty = write("cfg_empty.cfg", "")
    f.text_png = write("text.png", "not an image")
    f.empty_png = write("empty.png", "")


@dataclass(frozen=True)
class CliCase:
    """One hostile command line: ``argv(files, out)`` and a regex the error line must match."""

    id: str
    argv: Callable[[SimpleNamespace, Path], list[str]]
    message: str
    setup: Callable[[SimpleNamespace, Path], None] | None = None


def _existing_run(files: SimpleNamespace, out: Path) -> None:
    shutil.copytree(files.trained.parent, out, dirs_exist_ok=True)


CLI_CASES = [
    # security: crafted checkpoints never run code
    CliCase("eval-evil-pickle", lambda f, o: ["eval", str(f.evil)], r"refused: .*could run code"),
    CliCase("export-evil-pickle", lambda f, o: ["export", str(f.evil), "--out", str(o / "m.onnx")], r"refused"),
    CliCase("predict-evil-pickle", lambda f, o: ["predict", str(f.image), "--model", str(f.evil)], r"refused"),
    CliCase(
        "resume-evil-pickle", lambda f, o: ["train", *FAST_TRAIN, "--out", str(o / "r"), "--resume", str(f.evil)],
        r"refused",
    ),
    # checkpoints that do not fit
    CliCase("eval-wrong-shape", lambda f, o: ["eval", str(f.root / "wrong_shape.pt")], r"fc\.weight has shape \[5, 128\]"),
    CliCase("eval-missing-key", lambda f, o: ["eval", str(f.root / "missing_key.pt")], r"fc\.weight is missing"),
    CliCase(
        "export-damaged-preprocessing",
        lambda f, o: ["export", str(f.root / "bad_preprocessing.pt"), "--out", str(o / "m.onnx")],
        r"'preprocessing' entry is missing or damaged",
    ),
    CliCase(
        "resume-from-final-weights",
        lambda f, o: ["train", *FAST_TRAIN, "--out", str(o / "r"), "--resume", str(f.root / "weights_only.pt")],
        r"not a training checkpoint",
    ),
    # never overwrite or mix runs
    CliCase(
        "train-into-existing-run", lambda f, o: ["train", *FAST_TRAIN, "--out", str(o)], r"already holds a run.*--resume auto.*--overwrite",
        setup=_existing_run,
    ),
    CliCase(
        "train-resume-and-overwrite",
        lambda f, o: ["train", *FAST_TRAIN, "--out", str(o), "--resume", "auto", "--overwrite"],
        r"give one",
        setup=_existing_run,
    ),
    # non-finite and duplicate configuration values
    CliCase("train-nan-yaml", lambda f, o: ["train", "--config", str(f.nan_config)], r"base_lr must be a finite number"),
    CliCase("train-nan-override", lambda f, o: ["train", *FAST_TRAIN, "--momentum", "nan"], r"momentum must be a finite"),
    CliCase("train-inf-override", lambda f, o: ["train", *FAST_TRAIN, "--weight-decay", "inf"], r"weight_decay"),
    CliCase("train-init-evil-pickle", lambda f, o: ["train", *FAST_TRAIN, "--init", str(f.evil), "--out", str(o / "r")], r"refused: .*could run code"),
    CliCase("train-init-missing", lambda f, o: ["train", *FAST_TRAIN, "--init", str(o / "none.pt"), "--out", str(o / "r")], r"none\.pt does not exist"),
    CliCase("train-init-other-architecture", lambda f, o: ["train", *FAST_TRAIN, "--model", "sqnxt23v5_w1", "--init", str(f.trained), "--out", str(o / "r")], r"does not fit the model: stages\.0\.blocks\.0\.\S+ has shape"),
    CliCase("train-init-pytorchcv-official", lambda f, o: ["train", *FAST_TRAIN, "--init", "pytorchcv", "--out", str(o / "r")], r"fit flavor: pytorchcv only"),
    CliCase("train-freeze-too-many", lambda f, o: ["train", *FAST_TRAIN, "--freeze-stages", "7"], r"freeze_stages must be in 0\.\.4, got 7"),
    CliCase("train-backbone-lr-nan", lambda f, o: ["train", *FAST_TRAIN, "--backbone-lr-scale", "nan"], r"backbone_lr_scale must be"),
    CliCase("train-duplicate-key", lambda f, o: ["train", "--config", str(f.dup_config)], r"'epochs' is given twice"),
    CliCase("hw-nan-energy", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.hw_nan_energy)], r"energy: dram must be a finite number, got nan"),
    CliCase("hw-inf-clock", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.hw_inf_clock)], r"clock_mhz"),
    CliCase("hw-nan-split", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.hw_nan_split)], r"gb_split"),
    CliCase("hw-nan-bandwidth", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.hw_nan_bandwidth)], r"dram_bandwidth"),
    CliCase("hw-missing-rows", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.hw_no_rows)], r"missing key\(s\) rows"),
    CliCase("hw-duplicate-key", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.hw_dup)], r"'rows' is given twice"),
    CliCase("hw-huge-rows", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.hw_huge)], r"limit of 65536"),
    CliCase("simulate-huge-rows-option", lambda f, o: ["simulate", "sqnxt23_w1", "--rows", "99999999"], r"limit of 65536"),
    # workloads that make no sense
    CliCase("csv-without-header", lambda f, o: ["simulate", str(f.csv_no_header)], r"not SCALE-Sim's header"),
    CliCase("csv-overflow", lambda f, o: ["simulate", str(f.csv_huge)], r"too large for the cost model.*2\^44"),
    CliCase("csv-zero", lambda f, o: ["simulate", str(f.csv_zero)], r"must be >= 1"),
    CliCase("onnx-kernel-larger-than-input", lambda f, o: ["simulate", str(f.onnx_big_kernel)], r"not a valid ONNX|larger than"),
    CliCase("onnx-channel-mismatch", lambda f, o: ["simulate", str(f.onnx_channels)], r"not a valid ONNX|does not fit"),
    CliCase("onnx-zero-dimension", lambda f, o: ["simulate", str(f.onnx_zero)], r"not a valid ONNX|zero"),
    CliCase(
        "dataflow-with-objective", lambda f, o: ["simulate", "sqnxt23_w1", "--dataflow", "ws", "--objective", "energy"],
        r"--dataflow ws fixes one",
    ),
    # numbers that must be positive
    CliCase("predict-top-k-0", lambda f, o: ["predict", str(f.image), "--model", str(f.trained), "--top-k", "0"], r"top-k"),
    CliCase("predict-top-k-negative", lambda f, o: ["predict", str(f.image), "--model", str(f.trained), "--top-k", "-1"], r"top-k"),
    CliCase("export-batch-0", lambda f, o: ["export", "sqnxt23_w1", "--out", str(o / "m.onnx"), "--batch", "0"], r"--batch"),
    CliCase("bench-threads-0", lambda f, o: ["bench", "--threads", "0", "--json", str(o / "b.json")], r"--threads"),
    CliCase("bench-batch-0", lambda f, o: ["bench", "--batch", "1,0", "--json", str(o / "b.json")], r"--batch"),
    CliCase("bench-min-seconds-nan", lambda f, o: ["bench", "--min-seconds", "nan", "--json", str(o / "b.json")], r"--min-seconds"),
    CliCase("info-input-size-0", lambda f, o: ["info", "sqnxt23_w1", "--input-size", "0"], r"--input-size"),
    CliCase("simulate-input-size-0", lambda f, o: ["simulate", "sqnxt23_w1", "--input-size", "0"], r"--input-size"),
    CliCase(
        "export-calibration-negative",
        lambda f, o: ["export", str(f.trained), "--out", str(o / "m.onnx"), "--int8", "--calibration-images", "-5"],
        r"--calibration-images",
    ),
    CliCase("eval-batch-0", lambda f, o: ["eval", str(f.trained), "--batch-size", "0"], r"--batch-size"),
    # names
    CliCase("info-typo", lambda f, o: ["info", "sqnxt23_w11"], r"unknown model 'sqnxt23_w11'\. Did you mean 'sqnxt23_w1'"),
    CliCase("info-torchvision-typo", lambda f, o: ["info", "torchvision:squeezenet1_2"], r"Did you mean 'squeezenet1_[01]'"),
    CliCase("info-pytorchcv-unknown", lambda f, o: ["info", "pytorchcv:nosuch"], r"unknown pytorchcv model 'nosuch'"),
    CliCase(
        "bench-pytorchcv-unknown", lambda f, o: ["bench", "--models", "pytorchcv:nosuch", "--json", str(o / "b.json")],
        r"unknown pytorchcv model",
    ),
    CliCase(
        "info-torchvision-too-small", lambda f, o: ["info", "torchvision:squeezenet1_0", "--input-size", "8"],
        r"too small for torchvision:squeezenet1_0: its smallest input is \d+x\d+",
    ),
    CliCase("bench-models-empty", lambda f, o: ["bench", "--models", "", "--json", str(o / "b.json")], r"--models: expected comma-separated names, none empty"),
    CliCase("bench-onnx-in-eager", lambda f, o: ["bench", "--models", str(f.onnx_channels), "--backends", "eager", "--batch", "1", "--json", str(o / "b.json")], r"backend eager needs a PyTorch module; .*channels\.onnx is an ONNX file"),
    CliCase("bench-csv", lambda f, o: ["bench", "--models", str(f.csv), "--json", str(o / "b.json")], r"bench takes .*; .*\.csv is a SCALE-Sim topology"),
    CliCase("export-csv", lambda f, o: ["export", str(f.csv), "--out", str(o / "m.onnx")], r"export takes .*; .*\.csv is a SCALE-Sim topology"),
    CliCase("info-csv-input-size", lambda f, o: ["info", str(f.csv), "--input-size", "227"], r"fixed layer sizes; drop --input-size 227"),
    CliCase("info-pth-file", lambda f, o: ["info", str(f.pth)], r"a network file is one of"),
    CliCase("bench-input-too-small", lambda f, o: ["bench", "--models", "torchvision:alexnet", "--input-size", "16", "--json", str(o / "b.json")], r"its smallest input is"),
    # outputs checked before the work
    CliCase(
        "bench-unwritable-json", lambda f, o: ["bench", "--models", "sqnxt23_w1", "--json", str(f.image / "b.json")],
        r"b\.json",
    ),
    CliCase("export-pretrained-none-public", lambda f, o: ["export", "sqnxt23g_w1", "--pretrained", "--out", str(o / "m.onnx")], r"sqnxt23g_w1 has no public pretrained weights; those with"),
    CliCase("export-pretrained-and-weights", lambda f, o: ["export", "sqnxt23_w1", "--pretrained", "--weights", str(f.trained), "--out", str(o / "m.onnx")], r"not allowed with argument --pretrained"),
    CliCase("export-weights-evil-pickle", lambda f, o: ["export", "sqnxt23_w1", "--weights", str(f.evil), "--out", str(o / "m.onnx")], r"refused: .*could run code"),
    CliCase("export-weights-other-architecture", lambda f, o: ["export", "sqnxt23_w1", "--weights", str(f.trained), "--out", str(o / "m.onnx")], r"does not fit the model: stem\.conv\.weight has shape"),
    CliCase("export-weights-missing", lambda f, o: ["export", "sqnxt23_w1", "--weights", str(o / "none.pth"), "--out", str(o / "m.onnx")], r"none\.pth does not exist"),
    CliCase("export-out-is-a-folder", lambda f, o: ["export", "sqnxt23_w1", "--out", str(o)], r"is a folder"),
    CliCase("export-out-not-onnx", lambda f, o: ["export", "sqnxt23_w1", "--out", str(o / "m.txt")], r"must end in \.onnx"),
    CliCase(
        "export-bogus-calibration",
        lambda f, o: ["export", str(f.trained), "--out", str(o / "m.onnx"), "--int8", "--calibration", "bogus"],
        r"unknown data 'bogus'",
    ),
    CliCase(
        "simulate-unwritable-csv", lambda f, o: ["simulate", "sqnxt23_w1", "--csv", str(f.image / "x.csv")], r"x\.csv"
    ),
    CliCase("export-options-on-a-checkpoint", lambda f, o: ["export", str(f.trained), "--out", str(o / "m.onnx"), "--num-classes", "5"], r"--num-classes apply to networks by name; a checkpoint has its own"),
    CliCase("study-out-is-a-file", lambda f, o: ["study", "--out", str(f.image)], r"exists and is not a folder"),
    CliCase("train-unknown-model", lambda f, o: ["train", *FAST_TRAIN, "--model", "sqnxt23_v5", "--out", str(o / "r")], r"Did you mean"),
    CliCase("train-unknown-key", lambda f, o: ["train", *FAST_TRAIN, "--batch-sise", "3"], r"unknown configuration key\(s\) --batch-sise"),
    # the design search (more cases in tests/test_search.py)
    CliCase("search-unknown-objective", lambda f, o: ["search", "--objective", "speed", "--out", str(o / "s")], r"unknown objective"),
    CliCase("search-unparseable-constraint", lambda f, o: ["search", "--constraint", "params=<5", "--out", str(o / "s")], r"cannot parse constraint"),
    CliCase("search-nan-constraint", lambda f, o: ["search", "--constraint", "params<=nan", "--out", str(o / "s")], r"bound must be a finite number"),
    CliCase("search-out-is-a-file", lambda f, o: ["search", "--out", str(f.image)], r"exists and is not a folder"),
    CliCase("search-base-is-a-checkpoint", lambda f, o: ["search", "--base", str(f.trained), "--out", str(o / "s")], r"--space network's --base takes a registered or paper name .*, a spec file \(\.yaml\); .*model\.pt is a training checkpoint"),
    CliCase("search-rungs-decreasing", lambda f, o: ["search", "--sampler", "nsga2", "--objective", "error", "--rungs", "8000,2000", "--out", str(o / "s")], r"fidelity rungs must be increasing"),
    CliCase("search-error-exhaustive", lambda f, o: ["search", "--objective", "error,params", "--out", str(o / "s")], r"error_pct is measured per design"),
    CliCase("export-executorch-int8-too-few-images", lambda f, o: ["export", "sqnxt23_w1", "--out", str(o / "m.onnx"), "--executorch", "--int8", "--batch", "4", "--calibration-images", "2", "--input-size", "32"], r"int8 calibration needs at least 4 images"),
    # profile
    CliCase("profile-damaged-onnx", lambda f, o: ["profile", str(f.onnx_garbage)], r"garbage\.onnx is not a readable ONNX model"),
    CliCase("profile-missing-onnx", lambda f, o: ["profile", str(o / "none.onnx")], r"none\.onnx does not exist"),
    CliCase("profile-int8-of-a-file", lambda f, o: ["profile", str(f.root / "good.onnx"), "--backend", "onnxruntime-int8"], r"makes its own file from a network"),
    CliCase("profile-batch-mismatch", lambda f, o: ["profile", str(f.onnx_big_kernel), "--batch", "2"], r"takes batch 1 only; pass --batch 1"),
    CliCase("profile-runtime-refuses", lambda f, o: ["profile", str(f.onnx_channels)], r"channels\.onnx: conv: weight shape \[8, 5, 3, 3\] does not fit 3 input channels"),
    CliCase("profile-openvino-refuses", lambda f, o: ["profile", str(f.onnx_channels), "--backend", "openvino"], r"channels\.onnx: conv: weight shape \[8, 5, 3, 3\] does not fit 3 input channels"),
    CliCase("profile-unknown-model", lambda f, o: ["profile", "sqnxt23_v5"], r"Did you mean"),
    CliCase("profile-unknown-backend", lambda f, o: ["profile", "sqnxt23_w1", "--backend", "tensorrt"], r"invalid choice: 'tensorrt'"),
    CliCase("profile-runs-0", lambda f, o: ["profile", "sqnxt23_w1", "--runs", "0"], r"--runs"),
    CliCase("profile-unwritable-json", lambda f, o: ["profile", "sqnxt23_w1", "--json", str(f.image / "p.json")], r"p\.json"),
    *(
        [
            CliCase("profile-bf16-without-native-bf16", lambda f, o: ["profile", str(f.root / "good.onnx"), "--backend", "openvino-bf16", "--input-size", "32"], r"openvino-bf16 needs a CPU that computes bf16 natively"),
            CliCase("bench-bf16-without-native-bf16", lambda f, o: ["bench", "--backends", "openvino-bf16", "--json", str(o / "b.json")], r"openvino-bf16 needs a CPU that computes bf16 natively"),
        ]
        if not native_bf16()
        else []
    ),
    CliCase("search-latency-backend-without-latency", lambda f, o: ["search", "--latency-backend", "openvino", "--out", str(o / "s")], r"--latency-backend applies to the latency objective"),
    CliCase("search-latency-backend-unknown", lambda f, o: ["search", "--sampler", "nsga2", "--objective", "latency", "--latency-backend", "tensorrt", "--out", str(o / "s")], r"invalid choice: 'tensorrt'"),
    *(
        [CliCase("search-latency-bf16-without-native-bf16", lambda f, o: ["search", "--sampler", "nsga2", "--objective", "latency", "--latency-backend", "openvino-bf16", "--out", str(o / "s")], r"--latency-backend: backend openvino-bf16 needs a CPU that computes bf16 natively")]
        if not native_bf16()
        else []
    ),
    # CPU latency profiles (squeezenext calibrate) and simulate on them
    CliCase("cpu-profile-missing-keys", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_partial)], r"missing key\(s\) backend, runtime_version"),
    CliCase("cpu-profile-nan", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_nan)], r"calibration_seconds must be a finite number, got nan"),
    CliCase("cpu-profile-other-family", lambda f, o: ["simulate", "torchvision:alexnet", "--hardware", str(f.cpu)], r"a CPU latency profile takes .*torchvision:alexnet is a torchvision model"),
    CliCase("cpu-profile-accelerator-option", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu), "--rows", "8"], r"--rows describe an accelerator"),
    CliCase("cpu-profile-uncalibrated-size", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu), "--input-size", "224"], r"input size 224 is not calibrated"),
    CliCase("cpu-profile-pytorchcv-flavor", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu), "--flavor", "pytorchcv"], r"calibrated on the official flavor"),
    CliCase("calibrate-unknown-backend", lambda f, o: ["calibrate", "--backend", "tensorrt", "--out", str(o / "p.yaml")], r"invalid choice: 'tensorrt'"),
    CliCase("calibrate-zero-width", lambda f, o: ["calibrate", "--widths", "0", "--out", str(o / "p.yaml")], r"--widths"),
    CliCase("calibrate-zero-rounds", lambda f, o: ["calibrate", "--rounds", "0", "--out", str(o / "p.yaml")], r"--rounds"),
    CliCase("calibrate-existing-profile", lambda f, o: ["calibrate", "--out", str(o / "profile.yaml")], r"profile\.yaml already exists; replace it with --overwrite", setup=lambda f, o: _file(o / "profile.yaml")),
    CliCase("calibrate-unfinished-with-other-options", lambda f, o: ["calibrate", "--widths", "1", "--input-sizes", "32", "--out", str(o / "p.yaml")], r"holds an unfinished calibration with other options", setup=lambda f, o: _unfinished_calibration(o / "p.yaml.parts")),
    # round two (issue 21): data loss
    CliCase("search-resume-exhaustive-folder", lambda f, o: ["search", "--sampler", "nsga2", "--trials", "2", "--resume", "--out", str(o / "s")], r"holds a search without search\.db .*nothing here to --resume", setup=lambda f, o: _finished_search(o / "s")),
    CliCase("search-storage-foreign-file", lambda f, o: ["search", "--sampler", "nsga2", "--trials", "2", "--storage", f"sqlite:///{o / 'keep.txt'}", "--out", str(o / "s")], r"keep\.txt is not an SQLite database"),
    CliCase("search-storage-in-memory", lambda f, o: ["search", "--sampler", "nsga2", "--trials", "2", "--storage", "sqlite:///", "--out", str(o / "s")], r"names no file, and an in-memory search cannot be resumed"),
    CliCase("search-storage-missing-folder", lambda f, o: ["search", "--sampler", "nsga2", "--trials", "2", "--storage", f"sqlite:///{o / 'none' / 's.db'}", "--out", str(o / "s")], r"the folder .*none does not exist"),
    CliCase("search-storage-not-a-url", lambda f, o: ["search", "--sampler", "nsga2", "--trials", "2", "--storage", "search.db", "--out", str(o / "s")], r"'search\.db' is not a database URL"),
    CliCase("search-storage-password-masked", lambda f, o: ["search", "--sampler", "nsga2", "--trials", "2", "--storage", "postgresql://me:s3cret@localhost:1/db", "--out", str(o / "s")], r"^(?!.*s3cret).*(postgresql://me:\*\*\*@|psycopg|driver|module)"),
    CliCase("study-fails-leaves-no-folder", lambda f, o: ["study", "--hardware", str(f.hw_tiny_bandwidth), "--out", str(o / "study")], r"2\^62 cycles"),
    CliCase("study-into-existing-study", lambda f, o: ["study", "--out", str(o)], r"already holds a study \(REPORT\.md\); replace it with --overwrite", setup=lambda f, o: _file(o / "REPORT.md")),
    CliCase("simulate-csv-exists", lambda f, o: ["simulate", "sqnxt23_w1", "--csv", str(o / "keep.txt")], r"keep\.txt already exists; replace it with --overwrite"),
    CliCase("simulate-plot-exists", lambda f, o: ["simulate", "sqnxt23_w1", "--plot", str(o / "keep.txt")], r"keep\.txt already exists"),
    CliCase("simulate-topology-exists", lambda f, o: ["simulate", "sqnxt23_w1", "--write-topology", str(o / "keep.txt")], r"keep\.txt already exists"),
    CliCase("export-out-exists", lambda f, o: ["export", "sqnxt23_w1", "--out", str(o / "m.onnx")], r"m\.onnx already exists; replace it with --overwrite", setup=lambda f, o: _file(o / "m.onnx")),
    CliCase("export-int8-file-exists", lambda f, o: ["export", "sqnxt23_w1", "--int8", "--out", str(o / "m.onnx")], r"m\.int8\.onnx already exists", setup=lambda f, o: _file(o / "m.int8.onnx")),
    CliCase("bench-json-exists", lambda f, o: ["bench", "--models", "sqnxt23_w1", "--json", str(o / "keep.txt")], r"keep\.txt already exists; replace it with --overwrite"),
    CliCase("train-output-in-new-folders-fails", lambda f, o: ["train", *FAST_TRAIN, "--momentum", "5", "--out", str(o / "a" / "b")], r"momentum must be in \[0, 1\)"),
    # round two: hangs
    CliCase("search-pe-budget-huge", lambda f, o: ["search", "--space", "hardware", "--base", "sqnxt23_w1", "--pe-budget", "1000000000000", "--out", str(o / "s")], r"pe_budget 1,000,000,000,000 is more than the largest array"),
    # round two: silent wrong results
    CliCase("spec-v5-wiring-string", lambda f, o: ["info", str(f.spec_yes)], r"v5_wiring must be true or false, got 'yes'"),
    CliCase("spec-v5-wiring-integer", lambda f, o: ["info", str(f.spec_two)], r"v5_wiring must be true or false, got 2"),
    CliCase("hw-tiny-bandwidth", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.hw_tiny_bandwidth)], r"DRAM bandwidth of 1e-300 bytes/cycle .*2\^62 cycles"),
    CliCase("hw-tiny-bandwidth-search", lambda f, o: ["search", "--hardware", str(f.hw_tiny_bandwidth), "--out", str(o / "s")], r"2\^62 cycles"),
    CliCase("hw-huge-energy", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.hw_huge_energy)], r"dram energy per access is too large"),
    CliCase("eval-nan-weights", lambda f, o: ["eval", str(f.nan_weights), "--json"], r"fc\.weight holds NaN or infinite values"),
    CliCase("predict-nan-weights", lambda f, o: ["predict", str(f.image), "--model", str(f.nan_weights), "--json"], r"fc\.weight holds NaN or infinite values"),
    CliCase("export-nan-weights", lambda f, o: ["export", str(f.nan_weights), "--out", str(o / "m.onnx")], r"^squeezenext: error: \S*nan_weights\.pt: fc\.weight holds NaN"),
    CliCase("train-init-nan-weights", lambda f, o: ["train", *FAST_TRAIN, "--init", str(f.nan_weights), "--out", str(o / "r")], r"fc\.weight holds NaN or infinite values"),
    CliCase("predict-float-image-out-of-range", lambda f, o: ["predict", str(f.float_tiff), "--model", str(f.root / "good.onnx")], r"floating-point pixels must lie in \[0, 1\] \(found 3\.5 to 3\.5\)"),
    CliCase("train-momentum-above-one", lambda f, o: ["train", *FAST_TRAIN, "--momentum", "5", "--out", str(o / "r")], r"momentum must be in \[0, 1\)"),
    # round two: tracebacks and unclear messages
    CliCase("spec-width-1e308", lambda f, o: ["info", str(f.spec_huge_width)], r"width multiplier 1e\+308 gives more than 16,384 channels"),
    CliCase("spec-head-channels-huge", lambda f, o: ["info", str(f.spec_huge_head)], r"head_channels must be integers from 1 to 16,384"),
    CliCase("eval-plain-pickle", lambda f, o: ["eval", str(f.plain_pickle)], r"refused: it is a plain Python pickle"),
    CliCase("simulate-empty-onnx", lambda f, o: ["simulate", str(f.onnx_empty)], r"empty\.onnx holds no ONNX graph"),
    CliCase("simulate-binary-csv", lambda f, o: ["simulate", str(f.binary_csv)], r"binary\.csv is not a text CSV file"),
    CliCase("profile-batch-beyond-memory", lambda f, o: ["profile", "sqnxt23_w1", "--batch", "100000000"], r"batch 100000000 of sqnxt23_w1 needs about [\d.]+ GiB .* use a smaller --batch"),
    CliCase("profile-missing-checkpoint", lambda f, o: ["profile", str(o / "model.pt")], r"model\.pt does not exist"),
    CliCase("search-trials-exhaustive", lambda f, o: ["search", "--trials", "5", "--out", str(o / "s")], r"--trials counts Optuna trials, but this space \([\d,]+ designs\) is searched exhaustively"),
    # round two: CPU latency profiles (squeezenext calibrate) and what reads them
    CliCase("cpu-profile-version-2", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_v2)], r"version 2: expected 'squeezenext-cpu-latency-profile' version 1"),
    CliCase("cpu-profile-no-points", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_no_points)], r"no calibrated points"),
    CliCase("cpu-profile-negative-base", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_negative)], r"base latencies must be positive"),
    CliCase("cpu-profile-base-per-stem", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_two_bases)], r"one base latency per stem kernel"),
    CliCase("cpu-profile-point-twice", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_twice)], r"exactly once"),
    CliCase("cpu-profile-nan-block", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_nan_block)], r"block_ms must be"),
    CliCase("cpu-profile-threads-text", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_string_threads)], r"threads must be an integer, got 'two'"),
    CliCase("cpu-profile-machine-text", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_bad_machine)], r"machine"),
    CliCase("cpu-profile-state-probe-a-list", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_state_list)], r"state_probe must be a mapping, got list"),
    CliCase("cpu-profile-width-outside", lambda f, o: ["simulate", str(f.spec_wide), "--hardware", str(f.cpu)], r"width 3 is outside the calibrated widths 1-1"),
    CliCase("cpu-profile-stem-uncalibrated", lambda f, o: ["simulate", str(f.spec_stem9), "--hardware", str(f.cpu)], r"stem kernel 9 is not calibrated"),
    CliCase("cpu-profile-grouped-network", lambda f, o: ["simulate", "sqnxt23g_w1", "--hardware", str(f.cpu)], r"groups 2, .*calibrated for groups 1"),
    CliCase("cpu-profile-checkpoint", lambda f, o: ["simulate", str(f.trained), "--hardware", str(f.cpu)], r"a CPU latency profile takes .*training checkpoint"),
    CliCase("cpu-search-energy", lambda f, o: ["search", "--hardware", str(f.cpu), "--objective", "time,energy", "--out", str(o / "s")], r"energy: a CPU latency profile predicts time only"),
    CliCase("cpu-search-energy-constraint", lambda f, o: ["search", "--hardware", str(f.cpu), "--objective", "time", "--constraint", "energy<=1", "--out", str(o / "s")], r"energy<=1: a CPU latency profile predicts time only"),
    CliCase("cpu-search-hardware-space", lambda f, o: ["search", "--hardware", str(f.cpu), "--objective", "time", "--space", "hardware", "--out", str(o / "s")], r"--space hardware searches accelerators"),
    CliCase("cpu-search-sampler", lambda f, o: ["search", "--hardware", str(f.cpu), "--objective", "time", "--sampler", "nsga2", "--out", str(o / "s")], r"searched exhaustively .*drop --sampler"),
    CliCase("cpu-search-damaged-profile", lambda f, o: ["search", "--hardware", str(f.cpu_v2), "--objective", "time", "--out", str(o / "s")], r"version 2"),
    CliCase("hw-a-list", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.hw_list)], r"hw_list\.yaml.*mapping"),
    CliCase("calibrate-threads-0", lambda f, o: ["calibrate", "--threads", "0", "--out", str(o / "p.yaml")], r"--threads"),
    CliCase("calibrate-input-size-0", lambda f, o: ["calibrate", "--input-sizes", "224,0", "--out", str(o / "p.yaml")], r"--input-sizes"),
    CliCase("calibrate-out-is-a-folder", lambda f, o: ["calibrate", "--out", str(o)], r"is a folder"),
    CliCase("calibrate-out-unwritable", lambda f, o: ["calibrate", "--out", str(f.image / "p.yaml")], r"p\.yaml"),
    CliCase("calibrate-widths-text", lambda f, o: ["calibrate", "--widths", "1,wide", "--out", str(o / "p.yaml")], r"--widths"),
    CliCase("calibrate-odd-width", lambda f, o: ["calibrate", "--widths", "0.3", "--out", str(o / "p.yaml")], r"width 0\.3 gives 9\.6 channels"),
    # round two: network arguments and spec files
    CliCase("spec-zero-block", lambda f, o: ["info", str(f.spec_zero_block)], r"blocks must be four positive integers"),
    CliCase("spec-three-stages", lambda f, o: ["info", str(f.spec_three_stages)], r"blocks"),
    CliCase("spec-unknown-key", lambda f, o: ["info", str(f.spec_unknown_key)], r"unknown key\(s\) depth"),
    CliCase("spec-a-list", lambda f, o: ["info", str(f.spec_list)], r"expected a mapping"),
    CliCase("spec-empty", lambda f, o: ["info", str(f.spec_empty)], r"expected a mapping"),
    CliCase("spec-odd-width", lambda f, o: ["info", str(f.spec_odd_width)], r"every stage width must be an integer multiple of 4"),
    CliCase("spec-stem-zero", lambda f, o: ["info", str(f.spec_stem_zero)], r"stem_kernel must be an integer >= 1"),
    CliCase("spec-width-text", lambda f, o: ["info", str(f.spec_width_text)], r"width"),
    CliCase("spec-in-search-base", lambda f, o: ["search", "--base", str(f.spec_yes), "--out", str(o / "s")], r"v5_wiring must be true or false"),
    CliCase("spec-in-train", lambda f, o: ["train", *FAST_TRAIN, "--model", str(f.spec_zero_block), "--out", str(o / "r")], r"blocks must be four positive integers"),
    CliCase("spec-in-export", lambda f, o: ["export", str(f.spec_two), "--out", str(o / "m.onnx")], r"v5_wiring must be true or false"),
    CliCase("network-missing-spec", lambda f, o: ["info", str(o / "none.yaml")], r"none\.yaml does not exist"),
    CliCase("network-missing-onnx-upper-case", lambda f, o: ["info", str(o / "NONE.ONNX")], r"NONE\.ONNX does not exist"),
    CliCase("network-a-folder", lambda f, o: ["info", str(o)], r"out is a folder; a network is a name or a file \(\.csv, "),
    CliCase("network-empty-torchvision-name", lambda f, o: ["info", "torchvision:"], r"torchvision"),
    CliCase("network-empty-name", lambda f, o: ["info", ""], r"unknown model ''|network"),
    CliCase("simulate-onnx-garbage", lambda f, o: ["simulate", str(f.onnx_garbage)], r"garbage\.onnx is not a readable ONNX model"),
    CliCase("bench-spec-invalid", lambda f, o: ["bench", "--models", str(f.spec_yes), "--json", str(o / "b.json")], r"v5_wiring must be true or false"),
    CliCase("profile-spec-invalid", lambda f, o: ["profile", str(f.spec_two)], r"v5_wiring must be true or false"),
    # SCALE-Sim's own .cfg hardware files
    CliCase("cfg-no-architecture", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_no_array)], r"no \[architecture_presets\] section"),
    CliCase("cfg-sparsity", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_sparse)], r"SparsitySupport is true"),
    CliCase("cfg-unknown-dataflow", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_dataflow)], r"dataflow\.cfg: dataflows must be a list of values from ws, os, is, got \('rs',\)"),
    CliCase("cfg-side-as-text", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_text_side)], r"ArrayHeight must be a number, got 'eight'"),
    CliCase("cfg-not-ini", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_garbage)], r"garbage\.cfg is not a SCALE-Sim \.cfg file"),
    CliCase("cfg-missing", lambda f, o: ["study", "--hardware", str(o / "none.cfg"), "--out", str(o / "st")], r"SCALE-Sim config .*none\.cfg does not exist"),
    # round three (issue 21, own inputs): squeezenext calibrate
    CliCase("calibrate-rounds-text", lambda f, o: ["calibrate", "--rounds", "x", "--out", str(o / "p.yaml")], r"--rounds: expected an integer >= 1, got 'x'"),
    CliCase("calibrate-widths-empty", lambda f, o: ["calibrate", "--widths", "", "--out", str(o / "p.yaml")], r"--widths: expected a number > 0, got ''"),
    CliCase("calibrate-widths-nan", lambda f, o: ["calibrate", "--widths", "nan", "--out", str(o / "p.yaml")], r"--widths: expected a finite number > 0, got nan"),
    CliCase("calibrate-widths-inf", lambda f, o: ["calibrate", "--widths", "1,inf", "--out", str(o / "p.yaml")], r"--widths: expected a finite number > 0, got inf"),
    CliCase("calibrate-widths-negative", lambda f, o: ["calibrate", "--widths", "-1", "--out", str(o / "p.yaml")], r"--widths: expected a finite number > 0, got -1"),
    CliCase("calibrate-width-too-wide", lambda f, o: ["calibrate", "--widths", "1000", "--out", str(o / "p.yaml")], r"width multiplier 1000 gives more than 16,384 channels"),
    CliCase("calibrate-widths-repeated", lambda f, o: ["calibrate", "--widths", "1,0.5,1", "--out", str(o / "p.yaml")], r"--widths: 1 given more than once"),
    CliCase("calibrate-input-sizes-repeated", lambda f, o: ["calibrate", "--input-sizes", "224,224", "--out", str(o / "p.yaml")], r"--input-sizes: 224 given more than once"),
    CliCase("calibrate-input-size-beyond-memory", lambda f, o: ["calibrate", "--input-sizes", "100000", "--out", str(o / "p.yaml")], r"needs about [\d.]+ GiB for its activations, .*calibrate smaller --input-sizes"),
    CliCase("calibrate-out-json", lambda f, o: ["calibrate", "--out", str(o / "p.json")], r"a CPU latency profile is YAML; the file name must end in \.yaml"),
    CliCase("calibrate-out-cfg", lambda f, o: ["calibrate", "--out", str(o / "p.cfg")], r"must end in \.yaml"),
    CliCase("calibrate-out-unknown-placeholder", lambda f, o: ["calibrate", "--out", str(o / "{kind}.yaml")], r"unknown placeholder \{kind\}; the one placeholder is \{cpu_kind\}"),
    CliCase("calibrate-threads-beyond-cpus", lambda f, o: ["calibrate", "--threads", str(CPUS + 1), "--out", str(o / "p.yaml")], rf"{CPUS + 1} threads: this machine has {CPUS} CPUs"),
    CliCase("calibrate-threads-text", lambda f, o: ["calibrate", "--threads", "two", "--out", str(o / "p.yaml")], r"--threads: expected an integer >= 1, got 'two'"),
    CliCase("calibrate-backend-unknown", lambda f, o: ["calibrate", "--backend", "tensorrt", "--out", str(o / "p.yaml")], r"invalid choice: 'tensorrt'"),
    # round three: CPU latency profiles read by simulate, study and search
    CliCase("cpu-profile-unknown-key", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_extra_key)], r"unknown key\(s\) comment"),
    CliCase("cpu-profile-backend-unknown", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_tensorrt)], r"backend 'tensorrt' is not a calibrated runtime"),
    CliCase("cpu-profile-foreign-format", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_foreign)], r"is a file of format 'other' \(the one format squeezenext reads is 'squeezenext-cpu-latency-profile'\)"),
    CliCase("cpu-profile-batch-0", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_batch0)], r"batch must be at least 1, got 0"),
    CliCase("cpu-profile-extra-blocks-0", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_extra0)], r"extra_blocks must be at least 1, got 0"),
    CliCase("cpu-profile-rounds-0", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_rounds0)], r"rounds must be at least 1, got 0"),
    CliCase("cpu-profile-negative-seconds", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_seconds)], r"calibration_seconds must be a finite number >= 0, got -5"),
    CliCase("cpu-profile-repeated-stem", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_stems)], r"stem_kernels must be distinct positive integers, got \[3, 3, 5\]"),
    CliCase("cpu-profile-width-0", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_width0)], r"width 0, size 227: base latencies must be positive"),
    CliCase("cpu-profile-size-0", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_size0)], r"width 1, size 0: base latencies must be positive"),
    CliCase("cpu-profile-three-block-costs", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_three_blocks)], r"block_ms must be a list of 4 finite numbers"),
    CliCase("cpu-profile-points-a-mapping", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_points_mapping)], r"points must be a list of CalibratedPoints"),
    CliCase("cpu-profile-point-text", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_point_text)], r"expected a mapping of CalibratedPoint fields, got str"),
    CliCase("cpu-profile-duplicate-key", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_duplicate)], r"the key 'threads' is given twice"),
    CliCase("cpu-profile-binary", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_binary)], r"cpu_binary\.yaml: not valid YAML"),
    CliCase("cpu-profile-huge-latency", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_huge)], r"a latency of an hour or more \(3,600,000 ms\) is not a measurement"),
    CliCase("cpu-profile-state-probe-nan", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_state_nan)], r"state_probe holds a number that is not finite"),
    CliCase("cpu-profile-threads-bool", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu_threads_bool)], r"threads must be an integer, got True"),
    CliCase("cpu-profile-size-uncalibrated", lambda f, o: ["simulate", "sqnxt23_w1", "--input-size", "300", "--hardware", str(f.cpu)], r"input size 300 is not calibrated \(\[227\]\)"),
    CliCase("cpu-profile-csv-network", lambda f, o: ["simulate", str(f.csv), "--hardware", str(f.cpu)], r"a CPU latency profile takes .*conv\.csv is a SCALE-Sim topology"),
    CliCase("cpu-profile-torchvision-network", lambda f, o: ["simulate", "torchvision:squeezenet1_0", "--hardware", str(f.cpu)], r"torchvision:squeezenet1_0 is a torchvision model"),
    CliCase("cpu-profile-with-dataflow", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu), "--dataflow", "ws"], r"--dataflow describe an accelerator; \S+cpu\.yaml is a CPU latency profile"),
    CliCase("cpu-profile-with-rows", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cpu), "--rows", "8"], r"--rows describe an accelerator"),
    CliCase("cpu-profile-as-network", lambda f, o: ["simulate", str(f.cpu)], r"cpu\.yaml is a CPU latency profile \(squeezenext calibrate\), not a network spec file"),
    CliCase("study-cpu-profile", lambda f, o: ["study", "--hardware", str(f.cpu), "--out", str(o / "st")], r"cpu\.yaml is a CPU latency profile \(squeezenext calibrate\); an accelerator is"),
    CliCase("search-cpu-profile-latency-objective", lambda f, o: ["search", "--hardware", str(f.cpu), "--objective", "latency", "--out", str(o / "s")], r"latency: a CPU latency profile predicts time only"),
    CliCase("search-cpu-profile-nan-constraint", lambda f, o: ["search", "--hardware", str(f.cpu), "--objective", "time", "--constraint", "time<=nan", "--out", str(o / "s")], r"the bound must be a finite number"),
    CliCase("search-cpu-profile-infeasible", lambda f, o: ["search", "--hardware", str(f.cpu), "--objective", "time", "--constraint", "time<=-1", "--out", str(o / "s")], r"no design of the [\d,]+ evaluated meets every constraint \(time_ms<=-1\)"),
    CliCase("search-cpu-profile-resume", lambda f, o: ["search", "--hardware", str(f.cpu), "--objective", "time", "--resume", "--out", str(o / "s")], r"searched exhaustively .*drop --sampler, --storage, --resume"),
    CliCase("search-cpu-profile-uncalibrated-width", lambda f, o: ["search", "--hardware", str(f.cpu), "--objective", "time", "--widths", "0.5,1", "--out", str(o / "s")], r"width 0\.5 is outside the calibrated widths 1-1"),
    CliCase("search-cpu-profile-uncalibrated-size", lambda f, o: ["search", "--hardware", str(f.cpu), "--objective", "time", "--input-size", "224", "--out", str(o / "s")], r"input size 224 is not calibrated"),
    CliCase("search-base-cpu-profile", lambda f, o: ["search", "--base", str(f.cpu), "--out", str(o / "s")], r"is a CPU latency profile \(squeezenext calibrate\), not a network spec file"),
    # round three: spec files and other network arguments
    CliCase("spec-blocks-text", lambda f, o: ["info", str(f.spec_blocks_text)], r"blocks must be four positive integers \(one per stage\), got 1,1,1,1"),
    CliCase("spec-blocks-huge", lambda f, o: ["info", str(f.spec_blocks_huge)], r"at most 1,024 blocks in a stage, got \[100000000, 1, 1, 1\]"),
    CliCase("spec-width-negative", lambda f, o: ["info", str(f.spec_width_negative)], r"width multiplier must be a positive number, got -1"),
    CliCase("spec-stem-larger-than-input", lambda f, o: ["info", str(f.spec_stem_1001)], r"input 227x227 is too small"),
    CliCase("spec-groups-0", lambda f, o: ["info", str(f.spec_groups0)], r"groups must be an integer >= 1, got 0"),
    CliCase("spec-duplicate-key", lambda f, o: ["info", str(f.spec_duplicate)], r"the key 'blocks' is given twice"),
    CliCase("spec-width-nan", lambda f, o: ["info", str(f.spec_width_nan)], r"width multiplier must be a positive number, got nan"),
    CliCase("spec-an-accelerator-file", lambda f, o: ["info", str(f.spec_accelerator)], r"is an accelerator description, not a network spec file"),
    CliCase("spec-binary", lambda f, o: ["info", str(f.spec_binary)], r"spec_binary\.yaml: not valid YAML"),
    CliCase("spec-head-channels-0", lambda f, o: ["info", str(f.spec_head0)], r"stem_channels and head_channels must be integers from 1 to 16,384, got 64 and 0"),
    CliCase("spec-blocks-float", lambda f, o: ["info", str(f.spec_blocks_float)], r"blocks must be four positive integers"),
    CliCase("spec-blocks-bool", lambda f, o: ["info", str(f.spec_blocks_bool)], r"blocks must be four positive integers .*got \(True, 1, 1, 1\)"),
    CliCase("spec-width-bool", lambda f, o: ["info", str(f.spec_width_bool)], r"width multiplier must be a positive number, got True"),
    CliCase("spec-tab", lambda f, o: ["info", str(f.spec_tab)], r"not valid YAML: .*'\\t'"),
    CliCase("spec-yaml-anchors", lambda f, o: ["info", str(f.spec_anchors)], r"unknown key\(s\) a, b, c, d"),
    CliCase("spec-python-tag", lambda f, o: ["info", str(f.spec_python_tag)], r"not valid YAML: could not determine a constructor for the tag"),
    CliCase("hw-rows-bool", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.hw_rows_bool)], r"rows must be an integer, got True"),
    CliCase("hardware-a-folder", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(o)], r"out is a folder; hardware is a preset \(array-16x16, "),
    CliCase("hardware-empty", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", ""], r"unknown hardware preset ''"),
    # round three: SCALE-Sim .cfg files
    CliCase("cfg-rows-0", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_rows0)], r"cfg_rows0\.cfg: rows must be an integer >= 1, got 0"),
    CliCase("cfg-rows-huge", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_rows_huge)], r"above the cost model's limit of 65536 PEs per side"),
    CliCase("cfg-buffer-negative", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_ifmap_negative)], r"buffer sizes > 0"),
    CliCase("cfg-bandwidth-0", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_bandwidth0)], r"dram_bandwidth must be a finite number > 0, got 0"),
    CliCase("cfg-bandwidth-nan", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_bandwidth_nan)], r"dram_bandwidth must be a finite number, got nan"),
    CliCase("cfg-bandwidth-inf", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_bandwidth_inf)], r"dram_bandwidth must be a finite number, got inf"),
    CliCase("cfg-fractional-side", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_rows_fraction)], r"array sides must be integers"),
    CliCase("cfg-unknown-interface", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_interface)], r"InterfaceBandwidth must be one of CALC, USER, got 'FAST'"),
    CliCase("cfg-interpolation", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_interpolation)], r"ArrayHeight must be a number, got '%\(side\)s'"),
    CliCase("cfg-repeated-option", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_repeated_option)], r"option 'ArrayHeight' in section 'architecture_presets' already exists"),
    CliCase("cfg-repeated-section", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_repeated_section)], r"section 'architecture_presets' already exists"),
    CliCase("cfg-binary", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_binary)], r"cfg_binary\.cfg is not a SCALE-Sim \.cfg file"),
    CliCase("cfg-empty", lambda f, o: ["simulate", "sqnxt23_w1", "--hardware", str(f.cfg_empty)], r"has no \[architecture_presets\] section"),
    CliCase("cfg-in-study", lambda f, o: ["study", "--hardware", str(f.cfg_rows0), "--out", str(o / "st")], r"rows must be an integer >= 1, got 0"),
    CliCase("cfg-in-search", lambda f, o: ["search", "--space", "hardware", "--hardware", str(f.cfg_bandwidth0), "--out", str(o / "s")], r"dram_bandwidth must be a finite number > 0"),
    # round three: bench, profile and predict
    CliCase("bench-threads-beyond-cpus", lambda f, o: ["bench", "--models", "sqnxt23_w1", "--threads", str(CPUS + 1), "--json", str(o / "b.json")], rf"--threads: {CPUS + 1} threads: this machine has {CPUS} CPUs"),
    CliCase("profile-threads-beyond-cpus", lambda f, o: ["profile", "sqnxt23_w1", "--threads", str(CPUS + 1)], rf"this machine has {CPUS} CPUs"),
    CliCase("bench-json-unknown-placeholder", lambda f, o: ["bench", "--models", "sqnxt23_w1", "--json", str(o / "{kind}.json")], r"unknown placeholder \{kind\}"),
    CliCase("profile-json-unknown-placeholder", lambda f, o: ["profile", "sqnxt23_w1", "--json", str(o / "{kind}.json")], r"unknown placeholder \{kind\}"),
    CliCase("bench-cpu-profile-as-model", lambda f, o: ["bench", "--models", str(f.cpu), "--json", str(o / "b.json")], r"is a CPU latency profile \(squeezenext calibrate\), not a network spec file"),
    CliCase("profile-cpu-profile-as-model", lambda f, o: ["profile", str(f.cpu)], r"is a CPU latency profile"),
    CliCase("profile-cfg-as-model", lambda f, o: ["profile", str(f.cfg_rows0)], r"a network file is one of \.csv, \.onnx, \.pt, \.yaml, \.yml"),
    CliCase("predict-text-as-image", lambda f, o: ["predict", str(f.text_png), "--model", str(f.trained)], r"cannot read image \S+text\.png"),
    CliCase("predict-empty-image", lambda f, o: ["predict", str(f.empty_png), "--model", str(f.trained)], r"cannot read image \S+empty\.png"),
    CliCase("predict-folder-as-image", lambda f, o: ["predict", str(o), "--model", str(f.trained)], r"cannot read image \S+out: .*Is a directory"),
    CliCase("predict-cfg-as-model", lambda f, o: ["predict", str(f.image), "--model", str(f.cfg_rows0)], r"a network file is one of"),
    # damaged models and images in predict
    CliCase("predict-edited-metadata", lambda f, o: ["predict", str(f.image), "--model", str(f.root / "edited.onnx")], r"damaged"),
    CliCase("predict-decompression-bomb", lambda f, o: ["predict", str(f.bomb), "--model", str(f.root / "good.onnx")], r"bomb\.png"),
    # issue 23: data-parallel processes, Nesterov, flip test-time augmentation
    CliCase("train-cpu-processes-0", lambda f, o: ["train", *FAST_TRAIN, "--cpu-processes", "0", "--out", str(o / "r")], r"cpu_processes must be >= 1, got 0"),
    CliCase("train-cpu-processes-text", lambda f, o: ["train", *FAST_TRAIN, "--cpu-processes", "two", "--out", str(o / "r")], r"--cpu-processes takes an integer, got 'two'"),
    CliCase("train-cpu-processes-huge", lambda f, o: ["train", *FAST_TRAIN, "--cpu-processes", "100000", "--batch-size", "100000", "--device", "cpu", "--out", str(o / "r")], r"cpu_processes 100000 is more than the \d+ CPUs of this machine"),
    CliCase("train-cpu-processes-uneven-batch", lambda f, o: ["train", *FAST_TRAIN, "--cpu-processes", "3", "--out", str(o / "r")], r"batch_size 8 is not divisible by cpu_processes 3"),
    CliCase("train-cpu-processes-unknown-model", lambda f, o: ["train", *FAST_TRAIN, "--cpu-processes", "2", "--device", "cpu", "--model", "sqnxt23_v5", "--out", str(o / "r")], r"Did you mean"),
    CliCase("train-nesterov-without-momentum", lambda f, o: ["train", *FAST_TRAIN, "--nesterov", "true", "--momentum", "0", "--out", str(o / "r")], r"nesterov needs a momentum > 0"),
    CliCase("train-nesterov-text", lambda f, o: ["train", *FAST_TRAIN, "--nesterov", "maybe", "--out", str(o / "r")], r"--nesterov takes true or false, got 'maybe'"),
    CliCase("train-test-flip-number", lambda f, o: ["train", *FAST_TRAIN, "--test-flip", "2", "--out", str(o / "r")], r"--test-flip takes true or false, got '2'"),
    CliCase("eval-test-flip-value", lambda f, o: ["eval", str(f.trained), "--test-flip=yes"], r"--test-flip"),
]  # fmt: skip


def _file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("the user's file")


def _finished_search(out: Path) -> None:
    (out / "specs").mkdir(parents=True)
    (out / "front.json").write_text("{}")
    (out / "specs" / "front-001.yaml").write_text("blocks: [1, 1, 1, 1]\n")


def _unfinished_calibration(parts: Path) -> None:
    parts.mkdir()
    (parts / "request.json").write_text(json.dumps({"backend": "onnxruntime", "widths": [2.0]}) + "\n")


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_hostile_command_line(
    case: CliCase, files: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("the user's file")
    if case.setup is not None:
        case.setup(files, out)
    before = _snapshot(out)
    capsys.readouterr()
    try:
        status = main(case.argv(files, out))
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code  # type: ignore[assignment]
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert status == 2, captured
    assert "Traceback" not in captured.err + captured.out
    assert len(lines) == 1, lines
    assert lines[0].startswith("squeezenext: error: "), lines[0]
    assert re.search(case.message, lines[0]), lines[0]
    assert _snapshot(out) == before, "the output folder changed"
    assert not files.marker.exists(), "a crafted checkpoint ran code"


@dataclass(frozen=True)
class ScriptCase:
    """One hostile command line of a script in benchmarks/ (commands users run, under the same rules)."""

    id: str
    script: str
    argv: Callable[[SimpleNamespace, Path], list[str]]
    message: str


SCRIPT_CASES = [
    ScriptCase("latency-model-foreign-profile", "latency_model", lambda f, o: ["--profile", str(f.cpu), "--json", str(o / "v.json")], r"it was measured on Test CPU \(test-avx2\), this is .*needs a profile calibrated here"),
    ScriptCase("latency-model-designs-beyond-space", "latency_model", lambda f, o: ["--profile", str(f.cpu), "--designs", "1000000", "--json", str(o / "v.json")], r"--designs 1000000: the space has 95,760 designs"),
    ScriptCase("latency-model-missing-profile", "latency_model", lambda f, o: ["--profile", str(o / "none.yaml")], r"CPU latency profile \S+none\.yaml does not exist"),
    ScriptCase("latency-model-damaged-profile", "latency_model", lambda f, o: ["--profile", str(f.cpu_huge)], r"a latency of an hour or more"),
    ScriptCase("latency-model-csv-as-profile", "latency_model", lambda f, o: ["--profile", str(f.csv)], r"conv\.csv is not a CPU latency profile"),
    ScriptCase("latency-model-designs-0", "latency_model", lambda f, o: ["--profile", str(f.cpu), "--designs", "0"], r"--designs: expected an integer >= 1, got 0 \(see latency_model\.py --help\)"),
    ScriptCase("latency-search-foreign-profile", "latency_search", lambda f, o: ["--profile", str(f.cpu), "--json", str(o / "q.json")], r"the paper's question on this CPU compares its predictions with timings on this machine"),
    ScriptCase("latency-search-damaged-profile", "latency_search", lambda f, o: ["--profile", str(f.cpu_tensorrt)], r"backend 'tensorrt' is not a calibrated runtime"),
    ScriptCase("search-accuracy-seeds-text", "search_accuracy", lambda f, o: ["--seeds", "x"], r"--seeds: expected comma-separated integers, got 'x'"),
    ScriptCase("train-speed-unknown-option", "train_speed", lambda f, o: ["--bogus"], r"unrecognized arguments: --bogus \(see train_speed\.py --help\)"),
]  # fmt: skip


@pytest.mark.parametrize("case", SCRIPT_CASES, ids=[c.id for c in SCRIPT_CASES])
def test_hostile_benchmark_script(
    case: ScriptCase, files: SimpleNamespace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    script = Path(__file__).resolve().parents[1] / "benchmarks" / f"{case.script}.py"
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(sys, "argv", [str(script), *case.argv(files, out)])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(script), run_name="__main__")
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert exit_.value.code == 2, captured
    assert "Traceback" not in captured.err + captured.out
    assert len(lines) == 1 and lines[0].startswith(f"{case.script}.py: error: "), lines
    assert re.search(case.message, lines[0]), lines[0]
    assert not any(out.iterdir()), "the script wrote something"


@dataclass(frozen=True)
class ApiCase:
    """One hostile Python call and a regex its SqueezeNextError must match."""

    id: str
    call: Callable[[], object]
    message: str


def _layers() -> Any:
    return load_workload("sqnxt23_w1", input_size=227).layers


API_CASES = [
    ApiCase("num-classes-float", lambda: create_model("sqnxt23_w1", num_classes=2.5), r"num_classes must be an integer"),  # type: ignore[call-overload]
    ApiCase("in-channels-string", lambda: create_model("sqnxt23_w1", in_channels="3"), r"in_channels must be an integer"),
    ApiCase("unknown-option", lambda: create_model("sqnxt23_w1", dropout=0.5), r"unknown option\(s\) dropout"),
    ApiCase("pretrained-none-public", lambda: create_model("sqnxt44_w2", pretrained=True), r"sqnxt44_w2 has no public pretrained weights"),
    ApiCase("out-indices-out-of-range", lambda: create_model("sqnxt23_w1", features_only=True, out_indices=(0, 7)), r"out_indices entry 7 is out of range"),
    ApiCase("reset-classifier-negative", lambda: create_model("sqnxt23_w1").reset_classifier(-3), r"num_classes must be an integer from 0 to 1,048,576"),
    ApiCase("unknown-name", lambda: create_model("sqnext23_w1"), r"Did you mean 'sqnxt23_w1'"),
    ApiCase("name-not-a-string", lambda: create_model(23), r"must be a string"),  # type: ignore[call-overload]
    ApiCase("nan-width", lambda: squeezenext(width=float("nan")), r"width multiplier must be a positive number"),
    ApiCase("float-blocks", lambda: squeezenext(blocks=(1.5, 1, 1, 1)), r"blocks must be four positive integers"),  # type: ignore[arg-type]
    ApiCase(
        "pytorchcv-list", lambda: load_pytorchcv_state_dict(create_model("sqnxt23_w1", flavor="pytorchcv"), [1, 2]),  # type: ignore[arg-type]
        r"expected a state dict",
    ),
    ApiCase("sweep-no-hardware", lambda: sweep([_layers()], []), r"at least one hardware config"),
    ApiCase("sweep-no-network", lambda: sweep([], [hardware_from_dict({"rows": 4, "cols": 4})]), r"no conv or FC layer"),
    ApiCase("hardware-nan", lambda: hardware_from_dict({"rows": 4, "cols": 4, "clock_mhz": float("nan")}), r"clock_mhz"),
    ApiCase("config-inf", lambda: TrainConfig(base_lr=float("inf")), r"base_lr must be a finite number"),
    ApiCase("search-latency-backend-unknown", lambda: SearchRequest(objectives=("latency",), sampler="nsga2", latency_backend="tensorrt"), r"--latency-backend: unknown backend 'tensorrt'"),
    ApiCase("num-classes-huge", lambda: create_model("sqnxt23_w1", num_classes=10**12), r"num_classes must be at most 1,048,576"),
    ApiCase("head-channels-huge", lambda: squeezenext(head_channels=10**9), r"head_channels must be integers from 1 to 16,384"),
    ApiCase("width-1e308", lambda: squeezenext(width=1e308), r"width multiplier 1e\+308 gives more than"),
    ApiCase("v5-wiring-string", lambda: squeezenext(v5_wiring="false"), r"v5_wiring must be true or false, got 'false'"),  # type: ignore[arg-type]
    ApiCase("simulate-hardware-not-a-config", lambda: simulate(_layers(), 16), r"hardware must be a HardwareConfig, a preset name or a YAML file"),  # type: ignore[arg-type]
    ApiCase("simulate-unknown-preset", lambda: simulate(_layers(), "array-99"), r"unknown hardware preset 'array-99'"),
    ApiCase("search-objective-unknown", lambda: SearchRequest(objectives=("bogus",)), r"unknown objective\(s\) 'bogus'"),
    ApiCase("search-constraints-a-string", lambda: SearchRequest(constraints="params<=1"), r"constraints must be a tuple"),  # type: ignore[arg-type]
    ApiCase("search-constraint-not-text", lambda: SearchRequest(constraints=(5,)), r"cannot parse constraint 5"),  # type: ignore[arg-type]
    ApiCase("pareto-front-nan", lambda: pareto_front(np.array([[1.0, float("nan")], [2.0, 1.0]])), r"not a finite number"),
    ApiCase("pe-budget-huge", lambda: HardwareSpace(pe_budget=10**12), r"more than the largest array"),
    ApiCase("storage-in-memory", lambda: SearchRequest(sampler="nsga2", storage="sqlite:///:memory:"), r"in-memory search cannot be resumed"),
    ApiCase("profile-zero-rounds", lambda: profile("sqnxt23_w1", rounds=0), r"runs and rounds must be at least 1"),
    # round three (issue 21, own inputs)
    ApiCase("calibration-widths-repeated", lambda: CalibrationRequest(widths=(1.0, 0.5, 1.0)), r"--widths: 1 given more than once"),
    ApiCase("calibration-threads-beyond-cpus", lambda: CalibrationRequest(threads=CPUS + 1), rf"this machine has {CPUS} CPUs"),
    ApiCase("cpu-predict-three-columns", lambda: CPU_PROFILE.predict_distributions(get_spec("sqnxt23_w1"), 227, np.ones((2, 3), dtype=int)), r"one row of 4 per design, got int64 \(2, 3\)"),
    ApiCase("cpu-predict-zero-blocks", lambda: CPU_PROFILE.predict_distributions(get_spec("sqnxt23_w1"), 227, np.array([[0, 2, 3, 1]])), r"at least one block in every stage"),
    ApiCase("cpu-predict-float-blocks", lambda: CPU_PROFILE.predict_distributions(get_spec("sqnxt23_w1"), 227, np.array([[1.5, 2, 3, 1]])), r"must be integers, .*float64"),
    ApiCase("cpu-predict-not-a-spec", lambda: CPU_PROFILE.predict("sqnxt23_w1", 227), r"a profile predicts a SqueezeNextSpec"),  # type: ignore[arg-type]
    ApiCase("cpu-predict-size-text", lambda: CPU_PROFILE.predict(get_spec("sqnxt23_w1"), "227"), r"input_size must be an integer, got '227'"),  # type: ignore[arg-type]
    ApiCase("cpu-profile-from-a-list", lambda: profile_from_dict([1, 2], "x"), r"x: expected a mapping of CpuProfile fields, got list"),
    ApiCase("cpu-profile-missing", lambda: load_profile("/nonexistent/profile.yaml"), r"CPU latency profile /nonexistent/profile\.yaml does not exist"),
    ApiCase("profile-unknown-backend", lambda: profile("sqnxt23_w1", "eager"), r"unknown backend 'eager'; valid: onnxruntime, "),
]  # fmt: skip


@pytest.mark.parametrize("case", API_CASES, ids=[c.id for c in API_CASES])
def test_hostile_python_call(case: ApiCase) -> None:
    with pytest.raises(SqueezeNextError, match=case.message):
        case.call()


def test_predictor_top_k_must_be_positive(files: SimpleNamespace) -> None:
    with pytest.raises(SqueezeNextError, match="top_k must be an integer >= 1"):
        Predictor(files.trained).predict([files.image], top_k=0)


def test_names_are_case_insensitive_and_upper_case_extensions_work(
    files: SimpleNamespace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert create_model("1.0-sqnxt-23V5").plan == create_model("sqnxt23v5_w1").plan
    upper = tmp_path / "MODEL.ONNX"
    shutil.copy(files.root / "good.onnx", upper)
    assert main(["predict", str(files.image), "--model", str(upper), "--top-k", "1"]) == 0
    assert str(files.image) in capsys.readouterr().out
