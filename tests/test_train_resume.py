"""A run killed with SIGKILL and resumed ends with the same weights as an uninterrupted run."""

import json
import subprocess
import time
from pathlib import Path

import pytest
import torch

from train_helpers import env, run_train, train_command, weights


def _step_of(path: Path) -> int:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["global_step"])
    except Exception:  # being replaced right now
        return -1


@pytest.mark.extended
def test_sigkill_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    reference = run_train(tmp_path / "reference", "--checkpoint-every", "3")
    assert reference.returncode == 0, reference.stderr

    out = tmp_path / "killed"
    process = subprocess.Popen(train_command(out, "--checkpoint-every", "3"), env=env())
    last = out / "checkpoints" / "last.pt"
    deadline = time.monotonic() + 300
    while not (last.exists() and _step_of(last) >= 6):
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.kill()
    process.wait()
    killed_at = _step_of(last)
    assert 6 <= killed_at < 64
    assert not (out / "model.pt").exists()

    resumed = run_train(out, "--checkpoint-every", "3", "--resume", "auto")
    assert resumed.returncode == 0, resumed.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["steps"] == 64 and results["steps_this_session"] == 64 - killed_at, "it continued, not restarted"
    expected, actual = weights(tmp_path / "reference" / "model.pt"), weights(out / "model.pt")
    assert expected.keys() == actual.keys()
    for name in expected:
        assert torch.equal(expected[name], actual[name]), name
