"""``cpu_processes``: `squeezenext train` starts data-parallel processes itself, trains as torchrun's processes do,
and keeps the command's promises: one line per error, signals stop every process after its step with rank 0's
checkpoint written, and the run resumes."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import torch

from squeezenext.train.config import TrainConfigError, load_config, parse_overrides
from squeezenext.train.launch import run_training, spawns_processes, threads_per_process
from train_helpers import FAST, env, run_train, train_command, weights

TWO = ["--cpu-processes", "2", "--fake-images", "64", "--epochs", "1"]


def _config(*extra: str):  # type: ignore[no-untyped-def]
    return load_config(None, parse_overrides([*FAST, *extra]))


def test_two_processes_train_and_write_the_run(tmp_path: Path) -> None:
    result = run_train(tmp_path / "run", *TWO)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test top-1" in result.stdout
    assert result.stderr.count("Traceback") == 0
    for entry in ("model.pt", "results.json", "metrics.jsonl", "checkpoints/last.pt", "config.yaml"):
        assert (tmp_path / "run" / entry).exists(), entry
    assert not list((tmp_path / "run").rglob("*.tmp*"))


@pytest.mark.extended
def test_two_processes_match_torchrun(tmp_path: Path) -> None:
    """The same processes as `torchrun --nproc-per-node 2` with as many threads each: same data split, same
    averaging, bit-identical weights."""
    import sys

    assert run_train(tmp_path / "own", *TWO).returncode == 0
    same_threads = {**env(), "OMP_NUM_THREADS": str(threads_per_process(2))}
    torchrun = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m",
         "squeezenext.cli", "train", *FAST, *TWO[2:], "--out", str(tmp_path / "torchrun")],
        env=same_threads, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert torchrun.returncode == 0, torchrun.stderr[-3000:]
    own, reference = weights(tmp_path / "own" / "model.pt"), weights(tmp_path / "torchrun" / "model.pt")
    assert own.keys() == reference.keys()
    assert [key for key, value in reference.items() if not torch.equal(own[key], value)] == []


def test_one_process_or_torchrun_or_a_gpu_starts_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not spawns_processes(_config("--cpu-processes", "1"))
    assert not spawns_processes(_config("--cpu-processes", "2", "--device", "cuda"))
    assert spawns_processes(_config("--cpu-processes", "2", "--device", "cpu"))
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert not spawns_processes(_config("--cpu-processes", "2", "--device", "cpu"))


def test_threads_are_shared_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("squeezenext.train.launch.default_threads", lambda: 16)
    assert threads_per_process(2) == 8
    assert threads_per_process(32) == 1


def test_more_processes_than_cpus_are_refused(tmp_path: Path) -> None:
    cpus = os.cpu_count() or 1
    config = _config("--cpu-processes", str(cpus + 1), "--batch-size", str(8 * (cpus + 1)), "--device", "cpu")
    with pytest.raises(TrainConfigError, match=f"more than the {cpus} CPUs"):
        run_training(config)


def test_a_batch_that_does_not_split_is_refused() -> None:
    with pytest.raises(TrainConfigError, match="not divisible by cpu_processes 3"):
        _config("--cpu-processes", "3", "--batch-size", "8")


def test_an_error_in_the_processes_is_one_line(tmp_path: Path) -> None:
    """An error that only the processes meet (here a model the registry does not know) ends the run with that
    process's line, once, no traceback, nothing in the output folder."""
    result = run_train(tmp_path / "cli", *TWO, "--model", "no_such_net")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert "no_such_net" in result.stderr
    assert not (tmp_path / "cli").exists()


def _started(process: subprocess.Popen[str], log: Path) -> None:
    """Wait until rank 0 has logged its first training step."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if log.exists() and '"kind": "step"' in log.read_text():
            return
        assert process.poll() is None, process.communicate()
        time.sleep(0.2)
    raise AssertionError("no training step within 300 s")


@pytest.mark.extended
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_command_stops_every_process_with_a_checkpoint_then_resume_finishes(
    tmp_path: Path, signum: int
) -> None:
    """The signal reaches the command only (a scheduler's SIGTERM; or Ctrl-C, which a terminal would also send
    to the processes): it stops them after their step, rank 0 writes last.pt, the status is the signal's,
    and --resume auto finishes the run."""
    out = tmp_path / "run"
    command = train_command(out, *TWO, "--fake-images", "1024")
    process = subprocess.Popen(command, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _started(process, out / "metrics.jsonl")
    process.send_signal(signum)
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr
    assert "resume with --resume auto" in stdout
    assert (out / "checkpoints" / "last.pt").is_file()
    assert not (out / "model.pt").exists()
    resumed = subprocess.run([*command, "--resume", "auto"], env=env(), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (out / "model.pt").is_file()


@pytest.mark.extended
def test_a_killed_process_ends_the_run_with_one_line(tmp_path: Path) -> None:
    """A process killed from outside (as by the kernel's out-of-memory killer): the other is stopped, the
    command names what happened, exit 2, no traceback."""
    out = tmp_path / "run"
    process = subprocess.Popen(
        train_command(out, *TWO, "--fake-images", "2048"),
        env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _started(process, out / "metrics.jsonl")
    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    workers = [int(pid) for pid in children if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text()]
    os.kill(workers[-1], signal.SIGKILL)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 2, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert "killed by signal 9" in stderr
