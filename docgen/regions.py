"""Generated regions inside hand-written Markdown: the markers, and filling them in."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

_REGION = re.compile(
    r"<!-- begin generated: (?P<name>[\w-]+) \(make docs\) -->\n(?P<body>.*?)<!-- end generated: (?P=name) -->",
    flags=re.DOTALL,
)
_BEGIN = re.compile(r"<!-- begin generated: ([\w-]+)")


class DocsError(Exception):
    """A document does not hold the regions its generator fills (one line, for the command line)."""


def begin_marker(name: str) -> str:
    return f"<!-- begin generated: {name} (make docs) -->"


def end_marker(name: str) -> str:
    return f"<!-- end generated: {name} -->"


def fill(text: str, regions: Mapping[str, str], path: Path) -> str:
    """``text`` with the body of every region replaced by ``regions[name]``. Every region named must be
    in the text exactly once, closed by its end marker, and every region in the text must be named."""
    opened = _BEGIN.findall(text)
    closed = [match["name"] for match in _REGION.finditer(text)]
    if opened != closed:
        unclosed = sorted(set(opened) - set(closed)) or sorted(opened)
        raise DocsError(f"{path}: region {unclosed[0]!r} has no '{end_marker(unclosed[0])}' after it")
    duplicated = sorted({name for name in closed if closed.count(name) > 1})
    missing, unknown = sorted(set(regions) - set(closed)), sorted(set(closed) - set(regions))
    if duplicated or missing or unknown:
        problem = (
            f"region {duplicated[0]!r} appears twice"
            if duplicated
            else f"has no region {missing[0]!r}: add '{begin_marker(missing[0])}' and '{end_marker(missing[0])}'"
            if missing
            else f"region {unknown[0]!r} has no generator in docgen"
        )
        raise DocsError(f"{path}: {problem}")

    def body(match: re.Match[str]) -> str:
        content = regions[match["name"]].rstrip("\n") + "\n"
        return f"{begin_marker(match['name'])}\n{content}{end_marker(match['name'])}"

    return _REGION.sub(body, text)
