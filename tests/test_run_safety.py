"""No run is ever lost or mixed: refused overwrites, locks, signals at epoch ends, torn logs, full disks,
stale temporaries, Ctrl-C at start-up, divergence on the test set, unreadable data."""

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image

from squeezenext.cli import main
from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import output_lock, read_jsonl, write_json
from squeezenext.train.engine import Trainer

FAST = [
    "--data", "fake", "--input-size", "32", "--stem", "small", "--model", "sqnxt23_w1", "--fake-images", "32",
    "--fake-classes", "4", "--batch-size", "8", "--base-batch", "8", "--base-lr", "0.05", "--warmup-iters", "0",
    "--epochs", "2", "--progress", "false", "--log-every", "1", "--deterministic", "true",
]  # fmt: skip
"""Two epochs of four steps on synthetic data: a few seconds."""


def _train(out: Path, *extra: str) -> int:
    return main(["train", *FAST, "--out", str(out), *extra])


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert "Traceback" not in captured.err
    assert len(lines) == 1 and lines[0].startswith("squeezenext: error: "), lines
    return lines[0]


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, weights_only=True)["model"]  # type: ignore[no-any-return]


def test_an_existing_run_is_refused_and_overwrite_replaces_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert _train(out) == 0
    first = (out / "metrics.jsonl").read_text()
    assert _train(out) == 2
    assert "already holds a run" in _one_error_line(capsys)
    assert (out / "metrics.jsonl").read_text() == first
    assert _train(out, "--overwrite", "--seed", "1") == 0
    steps = [r["step"] for r in read_jsonl(out / "metrics.jsonl") if r["kind"] == "step"]
    assert steps == list(range(1, 9)), "the old run's records must be gone, the new run's complete"


def test_a_second_run_into_a_locked_folder_names_the_holder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    out.mkdir()
    with output_lock(out):
        assert _train(out) == 2
        assert f"in use by process {os.getpid()}" in _one_error_line(capsys)
    assert not (out / "metrics.jsonl").exists()
    assert _train(out) == 0, "the lock is released with its holder"


def test_a_benchmark_into_a_locked_output_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "bench.json"
    with output_lock(target):
        assert main(["bench", "--models", "sqnxt23_w1", "--json", str(target)]) == 2
        assert f"in use by process {os.getpid()}" in _one_error_line(capsys)
    assert not target.exists()


