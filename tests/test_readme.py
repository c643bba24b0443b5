"""The README works as written: every `squeezenext ...` line of its shell blocks and every Python block run
here, in a scratch folder, with small stand-ins only where a line trains or benchmarks (fewer images, one
epoch, one tiny benchmark case) or needs a file a user brings (a photo, a downloaded checkpoint)."""

import re
import shlex
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image

from squeezenext.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
TRAIN_STAND_IN = [
    "--epochs", "1", "--train-subset", "256", "--test-subset", "128", "--batch-size", "32", "--progress", "false",
]  # fmt: skip
"""Appended to every `squeezenext train` line: the same command on a slice of the data, at the config's own input
size (the ImageNet recipe's two steps at 64x64 left BatchNorm's running statistics so far from the activations
that the eval-mode logits overflowed: a NaN test loss, correctly refused as divergence)."""
BENCH_STAND_IN = [
    "--models", "sqnxt23_w1", "--backends", "eager,onnxruntime", "--batch", "1", "--input-size", "32",
    "--min-seconds", "0.01", "--rounds", "1",
]  # fmt: skip
NOT_RUN_HERE = ("make ", "torchrun ")
"""Set-up commands (CI runs `make test` itself) and multi-process launches (tests/test_train_distributed.py)."""
MAKE_RUN = "squeezenext train --config configs/fashion_mnist.yaml"
"""What `make run` runs (the Makefile), run here with the training stand-in so later lines have its model."""


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def _shell_lines() -> list[str]:
    lines = [line for block in _blocks("sh") for line in block.splitlines() if line.strip()]
    assert all(line.startswith(("squeezenext ", *NOT_RUN_HERE)) for line in lines), lines
    lines = [MAKE_RUN if line.startswith("make run") else line for line in lines]
    return [line for line in lines if line.startswith("squeezenext ")]


def _expanded(argv: list[str]) -> list[str]:
    """The shell's glob expansion of ``argv``."""
    return [match for arg in argv for match in (sorted(str(p) for p in Path().glob(arg)) if "*" in arg else [arg])]


def _stand_in(argv: list[str], scratch: Path) -> list[str]:
    if argv[0] == "train":
        argv = [a.replace("imagefolder:/data/imagenet", f"imagefolder:{_tiny_imagenet(scratch)}") for a in argv]
        return [*argv, *TRAIN_STAND_IN]
    if argv[0] == "bench":
        return [*argv, *BENCH_STAND_IN]
    return argv


def _tiny_imagenet(scratch: Path) -> Path:
    root = scratch / "imagenet"
    for split, count in (("train", 40), ("val", 4)):
        for index, colour in enumerate(((200, 30, 30), (30, 30, 200))):
            folder = root / split / f"n0000000{index}"
            folder.mkdir(parents=True, exist_ok=True)
            for number in range(count):
                Image.new("RGB", (80, 72), colour).save(folder / f"{number}.jpg")
    return root


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder laid out like a clone (configs/, docs/samples/, hubconf.py), as the working directory, with a
    shared data cache."""
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    shutil.copytree(ROOT / "docs" / "samples", tmp_path / "docs" / "samples")
    shutil.copy(ROOT / "hubconf.py", tmp_path / "hubconf.py")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SQUEEZENEXT_DATA", str(tmp_path_factory.getbasetemp() / "readme-data"))
    return tmp_path


@pytest.mark.extended
def test_every_readme_command_runs_as_written(scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Image.new("L", (28, 28), 90).save(scratch / "shirt.png")  # the user's photo
    lines = _shell_lines()
    assert any(line.startswith("squeezenext train") for line in lines)
    for line in lines:
        argv = _stand_in(_expanded(shlex.split(line, comments=True)[1:]), scratch)
        status = main(argv)
        captured = capsys.readouterr()
        assert status == 0, f"{line}\n{captured.err}"
    assert (scratch / "model.int8.onnx").exists() and (scratch / "runs" / "study" / "REPORT.md").exists()


def test_every_readme_python_block_runs_as_written(
    scratch: Path, trained: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `make run` (its model: a small trained stand-in) and with pytorchcv's download stood in for by the
    same architecture's freshly initialized weights (the suite runs offline)."""
    from pytorchcv.models.squeezenext import sqnxt23v5_w1

    from squeezenext import pretrained

    (scratch / "runs" / "fashion_mnist").mkdir(parents=True)
    shutil.copy(trained, scratch / "runs" / "fashion_mnist" / "model.pt")
    torch.save(sqnxt23v5_w1().state_dict(), scratch / "download.pth")
    monkeypatch.setattr(pretrained, "fetch", lambda entry, **options: scratch / "download.pth")
    blocks = _blocks("python")
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})
