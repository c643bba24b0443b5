"""The light installs (README, "Installs"): the base install runs the cost model, the study and the search without
PyTorch or onnxruntime, the ``[deploy]`` install predicts with an ONNX model without PyTorch, and a command that needs
an extra names it in one line. Each command runs in a fresh interpreter where the missing packages cannot be
imported (``None`` in ``sys.modules``, as Python does for a blocked import); ``test_base_install_in_a_venv`` (extended
tier) installs the base into a real venv."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from squeezenext.deploy.predictor import Predictor
from squeezenext.eval_transform import eval_transform
from squeezenext.preprocessing import Preprocessing
from squeezenext.recorded import RECORDED_SIZES, recorded_workload
from squeezenext.sources import parse_network
from squeezenext.transforms import build_transforms

ROOT = Path(__file__).resolve().parents[1]
TORCH = ("torch", "torchvision", "onnxscript", "onnxconverter_common")
BASE_MISSING = (*TORCH, "onnxruntime", "openvino", "executorch")
DEPLOY_MISSING = (*TORCH, "openvino", "executorch")


def _run(missing: tuple[str, ...], *argv: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"for name in {missing!r}: sys.modules[name] = None\n"
        "from squeezenext.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    return subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=600)


def test_the_base_install_runs_the_cost_model_the_study_and_the_search(tmp_path: Path) -> None:
    spec = tmp_path / "net.yaml"
    spec.write_text("blocks: [2, 4, 14, 1]\nwidth: 0.5\n")
    topology, cfg = (
        ROOT / "tests" / "data" / "scalesim" / "alexnet.csv",
        ROOT / "tests" / "data" / "scalesim" / "scale.cfg",
    )
    for argv in (
        ["list"], ["info", "sqnxt23v5_w1"], ["info", str(spec)], ["info", str(topology)],
        ["info", "torchvision:alexnet"],
        ["simulate", str(spec), "--hardware", "array-8x8"], ["simulate", str(topology), "--hardware", str(cfg)],
        ["search", "--base", "sqnxt23v5_w1", "--space", "hardware", "--out", str(tmp_path / "search")],
    ):  # fmt: skip
        done = _run(BASE_MISSING, *argv)
        assert done.returncode == 0, (argv, done.stderr)
    assert "1,136,239 cycles" in _run(BASE_MISSING, "simulate", str(topology), "--hardware", str(cfg)).stdout
    done = _run(BASE_MISSING, "study", "--out", str(tmp_path / "study"))
    assert done.returncode == 0, done.stderr
    committed = json.loads((ROOT / "docs" / "study" / "results.json").read_text())
    assert json.loads((tmp_path / "study" / "results.json").read_text()) == committed


@pytest.mark.parametrize(
    ("argv", "extra"),
    [
        (["train", "--epochs", "1"], "torch"),
        (["export", "sqnxt23_w1", "--out", "m.onnx"], "torch"),
        (["info", "torchvision:resnet18"], "torch"),
        (["bench", "--models", "sqnxt23_w1"], "torch"),
    ],
    ids=["train", "export", "unrecorded-peer", "bench"],
)
def test_a_command_that_needs_an_extra_names_it_in_one_line(argv: list[str], extra: str, tmp_path: Path) -> None:
    done = _run(BASE_MISSING, *argv)
    lines = done.stderr.splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].endswith(f"install it with: pip install 'squeezenext[{extra}]'"), lines[0]


def test_an_unrecorded_size_of_a_peer_names_the_extra() -> None:
    done = _run(BASE_MISSING, "info", "torchvision:alexnet", "--input-size", "100")
    assert done.returncode == 2 and "recorded without it: the study's peers at 224 and 227" in done.stderr


def test_predict_with_an_onnx_model_needs_no_torch(trained: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    from squeezenext.cli import main

    assert main(["export", str(trained), "--out", str(model)]) == 0
    samples = sorted(str(p) for p in (ROOT / "docs" / "samples").glob("*.png"))
    done = _run(DEPLOY_MISSING, "predict", *samples, "--model", str(model), "--json")
    assert done.returncode == 0, done.stderr
    without_torch = json.loads(done.stdout)
    with_torch = Predictor(model).predict(samples, top_k=5)
    for theirs, ours in zip(without_torch, with_torch, strict=True):
        assert theirs["labels"][0] == ours.labels[0]
        assert np.allclose(theirs["probabilities"], ours.probabilities, atol=1e-4)


def test_the_recorded_peers_equal_a_fresh_trace() -> None:
    for argument in ("torchvision:squeezenet1_0", "torchvision:mobilenet_v2"):
        for size in RECORDED_SIZES:
            recorded, traced = recorded_workload(argument, size), parse_network(argument).workload(size)
            assert recorded is not None
            assert (recorded.layers, recorded.params, recorded.params_numel) == (
                traced.layers, traced.params, traced.params_numel
            )  # fmt: skip


@pytest.mark.parametrize("kind", ["small", "paper", "imagenet"])
def test_the_numpy_eval_transform_matches_torchvision(kind: str) -> None:
    """float rounding on small; at most one 8-bit step on the others, whose resize works on 8-bit pixels."""
    mean, std = (
        ((104.0, 117.0, 123.0), (1.0, 1.0, 1.0)) if kind == "paper" else ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
    )
    size = 32 if kind == "small" else 227 if kind == "paper" else 224
    preprocessing = Preprocessing(kind, size, 3, mean, std, scale_to_unit=kind != "paper")
    torch_eval = build_transforms(kind, size, mean, std, repeat_grey=False)[1]
    rng = np.random.default_rng(0)
    step = 1.0 if kind == "paper" else 1 / 255 / min(std)
    for shape in ((40, 52), (300, 280), (32, 32), (500, 375)):
        image = Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8))
        ours, theirs = eval_transform(preprocessing, False)(image), torch_eval(image, 0).numpy()
        assert ours.shape == theirs.shape
        tolerance = 1e-4 if kind == "small" else step * 1.01
        assert np.abs(ours - theirs).max() <= tolerance, (shape, np.abs(ours - theirs).max())


@pytest.mark.extended
def test_base_install_in_a_venv(tmp_path: Path) -> None:
    """pip installs the base (no extras) into a fresh venv: no torch there, and the study runs."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, str(ROOT)], check=True, timeout=1200)
    python = str(venv / "bin" / "python")
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u; print(u.find_spec('torch'))"], capture_output=True, text=True
    )
    assert probe.stdout.strip() == "None"
    done = subprocess.run(
        [str(venv / "bin" / "squeezenext"), "study", "--out", str(tmp_path / "study")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
