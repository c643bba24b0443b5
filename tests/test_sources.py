"""Network arguments: one parser (``squeezenext.sources``) for every form, and nothing else reads them."""

import ast
import dataclasses
import re
from pathlib import Path

import pytest

from squeezenext import get_spec
from squeezenext.cli import main
from squeezenext.errors import ModelError
from squeezenext.sources import (
    ALL_KINDS,
    MODULE_KINDS,
    SQUEEZENEXT_KINDS,
    SourceKind,
    network_help,
    parse_network,
)
from squeezenext.specfile import write_spec_file
from squeezenext.workload import total_macs

SOURCE = Path(__file__).resolve().parents[1] / "src" / "squeezenext"
PARSERS = {"sources.py", "specfile.py", "hardware.py"}
"""The modules allowed to look at a prefix or suffix: the network parser, the spec-file format, and the parser of
the other argument kind, ``--hardware`` (a preset name or a YAML file)."""
NETWORK_MARKERS = {"torchvision:", "pytorchcv:", ".pt", ".onnx", ".csv", ".yaml", ".yml"}
MARKER_NAMES = {"TORCHVISION_PREFIX", "PYTORCHCV_PREFIX", "SPEC_SUFFIXES"}


def _spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "mine.yaml"
    write_spec_file(dataclasses.replace(get_spec("sqnxt23v5_w1"), name="mine"), path)
    return path


def _marker(node: ast.AST) -> bool:
    """Whether an expression is a network prefix or suffix: a literal one or one of the parser's constants."""
    if isinstance(node, ast.Constant):
        return node.value in NETWORK_MARKERS
    if isinstance(node, ast.Tuple):
        return any(_marker(element) for element in node.elts)
    return isinstance(node, ast.Name) and node.id in MARKER_NAMES


