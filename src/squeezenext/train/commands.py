"""``squeezenext train`` and ``squeezenext eval``."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from squeezenext.argtypes import positive_int
from squeezenext.errors import SIGNAL_EXIT_BASE
from squeezenext.train.config import field_help, from_mapping, load_config, parse_overrides
from squeezenext.train.rundir import claimed_run_folder


def cmd_train(args: argparse.Namespace) -> int:
    from squeezenext.train.launch import run_training

    config = load_config(args.config, parse_overrides(args.extra))
    main_rank = int(os.environ.get("RANK", "0")) == 0  # under torchrun, rank 0 owns the output folder
    claim = (
        claimed_run_folder(Path(config.out), resume=args.resume, overwrite=args.overwrite)
        if main_rank
        else contextlib.nullcontext()
    )
    with claim:
        results = run_training(config, resume=args.resume)
    if results["status"] == "interrupted":
        return SIGNAL_EXIT_BASE + int(results["signal"])  # the checkpoint is written; a scheduler sees the stop
    if main_rank and results["status"] == "done":
        test = results["test"]
        print(
            f"{config.model}: test top-1 {test['top1']:.2f}%, top-5 {test['top5']:.2f}%, loss {test['loss']:.4f} "
            f"on {test['images']} images; {results['params']:,} parameters; "
            f"{results['train_seconds_this_session'] / 60:.1f} minutes of training in this session"
        )
        print(finished_run_summary(Path(config.out)))
    return 0


def finished_run_summary(out: Path) -> str:
    """Where a finished run's files are, and the commands a user runs next."""
    model = out / "model.pt"
    return "\n".join(
        [
            f"checkpoint {model}, curves {out / 'curves.png'}, metrics {out / 'metrics.jsonl'}, {out / 'results.json'}",
            "next:",
            f"  squeezenext eval {model}  # evaluate again",
            f"  squeezenext predict docs/samples/*.png --model {model}  # classify images",
            f"  squeezenext export {model} --out model.onnx --int8  # ONNX fp32 and int8",
        ]
    )


def cmd_eval(args: argparse.Namespace) -> int:
    from torch.utils.data import DataLoader

    from squeezenext.checkpoint import load_checkpoint
    from squeezenext.train.data import build_data, collate
    from squeezenext.train.engine import build_model, evaluate, setup_distributed
    from squeezenext.weights import load_state_dict_checked

    state = load_checkpoint(args.checkpoint, inference=True)
    config = from_mapping(state["config"], str(args.checkpoint))
    changes: dict[str, Any] = {"test_subset": 0, "progress": False}
    if args.data:
        changes["data"] = args.data
    if args.data_root:
        changes["data_root"] = args.data_root
    if args.test_flip is not None:
        changes["test_flip"] = args.test_flip
    config = dataclasses.replace(config, **changes)
    place = setup_distributed(dataclasses.replace(config, device=args.device))
    data = build_data(config)
    if data.classes != state["classes"]:
        raise ValueError(
            f"{config.data} has classes {data.classes[:5]}..., the checkpoint was trained on "
            f"{state['classes'][:5]}...; evaluate on the same label set"
        )
    model = build_model(config, len(data.classes), data.in_channels)
    load_state_dict_checked(model, state["model"], str(args.checkpoint))
    model.to(place.device)
    loader = DataLoader(data.test, batch_size=args.batch_size, num_workers=config.workers, collate_fn=collate)
    metrics = evaluate(model, loader, place.device, config)
    if args.json:
        report = {"checkpoint": str(args.checkpoint), "data": config.data, "test_flip": config.test_flip, **metrics}
        print(json.dumps(report, indent=2))
    else:
        views = ", each averaged with its mirror image" if config.test_flip else ""
        print(
            f"{args.checkpoint} on {config.data} (test split, {metrics['images']} images{views}): "
            f"top-1 {metrics['top1']:.2f}%, top-5 {metrics['top5']:.2f}%, loss {metrics['loss']:.4f}"
        )
    return 0


def add_train_parsers(commands: Any) -> None:
    train = commands.add_parser(
        "train",
        help="train a model (configs/fashion_mnist.yaml: the README's main job)",
        description="Train with the paper's recipe: defaults, then --config YAML, then --key value overrides "
        "(any configuration key below, written --key-name or --key_name). See docs/training.md.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="configuration keys (TYPE, default: help):\n"
        + "\n".join(
            f"  --{key.replace('_', '-')} {kind} ({default!r}): {text}" for key, kind, default, text in field_help()
        ),
    )
    train.add_argument("--config", type=Path, help="YAML configuration (configs/*.yaml)")
    train.add_argument("--resume", help="auto (the run's last checkpoint, if any) or a checkpoint path")
    train.add_argument(
        "--overwrite", action="store_true", help="delete the run already in the output folder and start afresh"
    )
    train.set_defaults(func=cmd_train, takes_extra=True)
    evaluation = commands.add_parser("eval", help="evaluate a checkpoint on the test split")
    evaluation.add_argument("checkpoint", type=Path)
    evaluation.add_argument(
        "--data", help="fashion-mnist, fashion-mnist-5, fake or imagefolder:PATH (default: the training data)"
    )
    evaluation.add_argument("--data-root", help="where fashion-mnist is unpacked (default: the data cache, see train)")
    evaluation.add_argument("--batch-size", type=positive_int, default=256)
    evaluation.add_argument(
        "--test-flip",
        action=argparse.BooleanOptionalAction,
        help="average each image's prediction with its mirror image's (default: as the run was trained with)",
    )
    evaluation.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    evaluation.add_argument("--json", action="store_true")
    evaluation.set_defaults(func=cmd_eval)
