"""The training engine: learning, divergence, signals, resume, outputs, evaluation."""

import dataclasses
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from squeezenext.checkpoint import load_checkpoint
from squeezenext.cli import main
from squeezenext.errors import CheckpointError
from squeezenext.train.config import TrainConfig
from squeezenext.train.data import collate
from squeezenext.train.engine import Trainer, TrainingDivergedError, evaluate
from train_helpers import FAST, env, run_train, train_command, weights


def _config(tmp_path: Path, **changes: object) -> TrainConfig:
    base = TrainConfig(
        data="fake", input_size=32, stem="small", model="sqnxt23_w1", fake_images=16, fake_classes=4,
        batch_size=8, base_batch=8, base_lr=0.05, warmup_iters=0, epochs=1, progress=False, log_every=1,
        out=str(tmp_path / "run"),
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_overfits_a_tiny_batch(tmp_path: Path) -> None:
    trainer = Trainer(_config(tmp_path, weight_decay=0.0))
    images, labels, _ = collate([trainer.data.test[i] for i in range(4)])
    steps = [trainer._train_step(images, labels) for _ in range(40)]
    assert steps[-1][0] < 0.05 * steps[0][0]
    assert steps[-1][1] == len(labels)  # all four images classified right


def test_nesterov_reaches_the_optimizer(tmp_path: Path) -> None:
    assert Trainer(_config(tmp_path, nesterov=True)).optimizer.defaults["nesterov"] is True
    assert Trainer(_config(tmp_path)).optimizer.defaults["nesterov"] is False


def test_divergence_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    config = _config(tmp_path, base_lr=1e12, checkpoint_every=1, fake_images=64, epochs=4)
    trainer = Trainer(config)
    with pytest.raises(TrainingDivergedError, match=r"loss became (nan|inf).*last good state"):
        trainer.fit()
    state = load_checkpoint(Path(config.out) / "checkpoints" / "last.pt")
    assert 0 < state["global_step"] < trainer.total_steps
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def test_run_outputs_and_eval_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, epochs=2)
    results = Trainer(config).fit()
    out = Path(config.out)
    for name in ("config.yaml", "metrics.jsonl", "steps.csv", "epochs.csv", "curves.png", "model.pt", "results.json"):
        assert (out / name).exists(), name
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["epoch_000.pt", "epoch_001.pt", "last.pt"]
    epochs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in epochs if r["kind"] == "epoch"] == [0, 1]
    assert {"test_top1", "test_top5", "test_loss", "train_loss", "train_top1", "train_images_per_s"} <= set(epochs[-1])
    assert 0.0 <= epochs[-1]["train_top1"] <= 100.0
    assert main(["eval", str(out / "model.pt"), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["top1"] == pytest.approx(results["test"]["top1"])
    assert evaluated["images"] == 4


def test_resume_with_another_configuration_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path)
    Trainer(config).fit()
    with pytest.raises(CheckpointError, match=r"another configuration \(batch_size: 8 -> 4\)"):
        Trainer(dataclasses.replace(config, batch_size=4)).fit(resume="auto")


def test_sigterm_writes_a_checkpoint_and_exits_cleanly(tmp_path: Path) -> None:
    out = tmp_path / "run"
    process = subprocess.Popen(
        train_command(out, "--epochs", "20"), env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    metrics = out / "metrics.jsonl"
    deadline = time.monotonic() + 120
    while not (metrics.exists() and metrics.read_text().count('"kind": "step"') >= 2):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 128 + signal.SIGTERM, output
    assert "stopped by a signal" in output and "Traceback" not in output
    state = load_checkpoint(out / "checkpoints" / "last.pt")
    assert 0 < state["global_step"] < 20 * 32
    # resuming after a stop (and at an epoch boundary) is tested in test_run_safety.py


def test_corrupt_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(path)
    assert main(["eval", str(path)]) == 2


def test_train_cli_reports_bad_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--batch-sise", "3"]) == 2
    assert "unknown configuration key" in capsys.readouterr().err


@pytest.mark.extended
def test_uninterrupted_subprocess_run_matches_in_process_run(tmp_path: Path) -> None:
    result = run_train(tmp_path / "a", "--epochs", "1")
    assert result.returncode == 0, result.stderr
    assert "test top-1" in result.stdout
    assert main(["train", *FAST, "--epochs", "1", "--out", str(tmp_path / "b")]) == 0
    subprocess_weights, in_process_weights = weights(tmp_path / "a" / "model.pt"), weights(tmp_path / "b" / "model.pt")
    assert subprocess_weights.keys() == in_process_weights.keys()
    for name, tensor in subprocess_weights.items():
        assert torch.equal(tensor, in_process_weights[name]), name


def test_evaluate_counts_top1_and_top5_by_hand() -> None:
    """Four images, six classes, the logits as the model's output: the true class ranks 1st, 2nd, 5th and 6th,
    so top-1 is 25%, top-5 75%, and the loss is the mean cross-entropy computed here."""
    logits = torch.tensor(
        [[9.0, 1, 2, 3, 4, 5], [4.0, 9, 1, 2, 3, 5], [5.0, 4, 3, 2, 1, 9], [1.0, 2, 3, 4, 5, 9]]
    )  # fmt: skip
    labels = torch.tensor([0, 5, 3, 0])
    loader = [(logits[:2], labels[:2], 0), (logits[2:], labels[2:], 0)]
    metrics = evaluate(torch.nn.Identity(), loader, torch.device("cpu"), TrainConfig())  # type: ignore[arg-type]
    assert metrics["top1"] == 25.0 and metrics["top5"] == 75.0 and metrics["images"] == 4
    assert metrics["loss"] == pytest.approx(float(torch.nn.functional.cross_entropy(logits, labels)))


class _FirstRow(torch.nn.Module):
    """Logits = the first row of the first channel plus a fixed bias: a mirror image (flip of the last axis)
    reverses the row, not the bias."""

    bias = torch.tensor([0.0, 0.5, 0.0, 2.5])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0, 0, :] + self.bias


def test_test_flip_averages_the_probabilities_of_an_image_and_its_mirror_image() -> None:
    """With ``test_flip``, each image's prediction is the mean of its and its mirror image's class probabilities;
    the loss is that mean's cross-entropy. Here the mirror image moves image 0 from right to wrong; image 1 is its
    own mirror image."""
    rows = torch.tensor([[3.0, 0, 1, 0], [0.0, 5, 5, 0]])
    labels = torch.tensor([0, 1])
    images = rows[:, None, None, :]
    loader = [(images, labels, 0)]
    plain = evaluate(_FirstRow(), loader, torch.device("cpu"), TrainConfig())  # type: ignore[arg-type]
    flipped = evaluate(_FirstRow(), loader, torch.device("cpu"), TrainConfig(test_flip=True))  # type: ignore[arg-type]
    mean = ((rows + _FirstRow.bias).softmax(dim=1) + (rows.flip(1) + _FirstRow.bias).softmax(dim=1)) / 2
    assert plain["top1"] == 100.0
    assert mean.argmax(dim=1).tolist() == [3, 1]
    assert flipped["top1"] == 50.0
    assert flipped["loss"] == pytest.approx(float(torch.nn.functional.nll_loss(mean.log(), labels)))
    assert flipped["loss"] != pytest.approx(plain["loss"])


def test_progress_in_a_log_file_is_one_line_per_logged_window(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """stderr is not a terminal here (as in a redirected `make run`): one line per logged window, with the step,
    the images per second and the time left; not a bar refresh per step."""
    argv = ["train", "--data", "fake", "--input-size", "32", "--stem", "small", "--fake-images", "64",
            "--fake-classes", "4", "--batch-size", "8", "--base-batch", "8", "--epochs", "1", "--log-every", "4",
            "--out", str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("step ")]
    assert len(lines) == 3, captured.err  # steps 1, 4 and 8 of 8
    assert lines[-1].startswith("step 8/8 (100%), loss ") and "img/s " in lines[-1] and "min left" in lines[-1]
    assert "\r" not in captured.err
    assert "next:" in captured.out and "squeezenext predict docs/samples/*.png --model" in captured.out
