"""Unusual but valid inputs get the right result (the hostile ones are refused in tests/test_hostile.py)."""

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from PIL import Image

from squeezenext.accel.cost import simulate
from squeezenext.cli import main
from squeezenext.deploy.predictor import Predictor
from squeezenext.fileio import parse_yaml
from squeezenext.search.objectives import Constraint
from squeezenext.search.report import write_search
from squeezenext.search.request import SearchRequest
from squeezenext.search.run import run_search
from squeezenext.search.space import HardwareSpace, NetworkSpace
from squeezenext.sources import load_workload


def test_yaml_reads_exponents_without_a_dot_as_numbers() -> None:
    """YAML 1.1 reads 1e-3 as a string; the command line and YAML 1.2 read a number, and so do we."""
    values = parse_yaml("a: 1e-3\nb: 2E5\nc: -3e2\nd: 1.5e-3\ne: 10\nf: 1e3x\n", "test", ValueError)
    assert values == {"a": 0.001, "b": 200000.0, "c": -300.0, "d": 0.0015, "e": 10, "f": "1e3x"}


def test_sixteen_bit_and_float_images_are_scaled_not_clipped(trained: Path, tmp_path: Path) -> None:
    grey = np.random.default_rng(0).integers(0, 256, (32, 32)).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "eight.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(tmp_path / "sixteen.png")
    Image.fromarray(grey.astype(np.float32) / 255).save(tmp_path / "float.tiff")
    predictor = Predictor(trained)
    eight, sixteen, floating = predictor.logits(
        [tmp_path / name for name in ("eight.png", "sixteen.png", "float.tiff")]
    )
    assert np.allclose(eight, sixteen, atol=1e-5) and np.allclose(eight, floating, atol=1e-5)
    from_array = predictor.logits([grey.astype(np.uint16) * 257, grey.astype(np.float64) / 255])
    assert np.allclose(from_array, [eight, eight], atol=1e-5)


def test_a_fixed_batch_export_with_int8_verifies_calibrates_and_predicts(
    trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch that is neither the 16 verification images nor the calibration batch of 32."""
    out = tmp_path / "m.onnx"
    argv = ["export", str(trained), "--out", str(out), "--batch", "20", "--int8", "--calibration-images", "50"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "same class as fp32 on" in printed and "the two agree on" in printed, printed
    for path in (out, tmp_path / "m.int8.onnx"):
        assert ort.InferenceSession(str(path)).get_inputs()[0].shape[0] == 20
    image = tmp_path / "x.png"
    Image.new("L", (32, 32), 90).save(image)
    capsys.readouterr()
    assert main(["predict", str(image), str(image), "--model", str(out), "--top-k", "1"]) == 0
    assert capsys.readouterr().out.count(str(image)) == 2


def test_the_python_api_takes_what_the_command_line_takes() -> None:
    layers = load_workload("sqnxt23_w1", input_size=227).layers
    assert sum(c.cycles for c in simulate(layers, "array-16x16")) > 0
    request = SearchRequest(constraints=("params<=1e6",))  # type: ignore[arg-type]
    assert request.constraints == (Constraint("params", "<=", 1e6),)


def test_a_large_pe_budget_keeps_the_arrays_the_cost_model_takes() -> None:
    shapes = HardwareSpace(pe_budget=10**8).shapes()
    assert (10_000, 10_000) in shapes and all(max(shape) <= 2**16 for shape in shapes)
    assert HardwareSpace().shapes() == [(r, 256 // r) for r in (2, 4, 8, 16, 32, 64, 128)]


def test_a_front_written_again_drops_the_specs_of_points_it_no_longer_has(tmp_path: Path) -> None:
    space = NetworkSpace(total_blocks=5, max_blocks=2, stem_kernels=(5,), v5_wirings=(False,))
    result = run_search(SearchRequest(network_space=space, objectives=("time",)))
    (tmp_path / "specs").mkdir()
    stale = tmp_path / "specs" / "front-099.yaml"
    stale.write_text("blocks: [1, 1, 1, 1]\n")
    write_search(result, tmp_path)
    assert not stale.exists() and (tmp_path / "specs" / "front-001.yaml").exists()


def test_an_sqlite_storage_is_locked_without_a_file_beside_it(tmp_path: Path) -> None:
    out, storage = tmp_path / "s", tmp_path / "shared.db"
    argv = ["search", "--sampler", "nsga2", "--trials", "3", "--storage", f"sqlite:///{storage}", "--out", str(out)]
    assert main(argv) == 0
    assert storage.read_bytes().startswith(b"SQLite format 3\x00")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s", "shared.db"]


def test_a_cfg_bandwidth_under_calc_is_named_as_unused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SCALE-Sim ignores Bandwidth when InterfaceBandwidth is CALC; so do we, and the note says so."""
    from squeezenext.accel.scalesim_cfg import read_cfg_fields

    cfg = tmp_path / "calc.cfg"
    cfg.write_text(
        "[architecture_presets]\nArrayHeight: 8\nArrayWidth: 8\nIfmapSramSzkB: 64\nFilterSramSzkB: 64\n"
        "OfmapSramSzkB: 64\nDataflow: ws\nBandwidth: 0\n"
    )
    fields, ignored = read_cfg_fields(cfg)
    assert fields["dram_bandwidth"] > 1e6 and ignored == ["Bandwidth (InterfaceBandwidth is CALC)"]


def test_a_cpu_kind_placeholder_still_names_the_kind(tmp_path: Path) -> None:
    from squeezenext.machine import CPU_KIND_PLACEHOLDER, cpu_kind, with_cpu_kind

    assert with_cpu_kind(tmp_path / f"p-{CPU_KIND_PLACEHOLDER}.yaml") == tmp_path / f"p-{cpu_kind()}.yaml"
