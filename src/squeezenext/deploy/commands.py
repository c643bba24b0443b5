"""``squeezenext export``, ``squeezenext predict`` and ``squeezenext bench``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from squeezenext.fileio import atomic_write_text

DEFAULT_CALIBRATION_IMAGES = 256


def _dataset_images(loaded: Any, data: str, count: int, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``count`` preprocessed images (and labels) of a data set, as the model was evaluated."""
    from squeezenext.train.config import TrainConfig, from_mapping
    from squeezenext.train.data import build_data, collate

    if loaded.checkpoint is not None:
        config = from_mapping(loaded.checkpoint["config"], "checkpoint")
    else:
        config = TrainConfig(model=loaded.name, stem="standard", transform="imagenet")
    config = dataclasses.replace(config, data=data, input_size=loaded.preprocessing.input_size, fake_classes=10)
    bundle = build_data(config)
    source = bundle.test if split == "test" else bundle.train
    source.transform = bundle.test.transform
    take = len(source) if count <= 0 else min(count, len(source))
    images, labels, _ = collate([source[i] for i in range(take)])
    return images.numpy(), labels.numpy()


def _onnx_top1(path: Path, images: np.ndarray, labels: np.ndarray) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    correct = 0
    for start in range(0, len(images), 256):
        logits = session.run(None, {name: images[start : start + 256]})[0]
        correct += int((logits.argmax(axis=1) == labels[start : start + 256]).sum())
    return 100.0 * correct / len(images)


def cmd_export(args: argparse.Namespace) -> int:
    from squeezenext.deploy.export import export_onnx, load_model
    from squeezenext.deploy.quantize import quantize_int8

    if args.format != "onnx":
        raise ValueError(f"unknown format {args.format!r}; valid: onnx")
    loaded = load_model(args.model, args.input_size)
    batch = None if args.batch == "dynamic" else int(args.batch)
    verify = None
    data = loaded.checkpoint["config"]["data"] if loaded.checkpoint is not None else None
    if data is not None:
        verify = torch.from_numpy(_dataset_images(loaded, data, 16, "test")[0])
        if batch is not None:
            verify = verify[:batch]
    out = Path(args.out)
    fp32_path = out if not args.int8 else out.with_name(out.stem + ".fp32.onnx")
    report: dict[str, Any] = {"fp32": export_onnx(loaded, fp32_path, batch=batch, verify_inputs=verify)}
    if args.int8:
        calibration_data = args.calibration or data or "fake"
        images, _ = _dataset_images(loaded, calibration_data, args.calibration_images, "train")
        quantize_int8(fp32_path, out, images)
        report["int8"] = {"path": str(out), "bytes": out.stat().st_size, "calibration": calibration_data}
        report["int8"]["calibration_images"] = len(images)
        if data is not None and not args.no_eval:
            test_images, test_labels = _dataset_images(loaded, data, 0, "test")
            fp32_top1 = _onnx_top1(fp32_path, test_images, test_labels)
            int8_top1 = _onnx_top1(out, test_images, test_labels)
            report["accuracy"] = {
                "data": data,
                "test_images": len(test_images),
                "fp32_top1": fp32_top1,
                "int8_top1": int8_top1,
                "change_points": int8_top1 - fp32_top1,
            }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        fp32 = report["fp32"]
        print(
            f"wrote {fp32['path']} ({fp32['bytes'] / 1e6:.2f} MB, {fp32['nodes']} nodes, BatchNorm folded: "
            f"{fp32['batchnorms_left'] == 0}); max relative error vs PyTorch {fp32['max_relative_error']:.2e} "
            f"on {fp32['verified_on']} images"
        )
        if "int8" in report:
            print(f"wrote {report['int8']['path']} (int8, calibrated on {report['int8']['calibration_images']} images)")
        if "accuracy" in report:
            acc = report["accuracy"]
            print(
                f"top-1 on {acc['test_images']} {acc['data']} test images: fp32 {acc['fp32_top1']:.2f}%, "
                f"int8 {acc['int8_top1']:.2f}% ({acc['change_points']:+.2f} points)"
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
    from squeezenext.deploy.report import (
        check_targets,
        latency_markdown,
        plot_latency,
        results_table,
        targets_table,
    )

    models = args.models.split(",") if args.models else default_models()
    backends = args.backends.split(",")
    batches = [int(b) for b in args.batch.split(",")]
    payload = run_benchmark(
        models, backends, batches, args.input_size, args.threads, args.min_seconds, rounds=args.rounds
    )
    payload["targets"] = check_targets(payload)
    payload["table_markdown"] = latency_markdown(payload)
    for block in (results_table(payload), payload["table_markdown"], targets_table(payload["targets"])):
        print("\n" + block)
    atomic_write_text(args.json, json.dumps(payload, indent=2) + "\n")
    if args.plot:
        plot_latency(payload, args.plot)
    print(f"\nwrote {args.json}")
    return 0


def add_deploy_parsers(commands: Any) -> None:
    from squeezenext.deploy.bench import BACKENDS, DEFAULT_BACKENDS

    export = commands.add_parser("export", help="export a model or checkpoint to ONNX (fp32 or int8)")
    export.add_argument("model", help="a training checkpoint (model.pt) or a registered model name")
    export.add_argument("--format", default="onnx", help="onnx")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--batch", default="dynamic", help="dynamic or a fixed batch size")
    export.add_argument("--input-size", type=int, help="input size (default: the checkpoint's, or 227)")
    export.add_argument("--int8", action="store_true", help="static int8 quantization (onnxruntime, QDQ)")
    export.add_argument("--calibration", help="data for calibration (default: the checkpoint's training data)")
    export.add_argument("--calibration-images", type=int, default=DEFAULT_CALIBRATION_IMAGES)
    export.add_argument("--no-eval", action="store_true", help="skip the fp32/int8 test-set accuracy comparison")
    export.add_argument("--json", action="store_true")
    export.set_defaults(func=cmd_export)

    predict = commands.add_parser("predict", help="classify image files with an exported model or checkpoint")
    predict.add_argument("images", nargs="+")
    predict.add_argument("--model", required=True, help="model.onnx (from export) or model.pt (from train)")
    predict.add_argument("--top-k", type=int, default=5)
    predict.add_argument("--json", action="store_true")
    predict.set_defaults(func=cmd_predict)

    bench = commands.add_parser("bench", help="inference speed of SqueezeNext and its peers, every backend")
    bench.add_argument("--models", help="comma-separated (default: ours, torchvision peers, pytorchcv if installed)")
    bench.add_argument(
        "--backends", default=",".join(DEFAULT_BACKENDS), help=f"comma-separated of {', '.join(BACKENDS)}"
    )
    bench.add_argument("--batch", default="1,32", help="comma-separated batch sizes")
    bench.add_argument("--input-size", type=int, default=224)
    bench.add_argument("--threads", type=int, default=torch.get_num_threads())
    bench.add_argument("--min-seconds", type=float, default=0.5, help="time each case at least this long in each round")
    bench.add_argument(
        "--rounds", type=int, default=3, help="time every case this many times, interleaved; keep each case's best"
    )
    bench.add_argument("--json", type=Path, default=Path("benchmarks/results/bench.json"))
    bench.add_argument("--plot", type=Path, help="latency bar chart (PNG)")
    bench.set_defaults(func=cmd_bench)
