"""Training configuration: a typed dataclass loaded from YAML, with checked ``--key value`` overrides.

Unknown keys and values of the wrong type are errors that name the key and list the valid ones. The
resolved configuration is saved beside every run (``config.yaml``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import yaml

from squeezenext import typedconfig
from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import atomic_write_text, read_yaml
from squeezenext.plan import Flavor, StemKind
from squeezenext.preprocessing import TransformKind
from squeezenext.specs import STAGES
from squeezenext.typedconfig import check_fields


class TrainConfigError(SqueezeNextError):
    """A configuration that cannot be used; the message names the key and what to do."""


INIT_PYTORCHCV = "pytorchcv"
"""``init`` value for pytorchcv's public ImageNet weights of the config's model."""


@dataclass
class TrainConfig:
    """Everything a training run needs. Defaults: the README's main job (Fashion-MNIST, CPU, minutes).

    The learning-rate fields follow the paper's solver (docs/paper.md, "Training recipe"): ``base_lr`` and
    ``warmup_start_lr`` are given at ``base_batch`` images per step and scaled linearly to the global
    batch; ``warmup_iters`` is counted at ``base_batch`` and scaled to keep the same number of images.
    """

    model: str = "sqnxt23v5_w1"
    flavor: Flavor = "official"
    stem: StemKind = "small-s2"
    data: str = "fashion-mnist"
    data_root: str = ""
    input_size: int = 28
    transform: TransformKind = "small"
    augment: Literal["crop-flip", "flip", "none"] = "crop-flip"
    grey: Literal["stem", "repeat"] = "stem"
    fake_images: int = 512
    fake_classes: int = 10
    train_subset: int = 0
    test_subset: int = 0
    bad_images: Literal["skip", "fail"] = "skip"

    epochs: int = 3
    batch_size: int = 128
    base_lr: float = 0.4
    base_batch: int = 1024
    warmup_iters: int = 780
    warmup_start_lr: float = 0.1
    lr_power: float = 2.0
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    freeze_bn: bool = False
    max_steps: int = 0
    init: str = ""
    freeze_stages: int = 0
    backbone_lr_scale: float = 1.0

    amp: Literal["none", "auto", "bf16", "fp16"] = "none"
    channels_last: bool = False
    compile: bool = False
    cpu_processes: int = 1
    deterministic: bool = False
    seed: int = 0
    workers: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"

    out: str = "runs/default"
    checkpoint_every: int = 0
    log_every: int = 20
    eval_every: int = 1
    test_flip: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        validate(self)


_POSITIVE = (
    "input_size",
    "epochs",
    "batch_size",
    "base_batch",
    "log_every",
    "fake_images",
    "fake_classes",
    "cpu_processes",
)
_NON_NEGATIVE = (
    "warmup_iters",
    "train_subset",
    "test_subset",
    "max_steps",
    "workers",
    "checkpoint_every",
    "eval_every",
    "weight_decay",
    "momentum",
    "label_smoothing",
)


FIELD_HELP = {
    "model": "registered or paper name (any case), torchvision:<name> or pytorchcv:<name>",
    "flavor": "official (Caffe release) or pytorchcv (loads pytorchcv's checkpoints)",
    "stem": "standard (the paper's), small (3x3/1, for 28-64 px) or small-s2 (3x3/2, no pool)",
    "data": "fashion-mnist, fashion-mnist-5 (its 10 classes in 5 groups), fake or imagefolder:PATH "
    "(PATH/train/<class>/*, PATH/val/<class>/*)",
    "data_root": "where fashion-mnist is unpacked (empty: $SQUEEZENEXT_DATA, else ~/.cache/squeezenext/data)",
    "input_size": "square input side in pixels",
    "transform": "small (resize), paper (the solver's 256 resize and crops) or imagenet (RandomResizedCrop)",
    "augment": "for transform small: crop-flip, flip or none",
    "grey": "grey images: stem (1-channel stem) or repeat (3 channels, for torchvision models)",
    "fake_images": "training images of data fake (a quarter as many test images)",
    "fake_classes": "classes of data fake",
    "train_subset": "use only the first N training images (0: all)",
    "test_subset": "evaluate on the first N test images only (0: all)",
    "bad_images": "an unreadable image is skipped and counted (skip) or stops the run (fail)",
    "epochs": "passes over the training set",
    "batch_size": "global batch (split over torchrun processes)",
    "base_lr": "peak learning rate at base_batch images per step, scaled linearly to batch_size",
    "base_batch": "the batch base_lr, warmup_start_lr and warmup_iters are given at",
    "warmup_iters": "linear warm-up steps at base_batch (scaled to keep the same number of images)",
    "warmup_start_lr": "learning rate at the start of the warm-up, at base_batch",
    "lr_power": "polynomial decay power: lr = base (1 - step / steps)^power",
    "momentum": "SGD momentum in [0, 1)",
    "nesterov": "Nesterov momentum (Sutskever et al. 2013) instead of the paper's classical momentum",
    "weight_decay": "L2 weight decay on every parameter (as Caffe's solver)",
    "label_smoothing": "cross-entropy label smoothing in [0, 1)",
    "freeze_bn": "keep BatchNorm statistics fixed while training",
    "init": "start from weights: pytorchcv (the public ImageNet weights; flavor pytorchcv) or a checkpoint/.pth "
    "path; a classifier of another size is re-initialized (empty: random initialization)",
    "freeze_stages": "freeze the stem and the first N stages (weights and BatchNorm statistics; 0: none, 4: all)",
    "backbone_lr_scale": "learning-rate factor for everything but the classifier (fine-tuning: e.g. 0.1)",
    "max_steps": "stop after this many steps (0: the whole schedule)",
    "amp": "mixed precision: none, auto (bf16 where native, else none), bf16 (CPU or GPU) or fp16 (GPU)",
    "channels_last": "channels-last memory format",
    "compile": "torch.compile the model",
    "cpu_processes": "data-parallel processes on this machine's CPU, each with an equal share of its cores and "
    "of the global batch (gloo, as torchrun); not used on a GPU or under torchrun",
    "deterministic": "deterministic algorithms (same machine, same numbers)",
    "seed": "seed of initialization, shuffling and augmentation",
    "workers": "data-loader worker processes",
    "device": "auto, cpu or cuda",
    "out": "output folder (a run there is continued with --resume auto or replaced with --overwrite)",
    "checkpoint_every": "also write checkpoints/last.pt every N steps (0: only at epoch ends)",
    "log_every": "log training metrics every N steps",
    "eval_every": "evaluate on the test set every N epochs (0: only at the end)",
    "test_flip": "evaluate each test image and its left-right mirror image and average the two predictions "
    "(test-time augmentation; pairs with augment: flip or crop-flip)",
    "progress": "show a progress bar",
}
"""One line of help per configuration key (``squeezenext train --help``)."""
DATA_ENV = "SQUEEZENEXT_DATA"


def default_data_root() -> Path:
    """Where data sets are unpacked: ``$SQUEEZENEXT_DATA``, else ``$XDG_CACHE_HOME/squeezenext/data``
    (``~/.cache/squeezenext/data``), never the current directory."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "squeezenext" / "data"


