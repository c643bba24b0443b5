"""``squeezenext train`` and ``squeezenext eval``."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from torch.utils.data import DataLoader

from squeezenext.train.checkpoint import load_checkpoint
from squeezenext.train.config import field_names, from_mapping, load_config, parse_overrides
from squeezenext.train.data import build_data, collate
from squeezenext.train.engine import Trainer, build_model, evaluate, setup_distributed


def cmd_train(args: argparse.Namespace) -> int:
    config = load_config(args.config, parse_overrides(args.extra))
    trainer = Trainer(config)
    results = trainer.fit(resume=args.resume)
    if trainer.topology.main and results["status"] == "done":
        test = results["test"]
        print(
            f"{config.model}: test top-1 {test['top1']:.2f}%, top-5 {test['top5']:.2f}%, loss {test['loss']:.4f} "
            f"on {test['images']} images; {results['params']:,} parameters; outputs in {config.out}"
        )
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    state = load_checkpoint(args.checkpoint)
    config = from_mapping(state["config"], str(args.checkpoint))
    changes: dict[str, Any] = {"test_subset": 0, "progress": False}
    if args.data:
        changes["data"] = args.data
    if args.data_root:
        changes["data_root"] = args.data_root
    config = dataclasses.replace(config, **changes)
    topology = setup_distributed(dataclasses.replace(config, device=args.device))
    data = build_data(config)
    if data.classes != state["classes"]:
        raise ValueError(
            f"{config.data} has classes {data.classes[:5]}..., the checkpoint was trained on "
            f"{state['classes'][:5]}...; evaluate on the same label set"
        )
    model = build_model(config, len(data.classes), data.in_channels)
    model.load_state_dict(state["model"])
    model.to(topology.device)
    loader = DataLoader(data.test, batch_size=args.batch_size, num_workers=config.workers, collate_fn=collate)
    metrics = evaluate(model, loader, topology.device, config)
    if args.json:
        print(json.dumps({"checkpoint": str(args.checkpoint), "data": config.data, **metrics}, indent=2))
    else:
        print(
            f"{args.checkpoint} on {config.data} (test split, {metrics['images']} images): "
            f"top-1 {metrics['top1']:.2f}%, top-5 {metrics['top5']:.2f}%, loss {metrics['loss']:.4f}"
        )
    return 0


def add_train_parsers(commands: Any) -> None:
    train = commands.add_parser(
        "train",
        help="train a model (defaults: the README's Fashion-MNIST job)",
        description="Train with the paper's recipe. Any configuration key can be overridden as --key value "
        f"(keys: {', '.join(field_names())}). See docs/training.md.",
    )
    train.add_argument("--config", type=Path, help="YAML configuration (configs/*.yaml)")
    train.add_argument("--resume", help="auto (the run's last checkpoint, if any) or a checkpoint path")
    train.set_defaults(func=cmd_train, takes_extra=True)
    evaluation = commands.add_parser("eval", help="evaluate a checkpoint on the test split")
    evaluation.add_argument("checkpoint", type=Path)
    evaluation.add_argument("--data", help="fashion-mnist, fake or imagefolder:PATH (default: the training data)")
    evaluation.add_argument("--data-root", help="where fashion-mnist lives or is downloaded")
    evaluation.add_argument("--batch-size", type=int, default=256)
    evaluation.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    evaluation.add_argument("--json", action="store_true")
    evaluation.set_defaults(func=cmd_eval)
