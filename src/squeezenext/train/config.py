"""Training configuration: a typed dataclass loaded from YAML, with checked ``--key value`` overrides.

Unknown keys and values of the wrong type are errors that name the key and list the valid ones. The
resolved configuration is saved beside every run (``config.yaml``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import yaml

from squeezenext.fileio import atomic_write_text, read_yaml


class TrainConfigError(ValueError):
    """A configuration that cannot be used; the message names the key and what to do."""


@dataclass
class TrainConfig:
    """Everything a training run needs. Defaults: the README's main job (Fashion-MNIST, CPU, minutes).

    The learning-rate fields follow the paper's solver (PAPER.md, "Training recipe"): ``base_lr`` and
    ``warmup_start_lr`` are given at ``base_batch`` images per step and scaled linearly to the global
    batch; ``warmup_iters`` is counted at ``base_batch`` and scaled to keep the same number of images.
    """

    model: str = "sqnxt23v5_w1"
    flavor: Literal["official", "pytorchcv"] = "official"
    stem: Literal["standard", "small", "small-s2"] = "small-s2"
    data: str = "fashion-mnist"
    data_root: str = "data"
    input_size: int = 28
    transform: Literal["small", "paper", "imagenet"] = "small"
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
    weight_decay: float = 1e-4
    label_smoothing: float = 0.0
    freeze_bn: bool = False
    max_steps: int = 0

    amp: Literal["none", "bf16", "fp16"] = "none"
    channels_last: bool = False
    compile: bool = False
    deterministic: bool = False
    seed: int = 0
    workers: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"

    out: str = "runs/default"
    checkpoint_every: int = 0
    log_every: int = 20
    eval_every: int = 1
    progress: bool = True

    def __post_init__(self) -> None:
        validate(self)


_POSITIVE = ("input_size", "epochs", "batch_size", "base_batch", "log_every", "fake_images", "fake_classes")
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


def validate(config: TrainConfig) -> None:
    """Check types, choices and ranges of every field."""
    hints = get_type_hints(TrainConfig)
    for item in fields(TrainConfig):
        value = getattr(config, item.name)
        expected = hints[item.name]
        choices = get_args(expected) if get_origin(expected) is Literal else None
        if choices is not None:
            if value not in choices:
                raise TrainConfigError(f"{item.name} must be one of {', '.join(map(str, choices))}, got {value!r}")
        elif expected is bool and not isinstance(value, bool):
            raise TrainConfigError(f"{item.name} must be true or false, got {value!r}")
        elif expected is int and (not isinstance(value, int) or isinstance(value, bool)):
            raise TrainConfigError(f"{item.name} must be an integer, got {value!r}")
        elif expected is float and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise TrainConfigError(f"{item.name} must be a number, got {value!r}")
        elif expected is str and not isinstance(value, str):
            raise TrainConfigError(f"{item.name} must be a string, got {value!r}")
    for name in _POSITIVE:
        if getattr(config, name) < 1:
            raise TrainConfigError(f"{name} must be >= 1, got {getattr(config, name)}")
    for name in _NON_NEGATIVE:
        if getattr(config, name) < 0:
            raise TrainConfigError(f"{name} must be >= 0, got {getattr(config, name)}")
    if config.base_lr <= 0 or config.warmup_start_lr < 0:
        raise TrainConfigError("base_lr must be > 0 and warmup_start_lr >= 0")
    if not 0 <= config.label_smoothing < 1:
        raise TrainConfigError(f"label_smoothing must be in [0, 1), got {config.label_smoothing}")


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
    unknown = sorted(set(data) - set(field_names()))
    if unknown:
        raise TrainConfigError(f"{source}: {_unknown(unknown)}")
    try:
        return TrainConfig(**data)
    except TrainConfigError as error:
        raise TrainConfigError(f"{source}: {error}") from None


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