def field_help() -> list[tuple[str, str, object, str]]:
    """``(key, type, default, help)`` of every configuration key, in declaration order."""
    hints = get_type_hints(TrainConfig)
    rows = []
    for item in fields(TrainConfig):
        expected = hints[item.name]
        kind = "|".join(map(str, get_args(expected))) if get_origin(expected) is Literal else expected.__name__
        rows.append((item.name, kind, item.default, FIELD_HELP[item.name]))
    return rows


def validate(config: TrainConfig) -> None:
    """Check types, choices and ranges of every field."""
    check_fields(config, TrainConfigError)
    for name in _POSITIVE:
        if getattr(config, name) < 1:
            raise TrainConfigError(f"{name} must be >= 1, got {getattr(config, name)}")
    for name in _NON_NEGATIVE:
        if getattr(config, name) < 0:
            raise TrainConfigError(f"{name} must be >= 0, got {getattr(config, name)}")
    if config.base_lr <= 0 or config.warmup_start_lr < 0:
        raise TrainConfigError("base_lr must be > 0 and warmup_start_lr >= 0")
    if not 0 <= config.momentum < 1:
        raise TrainConfigError(f"momentum must be in [0, 1) (the paper uses 0.9), got {config.momentum}")
    if config.nesterov and config.momentum == 0:
        raise TrainConfigError("nesterov needs a momentum > 0")
    if config.batch_size % config.cpu_processes:
        raise TrainConfigError(
            f"batch_size {config.batch_size} is not divisible by cpu_processes {config.cpu_processes}"
        )
    if not 0 <= config.label_smoothing < 1:
        raise TrainConfigError(f"label_smoothing must be in [0, 1), got {config.label_smoothing}")
    if not 0 <= config.freeze_stages <= STAGES:
        raise TrainConfigError(f"freeze_stages must be in 0..{STAGES}, got {config.freeze_stages}")
    if not 0 <= config.backbone_lr_scale <= 1:
        raise TrainConfigError(f"backbone_lr_scale must be in [0, 1], got {config.backbone_lr_scale}")


