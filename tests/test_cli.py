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
