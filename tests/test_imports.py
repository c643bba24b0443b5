"""The package's import graph, read from the source: no cycles, and the layers' rules.

Every ``import`` of a ``squeezenext`` module counts, also one inside a function (a lazy import is still a
dependency); imports under ``if TYPE_CHECKING:`` do not (they never run).
"""

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "squeezenext"
FORBIDDEN = {"accel": ("deploy", "train"), "deploy": ("train",), "search": ()}
"""Layer -> the layers it must not import: the cost model knows nothing of deployment or training, and
deployment nothing of training."""
COMMAND_LINE = "commands"
"""``<layer>.commands`` modules are the command line of their layer: the application, which composes the
libraries (``export`` calibrates int8 on the training data set), as ``cli`` does. The rules bind the libraries."""


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _type_checking_blocks(tree: ast.Module) -> set[int]:
    """Line numbers of statements under ``if TYPE_CHECKING:``."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``squeezenext`` modules it imports (names relative to the package)."""
    modules = {_module_name(path): path for path in SOURCE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        skipped = _type_checking_blocks(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.lineno not in skipped:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import) and node.lineno not in skipped:
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                relative = target.removeprefix("squeezenext.")
                if target.startswith("squeezenext.") and relative in modules and relative != name:
                    graph[name].add(relative)
    return graph


def test_the_graph_is_read_from_the_source() -> None:
    graph = import_graph()
    assert "deploy.timing" in graph["deploy.bench"] and "accel.cost" in graph["search.evaluate"]
    assert "torch" not in {m for targets in graph.values() for m in targets}


def test_the_import_graph_has_no_cycles() -> None:
    graph = import_graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_layers_import_only_what_they_may() -> None:
    violations = {
        (module, target)
        for module, targets in import_graph().items()
        for target in targets
        for layer, forbidden in FORBIDDEN.items()
        if module.split(".")[0] == layer and module.split(".")[-1] != COMMAND_LINE and target.split(".")[0] in forbidden
    }
    assert violations == set(), "an import across the layers"
