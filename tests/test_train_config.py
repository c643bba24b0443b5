"""Training configuration: YAML, overrides, errors, and the paper's recipe in the shipped configs."""

from pathlib import Path

import pytest

from squeezenext.registry import get_spec
from squeezenext.train.config import TrainConfig, TrainConfigError, load_config, parse_overrides, save_config
from squeezenext.train.schedule import PolySchedule

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = ["sqnxt23_w1", "sqnxt23g_w1", "sqnxt23v5_w1", "sqnxt23_w2", "sqnxt23v5_w2"]


@pytest.mark.parametrize("model", OFFICIAL)
def test_imagenet_configs_reproduce_the_official_solver(model: str) -> None:
    config = load_config(ROOT / "configs" / f"imagenet_{model}.yaml")
    assert get_spec(config.model).name == model
    assert (config.flavor, config.stem, config.transform, config.input_size) == ("official", "standard", "paper", 227)
    assert (config.batch_size, config.base_lr, config.base_batch) == (1024, 0.4, 1024)
    assert (config.warmup_iters, config.warmup_start_lr, config.lr_power) == (780, 0.1, 2.0)
    assert (config.momentum, config.weight_decay, config.epochs, config.label_smoothing) == (0.9, 1e-4, 120, 0.0)


def test_overrides_are_parsed_by_type(tmp_path: Path) -> None:
    overrides = parse_overrides(["--batch-size", "64", "--amp=bf16", "--channels-last", "true", "--base-lr", "0.2"])
    config = load_config(ROOT / "configs" / "fashion_mnist.yaml", overrides)
    assert (config.batch_size, config.amp, config.channels_last, config.base_lr) == (64, "bf16", True, 0.2)
    save_config(config, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == config


@pytest.mark.parametrize(
    ("tokens", "message"),
    [
        (["--batch-sise", "64"], "unknown configuration key.*--batch-sise.*valid keys: model"),
        (["--batch-size", "many"], "--batch-size takes an integer"),
        (["--base-lr", "fast"], "--base-lr takes a number"),
        (["--channels-last", "maybe"], "takes true or false"),
        (["--amp", "fp8"], "amp must be one of none, auto, bf16, fp16"),
        (["--epochs", "0"], "epochs must be >= 1"),
        (["--weight-decay", "-1"], "weight_decay must be >= 0"),
        (["--epochs"], "needs a value"),
        (["epochs", "3"], "overrides are written --key value"),
    ],
)
def test_bad_overrides(tokens: list[str], message: str) -> None:
    with pytest.raises(TrainConfigError, match=message):
        load_config(None, parse_overrides(tokens))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("epochs: three", "epochs must be an integer"),
        ("learning_rate: 0.1", "unknown key.*learning_rate"),
        ("- 1", "expected a mapping"),
        ("epochs: [1", "not valid YAML"),
        ("channels_last: 1", "channels_last must be true or false"),
    ],
)
def test_bad_yaml(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TrainConfigError, match=message):
        load_config(path)


def test_missing_config_file() -> None:
    with pytest.raises(TrainConfigError, match="does not exist"):
        load_config("nope.yaml")


def test_schedule_at_chosen_steps_equals_the_formula() -> None:
    # the paper's solver at batch 1024: warm-up 0.1 -> 0.4 over 780 steps, then 0.4 (1 - it / max)^2
    schedule = PolySchedule.scaled(
        base_lr=0.4, base_batch=1024, global_batch=1024, total_steps=150_136, warmup_iters=780,
        warmup_start_lr=0.1, power=2.0,
    )  # fmt: skip
    assert schedule(0) == pytest.approx(0.1)
    assert schedule(390) == pytest.approx(0.25)
    assert schedule(780) == pytest.approx(0.4 * (1 - 780 / 150_136) ** 2)
    assert schedule(75_068) == pytest.approx(0.4 * 0.25)
    assert schedule(150_135) == pytest.approx(0.4 * (1 / 150_136) ** 2)
    assert schedule(150_136) == 0.0


def test_schedule_scales_linearly_with_the_global_batch() -> None:
    schedule = PolySchedule.scaled(
        base_lr=0.4, base_batch=1024, global_batch=256, total_steps=1000, warmup_iters=780,
        warmup_start_lr=0.1, power=2.0,
    )  # fmt: skip
    assert schedule.base_lr == pytest.approx(0.1)
    assert schedule.warmup_start_lr == pytest.approx(0.025)
    assert schedule.warmup_steps == 1000  # 780 * 4 = 3120 steps, capped at the run's length
    longer = PolySchedule.scaled(
        base_lr=0.4, base_batch=1024, global_batch=256, total_steps=10_000, warmup_iters=780,
        warmup_start_lr=0.1, power=2.0,
    )  # fmt: skip
    assert longer.warmup_steps == 3120
    assert schedule(0) == pytest.approx(0.025)


def test_default_config_is_valid() -> None:
    assert TrainConfig().model == "sqnxt23v5_w1"
