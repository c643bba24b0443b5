"""The command line: list and info, tables and JSON, and clear errors."""

import json
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from squeezenext.cli import main
from squeezenext.registry import list_models

LAYER_KEYS = {
    "name",
    "type",
    "in_channels",
    "out_channels",
    "kernel",
    "stride",
    "padding",
    "groups",
    "in_hw",
    "out_hw",
    "params",
    "macs",
}


def test_list_prints_every_variant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in list_models():
        assert name in out
    row = next(line for line in out.splitlines() if line.startswith("sqnxt23_w1 "))
    assert "717,280" in row and "278.0M" in row and "yes" in row
    assert "UNVERIFIED" in next(line for line in out.splitlines() if line.startswith("sqnxt23v3_w1"))


def test_info_json_has_the_documented_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "1.0-SqNxt-23", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["params"] == 717_280
    assert payload["macs"] == 277_999_808
    assert all(set(layer) == LAYER_KEYS for layer in payload["layers"])
    assert payload["layers"][0]["kernel"] == [7, 7]
    assert payload["layers"][0]["out_hw"] == [111, 111]
    assert sum(layer["macs"] for layer in payload["layers"]) == payload["macs"]


def test_info_table_for_torchvision_and_other_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "torchvision:squeezenet1_1", "--input-size", "224"]) == 0
    out = capsys.readouterr().out
    assert "features.0" in out and "classifier.1" in out
    assert main(["info", "sqnxt23v5_w1", "--input-size", "32", "--stem", "small", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["layers"][0]["in_hw"] == [32, 32]


def test_info_pytorchcv_flavor(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "sqnxt23_w1", "--flavor", "pytorchcv", "--input-size", "224", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params_numel"] == 724_056


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["info", "nonet"], "unknown model 'nonet'"),
        (["info", "sqnxt23_w1", "--input-size", "8"], "too small"),
        (["info", "sqnxt44_w1", "--flavor", "pytorchcv"], "exists only"),
    ],
)
def test_errors_exit_2_with_a_message(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_console_script_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "squeezenext.cli", "info", "sqnxt23g_w1"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "543,072 parameters" in result.stdout


def test_torch_hub_entry_points() -> None:
    repo = Path(__file__).resolve().parents[1]
    model = torch.hub.load(str(repo), "sqnxt23v5_w1", source="local", num_classes=10)  # type: ignore[no-untyped-call]
    assert model.fc.out_features == 10
    entries = runpy.run_path(str(repo / "hubconf.py"))
    assert all(callable(entries[name]) for name in list_models())


def test_python_dash_m_and_help_describe_every_command() -> None:
    done = subprocess.run([sys.executable, "-m", "squeezenext", "--help"], capture_output=True, text=True, check=True)
    for command in ("list", "info", "simulate", "study", "search", "train", "eval", "export", "predict", "bench"):
        assert command in done.stdout


def test_train_help_lists_every_configuration_key_with_type_and_default(capsys: pytest.CaptureFixture[str]) -> None:
    from squeezenext.train.config import FIELD_HELP, field_names

    assert set(FIELD_HELP) == set(field_names())
    assert main(["train", "--help"]) == 0
    out = capsys.readouterr().out
    for name in field_names():
        assert f"--{name.replace('_', '-')} " in out
    assert "--batch-size int (128)" in out and "--amp none|auto|bf16|fp16 ('none')" in out


def test_data_goes_to_the_cache_not_the_working_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from squeezenext.train.config import default_data_root

    monkeypatch.setenv("SQUEEZENEXT_DATA", str(tmp_path / "mine"))
    assert default_data_root() == tmp_path / "mine"
    monkeypatch.delenv("SQUEEZENEXT_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_data_root() == tmp_path / "cache" / "squeezenext" / "data"


def test_overridden_hardware_is_named_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "sqnxt23_w1", "--rows", "8", "--cols", "4"]) == 0
    assert "on array-16x16 with rows=8, cols=4 (8x4 PEs" in capsys.readouterr().out


def test_info_names_the_flavor(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "sqnxt23_w1", "--flavor", "pytorchcv", "--input-size", "224"]) == 0
    assert "sqnxt23_w1 (pytorchcv flavor) at 224x224" in capsys.readouterr().out


def test_import_squeezenext_loads_no_data_image_onnx_or_plotting_library() -> None:
    code = (
        "import sys, squeezenext; heavy = ('torchvision.datasets', 'PIL', 'onnx', 'onnxruntime', 'matplotlib');"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib import metadata

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"squeezenext {metadata.version('squeezenext')}"


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["--version"],
        ["list"],
        ["info", "sqnxt23_w1"],
        ["simulate", "1.0-SqNxt-23v5"],
        ["info", str(Path(__file__).resolve().parents[1] / "docs" / "search" / "specs" / "front-001.yaml")],
    ],
)
def test_light_commands_do_not_import_torch(argv: list[str]) -> None:
    """The specs, workloads and cost model are pure Python and NumPy: these commands start in a fraction of a
    second (timed in benchmarks/cli_startup.py, not here)."""
    code = (
        "import sys; from squeezenext.cli import main; status = main(sys.argv[1:]);"
        "heavy = [m for m in ('torch', 'torchvision', 'onnx', 'matplotlib', 'PIL') if m in sys.modules];"
        "sys.exit(f'imported {heavy}' if heavy else status)"
    )
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_info_and_simulate_take_a_checkpoint_and_its_exports_alike(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fp32 = tmp_path / "m.onnx"
    assert main(["export", str(trained), "--out", str(fp32), "--int8", "--calibration-images", "16", "--no-eval"]) == 0
    capsys.readouterr()
    layers = {}
    for source in (trained, fp32, tmp_path / "m.int8.onnx"):
        assert main(["info", str(source), "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert main(["simulate", str(source), "--json"]) == 0
        simulated = json.loads(capsys.readouterr().out)
        assert [layer["name"] for layer in info["layers"]] == [layer["name"] for layer in simulated["layers"]]
        layers[source] = [(layer["name"], layer["macs"], layer["in_hw"]) for layer in info["layers"]]
    assert layers[trained] == layers[fp32] == layers[tmp_path / "m.int8.onnx"]
    assert layers[trained][0] == ("stem.conv", 32 * 32 * 64 * 27, [32, 32])
