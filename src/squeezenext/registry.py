"""The registry of SqueezeNext variants, ``create_model`` and ``list_models``.

Names are pytorchcv-compatible (``sqnxt23_w1`` ...); the paper's names (``1.0-SqNxt-23`` ...) are
aliases. The registry refuses duplicate names and aliases.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, overload

from squeezenext.errors import ModelError
from squeezenext.plan import Flavor, NetworkPlan, StemKind, build_plan
from squeezenext.specfile import is_spec_file, read_spec_file
from squeezenext.specs import Provenance, SqueezeNextSpec

if TYPE_CHECKING:  # the module (and torch) is imported when a model is built, not with the registry
    from squeezenext.model import SqueezeNext, SqueezeNextFeatures

V1_BLOCKS = (6, 6, 8, 1)
V5_BLOCKS = (2, 4, 14, 1)
DEPTH44_BLOCKS = (12, 12, 16, 2)

PYTORCHCV_MODELS = frozenset(
    {"sqnxt23_w1", "sqnxt23_w3d2", "sqnxt23_w2", "sqnxt23v5_w1", "sqnxt23v5_w3d2", "sqnxt23v5_w2"}
)
"""Models that pytorchcv defines and that the ``pytorchcv`` flavor reproduces."""

CREATE_OPTIONS = ("in_channels", "stem")
"""Keyword options accepted by :func:`create_model` besides ``num_classes`` and ``flavor``."""

_REGISTRY: dict[str, SqueezeNextSpec] = {}
_ALIASES: dict[str, str] = {}


def register(spec: SqueezeNextSpec) -> SqueezeNextSpec:
    """Add a variant; refuses a name or paper name that is already taken."""
    for key in (spec.name, spec.paper_name):
        if key in _REGISTRY or key in _ALIASES:
            raise ModelError(f"model name {key!r} is already registered")
    _REGISTRY[spec.name] = spec
    _ALIASES[spec.paper_name] = spec.name
    return spec


def _width_tag(width: float) -> str:
    return {1.0: "w1", 1.5: "w3d2", 2.0: "w2"}[width]


def _register_family(
    version: str,
    blocks: tuple[int, int, int, int],
    widths: Iterable[tuple[float, Provenance, str]],
    *,
    stem_kernel: int = 7,
    v5_wiring: bool = False,
) -> None:
    for width, provenance, note in widths:
        register(
            SqueezeNextSpec(
                name=f"sqnxt{sum(blocks) + 2}{version}_{_width_tag(width)}",
                paper_name=f"{width:.1f}-SqNxt-{sum(blocks) + 2}{version}",
                blocks=blocks,
                width=width,
                provenance=provenance,
                note=note,
                stem_kernel=stem_kernel,
                v5_wiring=v5_wiring,
            )
        )


_OFFICIAL = "official Caffe release"
_DERIVED = "paper table; official template at this width"

_register_family(
    "",
    V1_BLOCKS,
    [
        (1.0, Provenance.OFFICIAL, _OFFICIAL),
        (1.5, Provenance.DERIVED, _DERIVED),
        (2.0, Provenance.OFFICIAL, _OFFICIAL),
    ],
)
_register_family(
    "v5",
    V5_BLOCKS,
    [
        (1.0, Provenance.OFFICIAL, _OFFICIAL),
        (1.5, Provenance.DERIVED, _DERIVED),
        (2.0, Provenance.OFFICIAL, _OFFICIAL),
    ],
    stem_kernel=5,
    v5_wiring=True,
)
register(
    SqueezeNextSpec(
        name="sqnxt23g_w1",
        paper_name="1.0-G-SqNxt-23",
        blocks=V1_BLOCKS,
        groups=2,
        note=_OFFICIAL + "; groups=2 on reduce1 and both separable convs",
    )
)
_UNVERIFIED = "block distribution reconstructed from the paper's text; 7x7 stem, standard wiring"
_register_family("v2", (4, 8, 8, 1), [(1.0, Provenance.UNVERIFIED, _UNVERIFIED)])
_register_family("v3", (2, 10, 8, 1), [(1.0, Provenance.UNVERIFIED, _UNVERIFIED)])
_register_family("v4", V5_BLOCKS, [(1.0, Provenance.UNVERIFIED, _UNVERIFIED)])
_register_family(
    "",
    DEPTH44_BLOCKS,
    [
        (1.0, Provenance.DERIVED, "public 2.0-SqNxt-44 template at width 1.0"),
        (1.5, Provenance.DERIVED, "public 2.0-SqNxt-44 template at width 1.5"),
        (2.0, Provenance.OFFICIAL, "public 2.0-SqNxt-44 template"),
    ],
)


def list_models() -> list[str]:
    """Registered model names, in registration order."""
    return list(_REGISTRY)


def resolve_name(name: str) -> str:
    """Registry name for a registry name or a paper alias, in any letter case (a spec file's path is returned
    as it is); otherwise a ModelError with the closest names ("did you mean") and the full list."""
    if not isinstance(name, str):
        raise ModelError(f"a model name must be a string, got {name!r}")
    if is_spec_file(name):
        return name
    by_folded = {key.casefold(): value for key, value in (*((n, n) for n in _REGISTRY), *_ALIASES.items())}
    if name.casefold() in by_folded:
        return by_folded[name.casefold()]
    close = difflib.get_close_matches(name.casefold(), list(by_folded), n=3, cutoff=0.6)
    names = list(dict.fromkeys(by_folded[c] for c in close))
    suggestion = f" Did you mean {', '.join(map(repr, names))}?" if names else ""
    raise ModelError(
        f"unknown model {name!r}.{suggestion} Valid names: {', '.join(_REGISTRY)}; "
        f"paper names: {', '.join(_ALIASES)} (any letter case)."
    )


ModelRef = str | Path | SqueezeNextSpec
"""A SqueezeNext: a registered or paper name, a spec file (``*.yaml``) or a spec."""


def get_spec(name: ModelRef) -> SqueezeNextSpec:
    """The spec registered under ``name`` (or its paper alias), the spec in a spec file (``*.yaml``), or
    ``name`` itself when it is a spec."""
    if isinstance(name, SqueezeNextSpec):
        return name
    if isinstance(name, Path) or is_spec_file(name):
        return read_spec_file(name)
    return _REGISTRY[resolve_name(name)]


def model_plan(
    name: ModelRef,
    *,
    num_classes: int = 1000,
    flavor: Flavor = "official",
    in_channels: int = 3,
    stem: StemKind = "standard",
) -> NetworkPlan:
    """The layer plan of a registered model (what :func:`create_model` builds)."""
    spec = get_spec(name)
    if flavor == "pytorchcv" and spec.name not in PYTORCHCV_MODELS:
        raise ModelError(
            f"flavor 'pytorchcv' exists only for pytorchcv's models ({', '.join(sorted(PYTORCHCV_MODELS))}); "
            f"{spec.name!r} has only flavor 'official'"
        )
    return build_plan(spec, flavor=flavor, num_classes=num_classes, in_channels=in_channels, stem=stem)


@overload
def create_model(
    name: ModelRef,
    *,
    num_classes: int = 1000,
    flavor: Flavor | None = None,
    pretrained: bool = False,
    weights: str | Path | None = None,
    features_only: Literal[False] = False,
    out_indices: Sequence[int] = ...,
    **options: object,
) -> SqueezeNext: ...


@overload
def create_model(
    name: ModelRef,
    *,
    num_classes: int = 1000,
    flavor: Flavor | None = None,
    pretrained: bool = False,
    weights: str | Path | None = None,
    features_only: Literal[True],
    out_indices: Sequence[int] = ...,
    **options: object,
) -> SqueezeNextFeatures: ...


def create_model(
    name: ModelRef,
    *,
    num_classes: int = 1000,
    flavor: Flavor | None = None,
    pretrained: bool = False,
    weights: str | Path | None = None,
    features_only: bool = False,
    out_indices: Sequence[int] = (0, 1, 2, 3, 4),
    **options: object,
) -> SqueezeNext | SqueezeNextFeatures:
    """Build a registered SqueezeNext variant.

    Args:
        name: a registry name (``list_models()``), a paper name (``"1.0-SqNxt-23"``) or a spec file
            (``*.yaml``, :mod:`squeezenext.specfile`).
        num_classes: classifier outputs. With loaded weights of another size the classifier is new
            (freshly initialized) and everything else is loaded.
        flavor: ``"official"`` (Caffe release; the default) or ``"pytorchcv"`` (loads pytorchcv checkpoints;
            the default with ``pretrained=True``).
        pretrained: load pytorchcv's ImageNet weights (downloaded once into the torch hub cache and checked
            against their SHA-1; :mod:`squeezenext.pretrained`); only the variants in ``PRETRAINED`` have them.
        weights: load a local file instead: a squeezenext checkpoint, a pytorchcv ``.pth`` or a state dict.
        features_only: return a :class:`~squeezenext.model.SqueezeNextFeatures` backbone whose forward gives
            the feature maps ``out_indices`` (0: stem, 1-4: stages), with ``feature_info``.
        **options: ``in_channels`` (default 3; a 1-channel model gets an RGB checkpoint's stem summed over the
            colours) and ``stem`` (``"standard"``, or ``"small"``/``"small-s2"`` for 28-64 px).

    The model's ``pretrained_cfg`` says how its input is prepared (size, crop, interpolation, mean, std).
    """
    unknown = sorted(set(options) - set(CREATE_OPTIONS))
    if unknown:
        raise ModelError(
            f"unknown option(s) {', '.join(unknown)} for create_model; valid options: num_classes, flavor, "
            f"pretrained, weights, features_only, out_indices, {', '.join(CREATE_OPTIONS)}"
        )
    from squeezenext.pretrained import fetch, pretrained_cfg, pretrained_entry

    spec_name = get_spec(name).name
    if pretrained and weights is not None:
        raise ModelError("pass pretrained=True (the public weights) or weights=PATH (a file), not both")
    entry = pretrained_entry(spec_name) if pretrained else None
    if entry and flavor == "official":
        raise ModelError(
            f"pytorchcv's weights fit flavor 'pytorchcv' only (its layer layout); drop flavor='official' for {name}"
        )
    plan = model_plan(
        name,
        num_classes=num_classes,
        flavor=flavor or ("pytorchcv" if entry else "official"),
        in_channels=options.get("in_channels", 3),  # type: ignore[arg-type]  # checked by build_plan
        stem=options.get("stem", "standard"),  # type: ignore[arg-type]
    )
    from squeezenext.model import SqueezeNext, SqueezeNextFeatures, feature_indices
    from squeezenext.weights import load_backbone, read_state_dict

    if features_only:
        feature_indices(out_indices, len(plan.feature_points()))  # before any download
    model = SqueezeNext(plan)
    source = fetch(entry) if entry else weights
    if source is not None:
        load_backbone(model, read_state_dict(source), str(source))
    model.pretrained_cfg = pretrained_cfg(spec_name, pretrained=entry is not None)
    return SqueezeNextFeatures(model, out_indices) if features_only else model


def squeezenext(
    *,
    width: float = 1.0,
    blocks: tuple[int, int, int, int] = V1_BLOCKS,
    stem_kernel: int = 7,
    groups: int = 1,
    v5_wiring: bool = False,
    stem_channels: int = 64,
    head_channels: int = 128,
    num_classes: int = 1000,
    in_channels: int = 3,
    stem: StemKind = "standard",
) -> SqueezeNext:
    """Any width, blocks per stage, stem kernel, groups and wiring, in the official flavor."""
    spec = SqueezeNextSpec(
        name="custom",
        paper_name=f"{width}-SqNxt-{sum(blocks) + 2} (custom)",
        blocks=blocks,
        width=width,
        stem_kernel=stem_kernel,
        groups=groups,
        v5_wiring=v5_wiring,
        stem_channels=stem_channels,
        head_channels=head_channels,
        provenance=Provenance.UNVERIFIED,
        note="user-defined",
    )
    plan = build_plan(spec, flavor="official", num_classes=num_classes, in_channels=in_channels, stem=stem)
    from squeezenext.model import SqueezeNext

    return SqueezeNext(plan)
