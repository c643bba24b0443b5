"""Network arguments, parsed once at the boundary: ``parse_network(text | path | spec) -> NetworkSource``.

Every command and the Python API take a network the same way; only this module looks at prefixes and file
suffixes. A :class:`NetworkSource` knows its kind and does what the commands need: its layer workload at an
input size, a PyTorch module, the model with its preprocessing for export and prediction, a file stem for
output names, its spec when it has one; an operation its kind cannot do is one clear :class:`ModelError`.
(The pattern of timm's ``parse_model_name`` and Optuna's ``get_storage``.)
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from squeezenext import onnx_io
from squeezenext.errors import CheckpointError, MissingExtraError, ModelError
from squeezenext.paper import PAPER_INPUT_SIZE
from squeezenext.plan import FLAVORS, STEM_KINDS, Flavor, StemKind
from squeezenext.preprocessing import Preprocessing
from squeezenext.registry import create_model, get_spec, resolve_name
from squeezenext.specfile import SPEC_SUFFIXES, read_spec_file
from squeezenext.specs import SqueezeNextSpec

if TYPE_CHECKING:
    from torch import nn

    from squeezenext.workload import Workload


class SourceKind(enum.Enum):
    """The forms a network argument takes; the value is how help texts and errors describe it."""

    NAME = "a registered or paper name (any letter case)"
    SPEC_FILE = "a spec file (.yaml)"
    SPEC = "a SqueezeNextSpec"
    TORCHVISION = "torchvision:<name>"
    PYTORCHCV = "pytorchcv:<name>"
    CHECKPOINT = "a training checkpoint (.pt)"
    ONNX = "an ONNX file (.onnx, fp32 or int8)"
    SCALESIM_CSV = "a SCALE-Sim topology (.csv)"


TORCHVISION_PREFIX = "torchvision:"
PYTORCHCV_PREFIX = "pytorchcv:"
PREFIXES = {TORCHVISION_PREFIX: SourceKind.TORCHVISION, PYTORCHCV_PREFIX: SourceKind.PYTORCHCV}
SUFFIXES = {
    **dict.fromkeys(SPEC_SUFFIXES, SourceKind.SPEC_FILE),
    ".pt": SourceKind.CHECKPOINT,
    onnx_io.ONNX_SUFFIX: SourceKind.ONNX,
    ".csv": SourceKind.SCALESIM_CSV,
}
KIND_NOUNS = {
    SourceKind.NAME: "a registered model",
    SourceKind.SPEC_FILE: "a spec file",
    SourceKind.SPEC: "a spec",
    SourceKind.TORCHVISION: "a torchvision model",
    SourceKind.PYTORCHCV: "a pytorchcv model",
    SourceKind.CHECKPOINT: "a training checkpoint",
    SourceKind.ONNX: "an ONNX file",
    SourceKind.SCALESIM_CSV: "a SCALE-Sim topology",
}
"""Each kind, as a refusal names what was given."""
FILE_KINDS = frozenset(SUFFIXES.values())
"""The kinds that are files (known by their suffix)."""
ALL_KINDS = tuple(SourceKind)
SQUEEZENEXT_KINDS = (SourceKind.NAME, SourceKind.SPEC_FILE, SourceKind.SPEC)
"""The kinds that are SqueezeNext architectures (a spec), which the design search can vary."""
MODULE_KINDS = (*SQUEEZENEXT_KINDS, SourceKind.TORCHVISION, SourceKind.PYTORCHCV, SourceKind.CHECKPOINT)
"""The kinds that become a PyTorch module (export, bench's PyTorch backends)."""
TRAINABLE_KINDS = (*SQUEEZENEXT_KINDS, SourceKind.TORCHVISION, SourceKind.PYTORCHCV)
"""The kinds a training config's ``model`` names (a checkpoint is a starting point: ``init``)."""
BENCH_KINDS = (*MODULE_KINDS, SourceKind.ONNX)
"""What bench and profile take: anything with a PyTorch module, or an ONNX file (its ONNX backends only)."""
INPUT_SIZE_HELP = f"input height and width (default: the network's own, else the paper's {PAPER_INPUT_SIZE})"
"""The ``--input-size`` help of every command that takes a network."""


def short_label(argument: str) -> str:
    """A network argument without its ``torchvision:`` prefix, for plot labels."""
    return argument.removeprefix(TORCHVISION_PREFIX)


def network_help(kinds: Collection[SourceKind] = ALL_KINDS) -> str:
    """What a network argument may be, for a command's help (the Python-only spec object left out)."""
    return ", ".join(kind.value for kind in SourceKind if kind in kinds and kind is not SourceKind.SPEC)


@dataclass(frozen=True)
class BuildOptions:
    """How a network by name is built (a checkpoint has its own): classifier size, input channels, flavor and
    stem of a SqueezeNext, and its weights (pytorchcv's public ones, or a file)."""

    num_classes: int = 1000
    in_channels: int = 3
    flavor: Flavor | None = None
    stem: StemKind = "standard"
    pretrained: bool = False
    weights: str | Path | None = None


DEFAULT_BUILD = BuildOptions()


@dataclass(frozen=True)
class LoadedModel:
    """A model to deploy, with what inference needs to know about its input and labels."""

    name: str
    module: nn.Module
    classes: list[str]
    preprocessing: Preprocessing
    checkpoint: dict[str, Any] | None


@dataclass(frozen=True)
class NetworkSource:
    """A parsed network argument. ``name`` is the registered name, the torchvision or pytorchcv model name, the
    spec's name, or the file's path."""

    kind: SourceKind
    argument: str
    name: str
    spec: SqueezeNextSpec | None = None
    """The architecture of a SqueezeNext kind (:data:`SQUEEZENEXT_KINDS`); None for the others."""

    @property
    def path(self) -> Path:
        """The file of a file kind."""
        if self.kind not in FILE_KINDS:
            raise ModelError(f"{self.argument} is {KIND_NOUNS[self.kind]}, not a file")
        return Path(self.name)

    @property
    def file_stem(self) -> str:
        """A name for output files: the model name, or the file's stem (``torchvision_squeezenet1_0``)."""
        if self.kind in PREFIXES.values():
            return self.argument.replace(":", "_")
        if self.kind in FILE_KINDS:
            return self.path.stem
        return self.spec.name if self.spec is not None else self.name

    def architecture(self) -> SqueezeNextSpec:
        """The spec of a SqueezeNext kind; the other kinds refuse."""
        if self.spec is None:
            raise ModelError(f"{self.argument} is {KIND_NOUNS[self.kind]}, not a SqueezeNext architecture")
        return self.spec

    def refuse(self, operation: str) -> ModelError:
        """The error for an operation this kind cannot do."""
        return ModelError(f"{operation} needs {network_help(MODULE_KINDS)}; {self.argument} is {KIND_NOUNS[self.kind]}")

    def workload(
        self, input_size: int | None = None, *, flavor: Flavor = "official", stem: StemKind = "standard"
    ) -> Workload:
        """The layers and parameter counts at ``input_size`` (None: the network's own size, else the paper's 227).

        A SqueezeNext is computed analytically; torchvision/pytorchcv models and checkpoints are traced; an ONNX
        file is read by shape inference; a SCALE-Sim topology is read as it is. A file whose input size is fixed
        refuses another size rather than report one it did not compute at."""
        from squeezenext.workload import Workload, analytic_workload, traced_workload

        if self.kind in SQUEEZENEXT_KINDS:
            return analytic_workload(self._model_ref(), input_size or PAPER_INPUT_SIZE, flavor, stem)
        if self.kind in (SourceKind.TORCHVISION, SourceKind.PYTORCHCV):
            from squeezenext.recorded import RECORDED_SIZES, recorded_workload, torch_installed

            size = input_size or PAPER_INPUT_SIZE
            if not torch_installed():
                recorded = recorded_workload(self.argument, size) if self.kind is SourceKind.TORCHVISION else None
                if recorded is None:
                    raise MissingExtraError(
                        f"{self.argument} at {size}x{size} is traced with PyTorch, which is not installed "
                        f"(recorded without it: the study's peers at {' and '.join(map(str, RECORDED_SIZES))})",
                        "torch",
                    )
                return recorded
            label = "torchvision definition" if self.kind is SourceKind.TORCHVISION else "pytorchcv definition"
            return traced_workload(self.module(), self.argument, size, 3, label)
        if self.kind is SourceKind.CHECKPOINT:
            loaded = self.loaded(input_size)
            size = loaded.preprocessing.input_size
            module, channels = loaded.module, loaded.preprocessing.in_channels
            return traced_workload(module, loaded.name, size, channels, f"checkpoint at {size}x{size}")
        if self.kind is SourceKind.ONNX:
            return Workload.of_layers(self.path.name, onnx_io.layers_from_onnx(self.path, input_size), "ONNX file")
        from squeezenext.accel.topology import read_scalesim_csv

        layers = read_scalesim_csv(self.path)
        if input_size is not None:
            raise ModelError(
                f"{self.path} is a SCALE-Sim topology of fixed layer sizes; drop --input-size {input_size}"
            )
        return Workload.of_layers(self.path.name, layers, "SCALE-Sim topology")

    def module(self, options: BuildOptions = DEFAULT_BUILD) -> nn.Module:
        """A PyTorch module, freshly initialized unless ``options`` ask for weights (SqueezeNext only), or a
        checkpoint's (its trained weights; the options do not apply)."""
        from squeezenext.networks import pytorchcv_module, torchvision_module

        if self.kind in SQUEEZENEXT_KINDS:
            squeezenext: nn.Module = create_model(
                self._model_ref(),
                num_classes=options.num_classes,
                flavor=options.flavor,
                pretrained=options.pretrained,
                weights=options.weights,
                in_channels=options.in_channels,
                stem=options.stem,
            )
            return squeezenext
        if self.kind in (SourceKind.TORCHVISION, SourceKind.PYTORCHCV):
            if options.in_channels != 3:
                raise ModelError(f"{self.argument} takes 3-channel input, not {options.in_channels}")
            if options.pretrained or options.weights is not None:
                raise ModelError(
                    f"pretrained weights and weight files load into SqueezeNext models, not {self.argument}"
                )
            build = torchvision_module if self.kind is SourceKind.TORCHVISION else pytorchcv_module
            return build(self.name, options.num_classes)
        if self.kind is SourceKind.CHECKPOINT:
            return self.loaded().module
        raise self.refuse("a PyTorch module")

    def loaded(self, input_size: int | None = None, options: BuildOptions = DEFAULT_BUILD) -> LoadedModel:
        """The model in eval mode with its class names and preprocessing: a checkpoint's own (``input_size``
        replaces its size), or for a network by name ImageNet preprocessing at ``input_size`` (default: its
        ``pretrained_cfg``'s), with the ImageNet class names when pretrained."""
        if self.kind is SourceKind.CHECKPOINT:
            return _rebuild(self.path, input_size)
        from squeezenext.pretrained import IMAGENET_MEAN, IMAGENET_STD, imagenet_labels

        module = self.module(options).eval()
        channels, classes = options.in_channels, options.num_classes
        cfg = getattr(module, "pretrained_cfg", {"input_size": (channels, PAPER_INPUT_SIZE, PAPER_INPUT_SIZE)})
        size = input_size or int(cast(tuple[int, int, int], cfg["input_size"])[-1])
        mean, std = tuple(cfg.get("mean", IMAGENET_MEAN)), tuple(cfg.get("std", IMAGENET_STD))
        if channels != len(mean):  # a grey or multispectral model: the colour statistics do not apply
            mean, std = (0.5,) * channels, (0.25,) * channels
        preprocessing = Preprocessing("imagenet", size, channels, mean, std, scale_to_unit=True)
        labels = imagenet_labels() if options.pretrained and classes == len(imagenet_labels()) else []
        name = self.spec.name if self.spec is not None else self.argument
        return LoadedModel(name, module, labels or [f"class {i}" for i in range(classes)], preprocessing, None)

    def _model_ref(self) -> str | SqueezeNextSpec:
        """A registered name (its pretrained weights are known by it) or the spec."""
        if self.kind is SourceKind.NAME or self.spec is None:
            return self.name
        return self.spec


def parse_network(
    value: str | Path | SqueezeNextSpec | NetworkSource,
    accept: Collection[SourceKind] = ALL_KINDS,
    *,
    purpose: str = "the network",
) -> NetworkSource:
    """Parse a network argument into its kind; a kind not in ``accept`` is refused with what ``purpose`` takes.

    Registered names are resolved (a close match is suggested), spec files read and checked, torchvision and
    pytorchcv names checked against their packages; a file of another kind must exist."""
    source = value if isinstance(value, NetworkSource) else _parse(value)
    if source.kind not in accept:
        raise ModelError(f"{purpose} takes {network_help(accept)}; {source.argument} is {KIND_NOUNS[source.kind]}")
    return source


def _parse(value: str | Path | SqueezeNextSpec) -> NetworkSource:
    if isinstance(value, SqueezeNextSpec):
        return NetworkSource(SourceKind.SPEC, value.name, value.name, value)
    if not isinstance(value, str | Path):
        raise ModelError(f"a network must be a name, a file path or a SqueezeNextSpec, got {value!r}")
    text = str(value)
    for prefix, kind in PREFIXES.items():
        if text.startswith(prefix):
            source = NetworkSource(kind, text, text.removeprefix(prefix))
            _check_peer_name(source, prefix.removesuffix(":"))
            return source
    if Path(text).is_dir():
        raise ModelError(f"{text} is a folder; a network is a name or a file ({', '.join(sorted(SUFFIXES))})")
    file_kind = SUFFIXES.get(Path(text).suffix.lower())
    if file_kind is None:
        if isinstance(value, Path) or Path(text).is_file():
            suffixes = ", ".join(sorted(SUFFIXES))
            raise ModelError(f"{text}: a network file is one of {suffixes}; this one's kind is unknown from its name")
        name = resolve_name(text)
        return NetworkSource(SourceKind.NAME, text, name, get_spec(name))
    if not Path(text).is_file():
        raise ModelError(f"{KIND_NOUNS[file_kind].split(' ', 1)[1]} {text} does not exist")
    if file_kind is SourceKind.SPEC_FILE:
        return NetworkSource(file_kind, text, text, read_spec_file(text))
    return NetworkSource(file_kind, text, text)


def _check_peer_name(source: NetworkSource, package: str) -> None:
    """A torchvision or pytorchcv name that its package does not define is refused now, not when it is built."""
    from squeezenext.networks import pytorchcv_names, torchvision_names, unknown_model
    from squeezenext.recorded import recorded_names, torch_installed

    if not torch_installed() and source.argument in recorded_names():
        return  # a peer whose workloads are recorded: known without torchvision
    names = torchvision_names() if source.kind is SourceKind.TORCHVISION else pytorchcv_names()
    if source.name not in names:
        raise unknown_model(package, source.name, names)


def _rebuild(path: Path, input_size: int | None) -> LoadedModel:
    """A model from a checkpoint of ``squeezenext train``: its architecture (the config's model, flavor and stem),
    weights, class names and preprocessing."""
    from squeezenext.checkpoint import load_checkpoint
    from squeezenext.weights import load_state_dict_checked

    state = load_checkpoint(path, inference=True)
    config = state["config"]
    model, flavor, stem = config.get("model"), config.get("flavor"), config.get("stem")
    if not isinstance(model, str) or flavor not in FLAVORS or stem not in STEM_KINDS:
        raise CheckpointError(f"{path}: the checkpoint's config has no valid model, flavor and stem; it is damaged")
    source = parse_network(model, TRAINABLE_KINDS, purpose=f"{path}: the checkpoint's model")
    module = source.module(BuildOptions(len(state["classes"]), state["in_channels"], flavor, stem))
    load_state_dict_checked(module, state["model"], str(path))
    try:
        preprocessing = Preprocessing(**state["preprocessing"])
    except TypeError:
        raise CheckpointError(f"{path}: the checkpoint's 'preprocessing' entry is damaged") from None
    if input_size is not None and input_size != preprocessing.input_size:
        preprocessing = dataclasses.replace(preprocessing, input_size=input_size)
    return LoadedModel(model, module.eval(), list(state["classes"]), preprocessing, state)


def load_workload(
    network: str | Path | SqueezeNextSpec,
    *,
    input_size: int | None = None,
    flavor: Flavor = "official",
    stem: StemKind = "standard",
) -> Workload:
    """The workload of any network argument (:meth:`NetworkSource.workload`)."""
    return parse_network(network).workload(input_size, flavor=flavor, stem=stem)