def field_names() -> list[str]:
    """Valid configuration keys."""
    return [item.name for item in fields(TrainConfig)]


def _coerce(name: str, text: str) -> Any:
    """Parse a command-line string into the type of field ``name``."""
    expected = get_type_hints(TrainConfig)[name]
    if expected is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise TrainConfigError(f"--{name.replace('_', '-')} takes true or false, got {text!r}")
    if expected is int:
        try:
            return int(text)
        except ValueError:
            raise TrainConfigError(f"--{name.replace('_', '-')} takes an integer, got {text!r}") from None
    if expected is float:
        try:
            return float(text)
        except ValueError:
            raise TrainConfigError(f"--{name.replace('_', '-')} takes a number, got {text!r}") from None
    return text


def _unknown(keys: list[str]) -> TrainConfigError:
    return TrainConfigError(f"unknown configuration key(s) {', '.join(keys)}; valid keys: {', '.join(field_names())}")


def from_mapping(data: dict[str, Any], source: str = "config") -> TrainConfig:
    """Build a config from a mapping (a YAML document); unknown keys are errors."""
    return typedconfig.from_mapping(TrainConfig, data, source, TrainConfigError)


def load_config(path: str | Path | None, overrides: dict[str, str] | None = None) -> TrainConfig:
    """Defaults, then the YAML file (if any), then ``--key value`` overrides (strings, parsed by type)."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        loaded = read_yaml(path, TrainConfigError, "config file")
        if loaded is not None and not isinstance(loaded, dict):
            raise TrainConfigError(f"{path}: expected a mapping of configuration keys")
        data.update(loaded or {})
        base = from_mapping(data, str(path))
    else:
        base = TrainConfig()
    if not overrides:
        return base
    unknown = sorted(set(overrides) - set(field_names()))
    if unknown:
        raise _unknown([f"--{k.replace('_', '-')}" for k in unknown])
    changes = {key: _coerce(key, value) for key, value in overrides.items()}
    return dataclasses.replace(base, **changes)


def parse_overrides(tokens: list[str]) -> dict[str, str]:
    """``['--batch-size', '64', '--amp=bf16']`` -> ``{'batch_size': '64', 'amp': 'bf16'}``."""
    overrides: dict[str, str] = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if not token.startswith("--"):
            raise TrainConfigError(f"unexpected argument {token!r}; overrides are written --key value")
        key, has_value, value = token[2:].partition("=")
        if not has_value:
            if index + 1 >= len(tokens):
                raise TrainConfigError(f"{token} needs a value")
            value = tokens[index + 1]
            index += 1
        overrides[key.replace("-", "_")] = value
        index += 1
    return overrides


def save_config(config: TrainConfig, path: str | Path) -> None:
    """Write the resolved configuration as YAML (atomically)."""
    atomic_write_text(path, yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))
