"""Network spec files: a SqueezeNext architecture as YAML, accepted wherever a network name is.

A spec file carries the fields of :class:`~squeezenext.specs.SqueezeNextSpec` by their names::

    blocks: [1, 5, 14, 1]     # blocks per stage (required)
    width: 1.0                # width multiplier
    stem_kernel: 3            # k x k stride-2 stem (standard stem)
    groups: 1                 # groups of reduce1 and the separable pair (1.0-G-SqNxt-23: 2)
    v5_wiring: true           # the first block of a stage feeds the projected shortcut into its branch
    stem_channels: 64
    head_channels: 128
    name: my-net              # optional; default: the file name
    note: "..."               # optional, shown by info

``squeezenext search`` writes one per front point; ``create_model`` and every command that takes a network
(:mod:`squeezenext.sources`) take the path. A spec file is never a published
definition, so it is labelled UNVERIFIED everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from squeezenext.errors import ModelError
from squeezenext.fileio import atomic_write_text, read_yaml
from squeezenext.specs import Provenance, SqueezeNextSpec
from squeezenext.typedconfig import from_mapping
from squeezenext.yamlkinds import SPEC, yaml_kind

SPEC_SUFFIXES = (".yaml", ".yml")
SPEC_KEYS = ("blocks", "width", "stem_kernel", "groups", "v5_wiring", "stem_channels", "head_channels")
"""Architecture fields a spec file may give (``blocks`` is required), besides ``name`` and ``note``."""
LABEL_KEYS = ("name", "note")


def is_yaml_file(name: str) -> bool:
    """Whether a file name is a YAML file's (spec files, hardware files and CPU latency profiles are YAML)."""
    return isinstance(name, str) and name.lower().endswith(SPEC_SUFFIXES)


def is_spec_file(name: str) -> bool:
    """Whether a network argument names a spec file (by its suffix)."""
    return is_yaml_file(name)


def spec_from_mapping(data: Any, source: str) -> SqueezeNextSpec:
    """A spec from a spec file's mapping; unknown keys, wrong types and invalid shapes name ``source``."""
    if not isinstance(data, dict):
        raise ModelError(f"{source}: expected a mapping with {', '.join(SPEC_KEYS)}, got {type(data).__name__}")
    unknown = sorted(str(key) for key in data if key not in (*SPEC_KEYS, *LABEL_KEYS))
    kind = yaml_kind(data)
    if unknown and kind not in (None, SPEC):
        raise ModelError(f"{source} is {kind}, not a network spec file (blocks, width, ...)")
    if unknown:
        raise ModelError(
            f"{source}: unknown key(s) {', '.join(unknown)}; a spec file gives {', '.join((*SPEC_KEYS, *LABEL_KEYS))}"
        )
    values = dict(data)
    name = str(values.pop("name", Path(source).stem))
    blocks = values.get("blocks")
    depth = sum(blocks) + 2 if isinstance(blocks, list) and all(isinstance(b, int) for b in blocks) else "?"
    values.update(
        name=name,
        paper_name=f"{values.get('width', 1.0)}-SqNxt-{depth} ({name})",
        provenance=Provenance.UNVERIFIED,
        note=str(values.get("note", f"spec file {source}")),
    )
    return from_mapping(SqueezeNextSpec, values, source, ModelError, required=("blocks",))


def read_spec_file(path: str | Path) -> SqueezeNextSpec:
    """The spec in a YAML spec file."""
    return spec_from_mapping(read_yaml(Path(path), ModelError, "spec file"), str(path))


def spec_mapping(spec: SqueezeNextSpec) -> dict[str, Any]:
    """The spec-file form of a spec (its architecture fields, name and note)."""
    data: dict[str, Any] = {key: getattr(spec, key) for key in SPEC_KEYS}
    data["blocks"] = list(spec.blocks)
    data["name"] = spec.name
    if spec.note:
        data["note"] = spec.note
    return data


def write_spec_file(spec: SqueezeNextSpec, path: str | Path, header: str = "") -> None:
    """Write ``spec`` as a spec file (atomically), with ``header`` as a leading comment."""
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    atomic_write_text(path, comment + yaml.safe_dump(spec_mapping(spec), sort_keys=False))
