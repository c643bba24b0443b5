"""``squeezenext export``, ``squeezenext predict`` and ``squeezenext bench``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from squeezenext.argtypes import (
    name_list,
    positive_float,
    positive_float_list,
    positive_int,
    positive_int_list,
    thread_count,
)
from squeezenext.deploy.backends import BACKENDS, INSTALL_HINT, PROFILE_BACKENDS, default_backends, installed
from squeezenext.deploy.quantize import DEFAULT_CALIBRATION_IMAGES
from squeezenext.deploy.timing import WARMUP_RUNS
from squeezenext.errors import OutputError, SqueezeNextError
from squeezenext.fileio import check_new_files, check_writable, json_text, output_lock, write_json
from squeezenext.machine import CPU_KIND_PLACEHOLDER, default_threads, with_cpu_kind
from squeezenext.onnx_io import ONNX_SUFFIX
from squeezenext.plan import FLAVORS, STEM_KINDS
from squeezenext.sources import (
    BENCH_KINDS,
    MODULE_KINDS,
    BuildOptions,
    LoadedModel,
    SourceKind,
    network_help,
    parse_network,
)


def _dataset_images(loaded: LoadedModel, data: str | None, count: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``count`` (0: all) images and labels of a data set, preprocessed as the model was evaluated.

    A checkpoint's own data configuration is used (its data set, subsets, fake-data sizes, transform);
    ``data`` replaces only the data set's name. A registered model uses ImageNet preprocessing.
    """
    from squeezenext.train.config import TrainConfig, from_mapping
    from squeezenext.train.data import build_data, collate

    if loaded.checkpoint is not None:
        config = from_mapping(loaded.checkpoint["config"], "checkpoint")
    else:
        config = TrainConfig(model=loaded.name, stem="standard", transform="imagenet")
    config = dataclasses.replace(config, data=data or config.data, input_size=loaded.preprocessing.input_size)
    bundle = build_data(config)
    source = bundle.test if split == "test" else bundle.train
    source.transform = bundle.test.transform
    take = len(source) if count <= 0 else min(count, len(source))
    images, labels, _ = collate([source[i] for i in range(take)])
    if len(labels) == 0:
        raise SqueezeNextError(f"no readable image among the first {take} of {config.data} ({split} split)")
    return images.numpy(), labels.numpy()


def _batch(text: str) -> int | None:
    """``dynamic`` (None) or a fixed batch size >= 1."""
    return None if text == "dynamic" else positive_int(text)


