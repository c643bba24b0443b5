"""Fine-tuning: ``init`` from a checkpoint (a new classifier when the classes differ), frozen stages, a lower
backbone learning rate, continuing a finished run, and the errors for weights that do not fit."""

import dataclasses
from pathlib import Path

import pytest
import torch

from squeezenext.train.config import TrainConfig
from squeezenext.train.engine import Trainer

BASE = TrainConfig(
    model="sqnxt23_w1", data="fake", input_size=32, stem="small", fake_images=64, fake_classes=4,
    batch_size=8, base_batch=8, base_lr=0.05, warmup_iters=2, warmup_start_lr=0.01, epochs=1,
    deterministic=True, progress=False, eval_every=0,
)  # fmt: skip


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("source")
    Trainer(dataclasses.replace(BASE, out=str(out))).fit()
    return out / "model.pt"


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return dict(torch.load(path, map_location="cpu", weights_only=True)["model"])


def test_init_with_other_classes_reinitializes_only_the_classifier(source: Path, tmp_path: Path) -> None:
    config = dataclasses.replace(BASE, init=str(source), fake_classes=3, out=str(tmp_path))
    trainer = Trainer(config)
    classifier = [key for key in _weights(source) if key.startswith("fc.")]  # the official fc has no bias
    assert classifier == ["fc.weight"]
    assert trainer.init_report == {"source": str(source), "loaded": len(_weights(source)) - 1, "skipped": classifier}
    loaded = trainer.model.state_dict()
    for key, value in _weights(source).items():
        if not key.startswith("fc."):
            assert torch.equal(loaded[key], value), key
    assert loaded["fc.weight"].shape == (3, 128)
    results = trainer.fit()
    assert results["init"]["skipped"] == classifier


def test_frozen_stages_and_backbone_rate(source: Path, tmp_path: Path) -> None:
    frozen = Trainer(dataclasses.replace(BASE, init=str(source), freeze_stages=2, out=str(tmp_path / "frozen")))
    frozen.fit()
    before, after = _weights(source), _weights(tmp_path / "frozen" / "model.pt")
    for key in before:  # weights and BatchNorm statistics of the stem and stages 0-1 stay; the rest trains
        still = key.startswith(("stem.", "stages.0.", "stages.1."))
        assert torch.equal(before[key], after[key]) == still or "num_batches_tracked" in key, key
    still_rate = Trainer(dataclasses.replace(BASE, init=str(source), backbone_lr_scale=0.0, out=str(tmp_path / "lr")))
    assert [group["lr_scale"] for group in still_rate.optimizer.param_groups] == [0.0, 1.0]
    still_rate.fit()
    after = _weights(tmp_path / "lr" / "model.pt")
    for key, value in before.items():
        if key.endswith(("weight", "bias")) and not key.startswith("fc."):
            assert torch.equal(value, after[key]), key
    assert not torch.equal(before["fc.weight"], after["fc.weight"])


def test_continue_a_finished_run_for_more_epochs(source: Path, tmp_path: Path) -> None:
    more = Trainer(dataclasses.replace(BASE, init=str(source), epochs=2, out=str(tmp_path)))
    assert more.init_report is not None and more.init_report["skipped"] == []
    assert more.fit()["steps"] == 2 * 64 // 8


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"model": "sqnxt23v5_w1"},
            r"does not fit the model: stages\.0\.blocks\.0\.reduce1\.conv\.weight has shape \[16, 64, 1, 1\]",
        ),
        ({"stem": "small-s2", "input_size": 28, "init": "pytorchcv"}, r"flavor: pytorchcv only"),
        ({"freeze_stages": 5}, r"freeze_stages must be in 0\.\.4"),
        ({"backbone_lr_scale": 2.0}, r"backbone_lr_scale must be in \[0, 1\]"),
        ({"init": "nowhere.pt"}, r"nowhere\.pt does not exist"),
    ],
)
def test_bad_fine_tuning_is_refused(source: Path, tmp_path: Path, change: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        changes = {"init": str(source), "out": str(tmp_path), **change}
        Trainer(dataclasses.replace(BASE, **changes))  # type: ignore[arg-type]