def _sniffs(node: ast.AST) -> bool:
    """``x.startswith/endswith(marker)``, ``x.suffix == marker`` or ``marker in x``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return node.func.attr in ("startswith", "endswith", "removeprefix") and any(map(_marker, node.args))
    if isinstance(node, ast.Compare):
        return any(map(_marker, [node.left, *node.comparators]))
    return False


def test_only_the_parser_reads_prefixes_and_suffixes() -> None:
    found = [
        f"{path.relative_to(SOURCE)}:{getattr(node, 'lineno', 0)}"
        for path in SOURCE.rglob("*.py")
        if path.name not in PARSERS
        for node in ast.walk(ast.parse(path.read_text()))
        if _sniffs(node)
    ]
    assert found == []


def test_the_sniffing_check_finds_a_planted_suffix_test() -> None:
    assert _sniffs(ast.parse("name.lower().endswith('.onnx')").body[0].value)  # type: ignore[attr-defined]
    assert _sniffs(ast.parse("path.suffix == '.pt'").body[0].value)  # type: ignore[attr-defined]
    assert _sniffs(ast.parse("name.startswith(TORCHVISION_PREFIX)").body[0].value)  # type: ignore[attr-defined]
    assert not _sniffs(ast.parse("name.startswith('sqnxt')").body[0].value)  # type: ignore[attr-defined]


def test_every_kind_is_recognized(tmp_path: Path, trained: Path) -> None:
    spec_file = _spec_file(tmp_path)
    csv = tmp_path / "t.csv"
    assert main(["simulate", "sqnxt23_w1", "--write-topology", str(csv)]) == 0
    onnx = tmp_path / "m.onnx"
    assert main(["export", "sqnxt23_w1", "--out", str(onnx), "--input-size", "32"]) == 0
    cases = {
        "1.0-SQNXT-23": SourceKind.NAME,
        str(spec_file): SourceKind.SPEC_FILE,
        "torchvision:squeezenet1_0": SourceKind.TORCHVISION,
        "pytorchcv:sqnxt23_w1": SourceKind.PYTORCHCV,
        str(trained): SourceKind.CHECKPOINT,
        str(onnx): SourceKind.ONNX,
        str(csv): SourceKind.SCALESIM_CSV,
    }
    pytest.importorskip("pytorchcv")
    for argument, kind in cases.items():
        assert parse_network(argument).kind is kind, argument
    assert parse_network(get_spec("sqnxt23_w1")).kind is SourceKind.SPEC
    assert parse_network("1.0-sqnxt-23").name == "sqnxt23_w1"
    assert parse_network(spec_file).architecture().name == "mine"


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("sqnxt23_v1", r"unknown model 'sqnxt23_v1'\. Did you mean"),
        ("torchvision:nonet", r"unknown torchvision model 'nonet'"),
        ("missing.onnx", r"ONNX file missing\.onnx does not exist"),
        ("missing.yaml", r"spec file missing\.yaml does not exist"),
    ],
)
def test_a_bad_argument_is_refused_when_parsed(argument: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        parse_network(argument)


def test_a_file_of_unknown_kind_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "weights.pth"
    weights.write_bytes(b"x")
    with pytest.raises(ModelError, match=r"weights\.pth: a network file is one of .*\.onnx"):
        parse_network(weights)


def test_a_kind_a_command_cannot_use_names_what_it_takes(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
    )
    with pytest.raises(ModelError, match=r"export takes a registered or paper name .*; .*t\.csv is a SCALE-Sim"):
        parse_network(csv, MODULE_KINDS, purpose="export")
    with pytest.raises(ModelError, match="not a SqueezeNext architecture"):
        parse_network("torchvision:alexnet").architecture()


def test_help_is_generated_from_the_kinds() -> None:
    assert "spec file (.yaml)" in network_help()
    assert "SqueezeNextSpec" not in network_help(ALL_KINDS)
    assert network_help(SQUEEZENEXT_KINDS) == "a registered or paper name (any letter case), a spec file (.yaml)"


def test_simulate_help_mentions_spec_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--help"]) == 0
    assert "spec file (.yaml)" in " ".join(capsys.readouterr().out.split())


def test_a_spec_and_its_registered_name_give_the_same_workload(tmp_path: Path) -> None:
    by_name = parse_network("sqnxt23v5_w1").workload(227)
    by_file = parse_network(_spec_file(tmp_path)).workload(227)
    by_object = parse_network(get_spec("sqnxt23v5_w1")).workload(227)
    assert total_macs(by_name.layers) == total_macs(by_file.layers) == total_macs(by_object.layers)
    assert by_name.params == by_file.params == by_object.params


def test_export_takes_a_spec_file(tmp_path: Path) -> None:
    out = tmp_path / "mine.onnx"
    assert main(["export", str(_spec_file(tmp_path)), "--out", str(out), "--input-size", "32"]) == 0
    assert out.is_file()


def test_a_fixed_size_file_refuses_another_input_size(tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    assert main(["simulate", "sqnxt23_w1", "--write-topology", str(csv)]) == 0
    with pytest.raises(ModelError, match=r"fixed layer sizes; drop --input-size 224"):
        parse_network(csv).workload(224)
    onnx = tmp_path / "m.onnx"
    assert main(["export", "sqnxt23_w1", "--out", str(onnx), "--input-size", "32", "--batch", "1"]) == 0
    assert parse_network(onnx).workload().input_size == 32
    with pytest.raises(ModelError, match=r"m\.onnx takes 32x32 images only; drop --input-size 64"):
        parse_network(onnx).workload(64)


def test_a_checkpoint_is_traced_at_the_size_asked(trained: Path) -> None:
    own = parse_network(trained).workload()
    larger = parse_network(trained).workload(2 * own.input_size)
    assert larger.input_size == 2 * own.input_size
    assert total_macs(larger.layers) > total_macs(own.layers)


def test_the_python_example_of_the_doc_runs_as_written() -> None:
    doc = (SOURCE.parents[1] / "docs" / "networks.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.DOTALL)
    assert len(blocks) == 1
    exec(compile(blocks[0], "docs/networks.md", "exec"), {})