def cmd_export(args: argparse.Namespace) -> int:
    from squeezenext.deploy.package import ExportRequest, export_model

    source = parse_network(args.model, MODULE_KINDS, purpose="export")
    out = check_writable(args.out)
    if out.suffix.lower() != ONNX_SUFFIX:
        raise OutputError(f"--out {out}: the file name must end in .onnx")
    for flag, package in (("--openvino", "openvino"), ("--executorch", "executorch")):
        if getattr(args, flag[2:]) and not installed(package):
            raise SqueezeNextError(f"{flag} needs {package}, which is not installed: {INSTALL_HINT[package]}")
    options = {
        "num_classes": args.num_classes,
        "in_channels": args.in_channels,
        "flavor": args.flavor,
        "stem": args.stem,
        "pretrained": args.pretrained,
        "weights": args.weights,
    }
    given = [f"--{key.replace('_', '-')}" for key, value in options.items() if value is not None]
    if given and source.kind is SourceKind.CHECKPOINT:
        raise SqueezeNextError(f"{', '.join(given)} apply to networks by name; a checkpoint has its own")
    loaded = source.loaded(args.input_size, BuildOptions(**{k: v for k, v in options.items() if v is not None}))
    request = ExportRequest(
        out=out,
        batch=args.batch,
        int8=args.int8,
        fp16=args.fp16,
        openvino=args.openvino,
        executorch=args.executorch,
        graph_rewrites=args.graph_rewrites,
        calibration=args.calibration,
        calibration_images=args.calibration_images,
        evaluate=not args.no_eval,
    )
    check_new_files(request.outputs(), overwrite=args.overwrite)
    report = export_model(loaded, request, _dataset_images)
    if args.json:
        print(json_text(report), end="")
    else:
        fp32 = report["fp32"]
        print(
            f"wrote {fp32['path']} ({fp32['bytes'] / 1e6:.2f} MB, {fp32['nodes']} nodes, BatchNorm folded: "
            f"{fp32['batchnorms_left'] == 0}); max relative error vs PyTorch {fp32['max_relative_error']:.2e} "
            f"on {fp32['verified_on']} images"
        )
        if fp32["rewrites"] is not None:
            done = fp32["rewrites"]
            print(f"exact rewrites: {done['relus_removed']} redundant ReLUs removed; stem {done['stem_note']}")
        if "fp16" in report:
            fp16 = report["fp16"]
            print(
                f"wrote {fp16['path']} (fp16, {fp16['bytes'] / 1e6:.2f} MB); max relative error vs fp32 "
                f"{fp16['max_relative_error']:.2e}"
            )
        if "openvino" in report:
            ir = report["openvino"]
            print(
                f"wrote {ir['path']} + {Path(ir['weights']).name} (OpenVINO {ir['openvino']} IR); max relative "
                f"error vs onnxruntime {ir['max_relative_error']:.2e}"
            )
        if "executorch" in report:
            pte = report["executorch"]
            print(
                f"wrote {pte['path']} (ExecuTorch + XNNPACK, batch {pte['batch']}); max relative error vs PyTorch "
                f"{pte['max_relative_error']:.2e}"
            )
            if "int8" in pte:
                q = pte["int8"]
                print(
                    f"wrote {q['path']} (ExecuTorch int8, calibrated on {q['calibration_images']} images); same class "
                    f"as fp32 PyTorch on {100 * q['top1_agreement_vs_fp32']:.0f}% of {pte['batch']} check images"
                )
                if "accuracy" in q:
                    acc = q["accuracy"]
                    print(
                        f"ExecuTorch top-1 on {acc['test_images']} {acc['data']} test images: fp32 "
                        f"{acc['fp32_top1']:.2f}%, int8 {acc['int8_top1']:.2f}% ({acc['change_points']:+.2f} points)"
                    )
        if "int8" in report:
            q = report["int8"]
            print(
                f"wrote {q['path']} (int8, calibrated on {q['calibration_images']} images); same class as fp32 on "
                f"{100 * q['top1_agreement_vs_fp32']:.0f}% of {q['check_images']} check images"
            )
        if "accuracy" in report:
            acc = report["accuracy"]
            print(
                f"top-1 on {acc['test_images']} {acc['data']} test images: fp32 {acc['fp32_top1']:.2f}%, "
                f"int8 {acc['int8_top1']:.2f}% ({acc['change_points']:+.2f} points); the two agree on "
                f"{100 * acc['top1_agreement']:.1f}% of the images"
            )
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from squeezenext.deploy.predictor import Predictor

    predictor = Predictor(args.model)
    predictions = predictor.predict(args.images, top_k=args.top_k)
    if args.json:
        payload = [
            {"image": str(image), "labels": p.labels, "probabilities": p.probabilities}
            for image, p in zip(args.images, predictions, strict=True)
        ]
        print(json.dumps(payload, indent=2))
        return 0
    for image, prediction in zip(args.images, predictions, strict=True):
        ranked = ", ".join(
            f"{label} {100 * p:.1f}%" for label, p in zip(prediction.labels, prediction.probabilities, strict=True)
        )
        print(f"{image}: {ranked}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from squeezenext.deploy.bench import default_models, run_benchmark
    from squeezenext.deploy.report import fastest_backends, latency_markdown, plot_latency, results_table

    models = args.models if args.models is not None else default_models()
    args.json, args.plot = (None if path is None else with_cpu_kind(path) for path in (args.json, args.plot))
    check_new_files([output for output in (args.json, args.plot) if output is not None], overwrite=args.overwrite)
    threads = args.threads or default_threads()
    with output_lock(args.json):
        payload = run_benchmark(
            models, args.backends, args.batch, args.input_size, threads, args.min_seconds, rounds=args.rounds
        )
        payload["table_markdown"] = latency_markdown(payload)
        payload["fastest_at_batch_1"] = fastest_backends(payload)
        fastest = "\n".join(f"  {model}: {backend}" for model, backend in payload["fastest_at_batch_1"].items())
        for block in (results_table(payload), payload["table_markdown"]):
            print("\n" + block)
        print(f"\nfastest backend at batch 1:\n{fastest}")
        write_json(args.json, payload)
        if args.plot:
            plot_latency(payload, args.plot)
    print(f"\nwrote {args.json}")
    return 0


def cmd_profile(args: argparse.Namespace) -> int:
    from squeezenext.deploy.profile import profile, profile_tables

    if args.json is not None:
        args.json = with_cpu_kind(args.json)
        check_writable(args.json)
    threads = args.threads or default_threads()
    payload = profile(
        args.model, args.backend, batch=args.batch, input_size=args.input_size, threads=threads, runs=args.runs,
        rounds=args.rounds,
    )  # fmt: skip
    print(profile_tables(payload, top=args.top))
    if args.json is not None:
        write_json(args.json, payload)
        print(f"\nwrote {args.json}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    import yaml
    from tqdm import tqdm

    from squeezenext.accel.cpu_latency import points_table
    from squeezenext.deploy.calibrate import CalibrationRequest, calibrate, parts_folder, remove_parts
    from squeezenext.fileio import atomic_write_text
    from squeezenext.specfile import is_yaml_file
    from squeezenext.tables import format_table

    out: Path = with_cpu_kind(args.out)
    check_new_files([out], overwrite=args.overwrite)
    if not is_yaml_file(out.name):
        raise OutputError(f"--out {out}: a CPU latency profile is YAML; the file name must end in .yaml")
    request = CalibrationRequest(
        backend=args.backend,
        threads=args.threads,
        widths=tuple(args.widths),
        input_sizes=tuple(args.input_sizes),
        rounds=args.rounds,
    )
    with output_lock(out):
        if parts_folder(out).exists():
            print(f"continuing the unfinished calibration in {parts_folder(out)}")
        with tqdm(desc="calibrating", unit="step", disable=None, dynamic_ncols=True) as bar:

            def progress(total: int) -> Any:
                bar.reset(total=total)
                return lambda: bar.update()

            profile = calibrate(request, out, progress)
        atomic_write_text(out, yaml.safe_dump(profile.to_dict(), sort_keys=False))
        remove_parts(out)
    print(format_table(*points_table(profile)))
    print(f"\n{profile.name}, calibrated in {profile.calibration_seconds:.0f} s; wrote {out}")
    return 0


def add_deploy_parsers(commands: Any) -> None:

    export = commands.add_parser("export", help="export a model or checkpoint to ONNX (fp32 or int8)")
    export.add_argument("model", help=network_help(MODULE_KINDS))
    export.add_argument("--out", type=Path, required=True, help="the fp32 model, NAME.onnx (int8: NAME.int8.onnx)")
    export.add_argument("--batch", type=_batch, default=None, help="a fixed batch size (default: dynamic)")
    export.add_argument("--overwrite", action="store_true", help="replace files the export would write")
    export.add_argument(
        "--input-size",
        type=positive_int,
        help="input size (default: the checkpoint's, else the pretrained_cfg's: 227, or 224 with --pretrained)",
    )
    export.add_argument("--num-classes", type=positive_int, help="registered model: classifier outputs (1000)")
    export.add_argument("--in-channels", type=positive_int, help="registered model: input channels (3)")
    export.add_argument(
        "--flavor",
        choices=FLAVORS,
        help="registered model: official (default) or pytorchcv (the default with --pretrained)",
    )
    export.add_argument("--stem", choices=STEM_KINDS, help="registered model: standard (default), small, small-s2")
    weights = export.add_mutually_exclusive_group()
    weights.add_argument(
        "--pretrained",
        action="store_true",
        default=None,
        help="registered model: pytorchcv's ImageNet weights (downloaded once to the torch hub cache)",
    )
    weights.add_argument("--weights", metavar="PATH", help="registered model: weights from a file")
    export.add_argument(
        "--int8",
        action="store_true",
        help="also write NAME.int8.onnx: static int8 quantization (onnxruntime, QDQ); NAME.int8.pte with --executorch",
    )
    export.add_argument(
        "--fp16", action="store_true", help="also write NAME.fp16.onnx: float16 weights and activations, fp32 I/O"
    )
    export.add_argument(
        "--openvino", action="store_true", help="also write OpenVINO IR, NAME.xml + NAME.bin (needs openvino)"
    )
    export.add_argument(
        "--executorch",
        action="store_true",
        help="also write NAME.pte: ExecuTorch with the XNNPACK delegate, fixed batch (--batch, default 1); "
        "with --int8 also NAME.int8.pte",
    )
    export.add_argument(
        "--graph-rewrites",
        action="store_true",
        help="exact graph rewrites: drop ReLUs of non-negative sums, space-to-depth stem (docs/deploy.md)",
    )
    export.add_argument("--calibration", help="data for calibration (default: the checkpoint's training data)")
    export.add_argument("--calibration-images", type=positive_int, default=DEFAULT_CALIBRATION_IMAGES)
    export.add_argument("--no-eval", action="store_true", help="skip the fp32/int8 test-set accuracy comparison")
    export.add_argument("--json", action="store_true")
    export.set_defaults(func=cmd_export)

    predict = commands.add_parser("predict", help="classify image files with an exported model or checkpoint")
    predict.add_argument("images", nargs="+")
    predict.add_argument("--model", required=True, help="model.onnx (from export) or model.pt (from train)")
    predict.add_argument("--top-k", type=positive_int, default=5)
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(func=cmd_predict)

    bench = commands.add_parser("bench", help="inference speed of SqueezeNext and its peers, every backend")
    bench.add_argument(
        "--models",
        type=name_list,
        help=f"comma-separated networks, each {network_help(BENCH_KINDS)} "
        "(default: ours, torchvision peers, pytorchcv if installed)",
    )
    bench.add_argument(
        "--backends",
        type=name_list,
        help=f"comma-separated of {', '.join(BACKENDS)} (default: {', '.join(default_backends())}; an ONNX "
        "file: those of them that run ONNX files)",
    )
    bench.add_argument("--batch", type=positive_int_list, default=[1, 32], help="comma-separated batch sizes (1,32)")
    bench.add_argument("--input-size", type=positive_int, default=224)
    bench.add_argument(
        "--threads", type=thread_count, help="intra-op threads (default: the cores this process may use)"
    )
    bench.add_argument(
        "--min-seconds", type=positive_float, default=0.5, help="time each case at least this long in each round"
    )
    bench.add_argument(
        "--rounds",
        type=positive_int,
        default=3,
        help="time every case this many times, interleaved; keep each case's best",
    )
    bench.add_argument(
        "--json",
        type=Path,
        default=Path(f"runs/bench-{CPU_KIND_PLACEHOLDER}.json"),
        help=f"results (default runs/bench-{CPU_KIND_PLACEHOLDER}.json); {CPU_KIND_PLACEHOLDER} in the path becomes "
        "this CPU's kind, e.g. amd-avx2, intel-amx",
    )
    bench.add_argument("--plot", type=Path, help=f"latency bar chart (PNG; {CPU_KIND_PLACEHOLDER} as in --json)")
    bench.add_argument("--overwrite", action="store_true", help="replace existing --json and --plot files")
    bench.set_defaults(func=cmd_bench)

    profile = commands.add_parser(
        "profile", help="where inference time goes: per-operator profile of one model in one runtime"
    )
    profile.add_argument("model", help=network_help(BENCH_KINDS))
    profile.add_argument(
        "--backend", choices=PROFILE_BACKENDS, default="onnxruntime", help="runtime and file (default: onnxruntime)"
    )
    profile.add_argument("--batch", type=positive_int, default=1)
    profile.add_argument("--input-size", type=positive_int, default=224)
    profile.add_argument(
        "--threads", type=thread_count, help="inference threads (default: the cores this process may use)"
    )
    profile.add_argument(
        "--runs", type=positive_int, default=50, help=f"profiled runs per round, after {WARMUP_RUNS} warm-up runs"
    )
    profile.add_argument(
        "--rounds", type=positive_int, default=3, help="profile this many times, keep the fastest round (default 3)"
    )
    profile.add_argument("--top", type=positive_int, default=10, help="how many of the slowest operators to list")
    profile.add_argument(
        "--json", type=Path, help=f"write the whole profile as JSON ({CPU_KIND_PLACEHOLDER}: this CPU's kind)"
    )
    profile.set_defaults(func=cmd_profile)

    from squeezenext.deploy.calibrate import CALIBRATION_BACKENDS, DEFAULT_INPUT_SIZES, DEFAULT_THREADS, DEFAULT_WIDTHS

    calibration = commands.add_parser(
        "calibrate", help="measure the SqueezeNext family on this CPU: a latency profile for simulate and search"
    )
    calibration.add_argument(
        "--backend", choices=CALIBRATION_BACKENDS, default="onnxruntime", help="runtime and file (default: onnxruntime)"
    )
    calibration.add_argument(
        "--out", type=Path, required=True, help=f"the profile (YAML; {CPU_KIND_PLACEHOLDER}: this CPU's kind)"
    )
    calibration.add_argument(
        "--threads", type=thread_count, default=DEFAULT_THREADS, help=f"inference threads (default {DEFAULT_THREADS})"
    )
    calibration.add_argument(
        "--widths", type=positive_float_list, default=list(DEFAULT_WIDTHS),
        help=f"calibrated widths; others between them are interpolated (default {','.join(map(str, DEFAULT_WIDTHS))})",
    )  # fmt: skip
    calibration.add_argument(
        "--input-sizes", type=positive_int_list, default=list(DEFAULT_INPUT_SIZES),
        help=f"calibrated input sizes (default {','.join(map(str, DEFAULT_INPUT_SIZES))})",
    )  # fmt: skip
    calibration.add_argument("--rounds", type=positive_int, default=3, help="interleaved rounds, fastest kept")
    calibration.add_argument("--overwrite", action="store_true", help="replace an existing profile")
    calibration.set_defaults(func=cmd_calibrate)