def test_sigterm_on_the_last_step_of_an_epoch_finishes_the_epoch_then_resumes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _train(tmp_path / "reference") == 0
    original = Trainer._train_step

    def step_then_signal(self: Trainer, images: torch.Tensor, labels: torch.Tensor) -> tuple[float, int]:
        result = original(self, images, labels)
        if self.epoch == 0 and self.step_in_epoch == self.steps_per_epoch - 1:
            os.kill(os.getpid(), signal.SIGTERM)  # arrives during the epoch's last step
        return result

    monkeypatch.setattr(Trainer, "_train_step", step_then_signal)
    out = tmp_path / "stopped"
    assert _train(out) == 128 + signal.SIGTERM
    epochs = [r for r in read_jsonl(out / "metrics.jsonl") if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [0] and "test_top1" in epochs[0], "epoch 0's end-of-epoch work ran"
    assert (out / "checkpoints" / "epoch_000.pt").exists()
    assert not (out / "model.pt").exists()
    stopped_at = torch.load(out / "checkpoints" / "last.pt", weights_only=True)["global_step"]
    assert stopped_at == 4

    monkeypatch.setattr(Trainer, "_train_step", original)
    assert _train(out, "--resume", "auto") == 0
    steps = [r["step"] for r in read_jsonl(out / "metrics.jsonl") if r["kind"] == "step"]
    assert steps == list(range(1, 9)), "the resumed run continues at step 5, repeating and skipping none"
    assert json.loads((out / "results.json").read_text())["steps_this_session"] == 4
    expected, actual = _weights(tmp_path / "reference" / "model.pt"), _weights(out / "model.pt")
    for name in expected:
        assert torch.equal(expected[name], actual[name]), name


def test_resume_restores_position_optimizer_and_random_state(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert _train(out, "--checkpoint-every", "3") == 0
    saved = torch.load(out / "checkpoints" / "epoch_000.pt", weights_only=True)
    from squeezenext.train.config import load_config, parse_overrides

    config = load_config(None, parse_overrides([*FAST, "--out", str(out), "--checkpoint-every", "3"]))
    trainer = Trainer(config)
    torch.manual_seed(12345)  # whatever the state was, resume must replace it
    assert trainer.resume(str(out / "checkpoints" / "epoch_000.pt"))
    assert (trainer.global_step, trainer.epoch, trainer.step_in_epoch) == (4, 1, 0)
    assert torch.equal(torch.get_rng_state(), saved["rng"]["torch"])
    momentum = trainer.optimizer.state_dict()["state"]
    assert momentum and all(
        torch.equal(momentum[k]["momentum_buffer"], saved["optimizer"]["state"][k]["momentum_buffer"]) for k in momentum
    )
    for name, tensor in trainer.model.state_dict().items():
        assert torch.equal(tensor, saved["model"][name]), name


def test_a_full_disk_during_a_metrics_append_then_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    real_open = Path.open
    appends = {"count": 0}

    class HalfWriter:
        """Writes half of what it is given, then fails as a full disk does."""

        def __init__(self, handle: Any) -> None:
            self.handle = handle

        def __enter__(self) -> "HalfWriter":
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, text: str) -> int:
            self.handle.write(text[: len(text) // 2])
            self.handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    def open_with_full_disk(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(self, mode, *args, **kwargs)
        if self.name == "metrics.jsonl" and mode == "a":
            appends["count"] += 1
            if appends["count"] == 3:
                return HalfWriter(handle)
        return handle

    monkeypatch.setattr(Path, "open", open_with_full_disk)
    assert _train(out, "--checkpoint-every", "1") == 2
    line = _one_error_line(capsys)
    assert "no space left on the device writing" in line and "metrics.jsonl" in line
    monkeypatch.setattr(Path, "open", real_open)
    assert not (out / "metrics.jsonl").read_text().endswith("\n"), "the test must leave a torn line"

    assert _train(out, "--checkpoint-every", "1", "--resume", "auto") == 0
    err = capsys.readouterr().err
    assert "dropped a torn last line" in err and "metrics.jsonl" in err
    records = read_jsonl(out / "metrics.jsonl")
    assert [r["step"] for r in records if r["kind"] == "step"] == list(range(1, 9))
    assert json.loads((out / "results.json").read_text())["status"] == "done"


def test_a_full_disk_while_writing_a_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def save_on_full_disk(payload: object, path: Path) -> None:
        Path(path).write_bytes(b"half a checkpoint")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", save_on_full_disk)
    out = tmp_path / "run"
    assert _train(out, "--checkpoint-every", "2") == 2
    line = _one_error_line(capsys)
    assert "no space left on the device writing" in line and "last.pt" in line
    assert list((out / "checkpoints").iterdir()) == [], "no temporary and no torn checkpoint is left"


def test_stale_temporaries_of_a_killed_writer_are_removed_on_start(tmp_path: Path) -> None:
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    stale = [out / "checkpoints" / ".last.pt.tmp-k1ll3d.pt", out / ".results.json.tmp-abc.json"]
    for path in stale:
        path.write_bytes(b"half")
    keep = out / "checkpoints" / "notes.txt"
    keep.write_text("not ours to delete")
    assert _train(out, "--resume", "auto") == 0
    assert not any(path.exists() for path in stale)
    assert keep.exists()


def test_ctrl_c_during_start_up_exits_130_quietly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("squeezenext.train.data.build_data", interrupted)
    monkeypatch.setattr("squeezenext.train.engine.build_data", interrupted)
    assert _train(tmp_path / "run") == 130
    captured = capsys.readouterr()
    assert captured.err == "" and "Traceback" not in captured.out


def test_a_non_finite_test_loss_is_divergence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import squeezenext.train.engine as engine

    real = engine.evaluate

    def nan_loss(*args: Any, **kwargs: Any) -> dict[str, float | int]:
        return {**real(*args, **kwargs), "loss": float("nan")}

    monkeypatch.setattr(engine, "evaluate", nan_loss)
    out = tmp_path / "run"
    assert _train(out) == 2
    assert "the test loss became nan" in _one_error_line(capsys)
    assert not (out / "results.json").exists()


def test_results_json_never_holds_a_bare_nan(tmp_path: Path) -> None:
    with pytest.raises(SqueezeNextError, match=r"test\.loss = nan"):
        write_json(tmp_path / "results.json", {"test": {"loss": float("nan")}})
    assert not (tmp_path / "results.json").exists()


def _image_folder(root: Path, train_files: dict[str, bytes | None]) -> Path:
    """ImageNet layout with two classes; ``None`` means a real 8x8 PNG, bytes are written as they are."""
    for split in ("train", "val"):
        for cls in ("a", "b"):
            (root / split / cls).mkdir(parents=True)
    for cls in ("a", "b"):
        Image.new("RGB", (8, 8), (10, 200, 30)).save(root / "val" / cls / "ok.png")
    for name, content in train_files.items():
        path = root / "train" / name
        if content is None:
            Image.new("RGB", (8, 8), (200, 10, 30)).save(path)
        else:
            path.write_bytes(content)
    return root


def test_an_image_folder_of_unreadable_training_images_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_hostile import _png_header

    data = _image_folder(tmp_path / "data", {f"{c}/{i}.png": b"not an image" for c in "ab" for i in range(4)})
    data_bomb = data / "train" / "a" / "bomb.png"
    data_bomb.write_bytes(_png_header(14000, 14000))
    argv = [*FAST, "--data", f"imagefolder:{data}", "--input-size", "16", "--batch-size", "4", "--base-batch", "4"]
    assert main(["train", *argv, "--out", str(tmp_path / "run")]) == 2
    assert "every training image of epoch 0 was unreadable" in _one_error_line(capsys)


def test_a_decompression_bomb_is_a_bad_image_that_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from test_hostile import _png_header

    data = _image_folder(tmp_path / "data", {f"{c}/{i}.png": None for c in "ab" for i in range(4)})
    (data / "train" / "a" / "bomb.png").write_bytes(_png_header(14000, 14000))
    argv = [*FAST, "--data", f"imagefolder:{data}", "--input-size", "16", "--batch-size", "3", "--base-batch", "3"]
    assert main(["train", *argv, "--epochs", "1", "--out", str(tmp_path / "run")]) == 0
    assert "skipped 1 unreadable training images" in capsys.readouterr().out


def test_sigterm_stops_any_command_cleanly(tmp_path: Path) -> None:
    """Outside training (which checkpoints first), SIGTERM unwinds like Ctrl-C: exit 143, no traceback, the
    output lock and the bench's scratch folder removed, no half-written output."""
    target = tmp_path / "bench.json"
    argv = ["bench", "--models", "sqnxt23_w1", "--backends", "eager", "--batch", "1", "--input-size", "32",
            "--min-seconds", "600", "--json", str(target)]  # fmt: skip
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "squeezenext", *argv],
        env={**os.environ, "TMPDIR": str(scratch)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not any(scratch.iterdir()):  # the bench's scratch folder: the run is under way
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(2)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, output
    assert "Traceback" not in output
    assert list(tmp_path.iterdir()) == [scratch] and list(scratch.iterdir()) == []
