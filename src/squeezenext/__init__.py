"""SqueezeNext (Gholami et al., "SqueezeNext: Hardware-Aware Neural Network Design", arXiv 1803.10615).

Exact models of the paper and of its official Caffe release, a pytorchcv-compatible flavor, and the
layer workloads the hardware study reads. The specs, plans and workloads are pure Python; PyTorch is
imported when a module is built (``create_model``) or a name below that needs it is first used.
"""

from importlib import import_module, metadata
from typing import TYPE_CHECKING, Any

from squeezenext.plan import NetworkPlan, build_plan
from squeezenext.registry import create_model, get_spec, list_models, register, squeezenext
from squeezenext.sources import NetworkSource, SourceKind, load_workload, parse_network
from squeezenext.specs import Provenance, SqueezeNextSpec
from squeezenext.workload import LayerDesc, analytic_layers, analytic_parameters, count_parameters, trace_layers

if TYPE_CHECKING:
    from squeezenext.deploy.predictor import Predictor
    from squeezenext.model import SqueezeNext
    from squeezenext.pytorchcv_compat import load_pytorchcv_state_dict

__version__ = metadata.version("squeezenext")
"""The installed package's version (one definition: pyproject.toml)."""

_LAZY = {
    "Predictor": "squeezenext.deploy.predictor",
    "SqueezeNext": "squeezenext.model",
    "load_pytorchcv_state_dict": "squeezenext.pytorchcv_compat",
}
"""Names whose modules import PyTorch (and, for the Predictor, PIL and onnx): loaded on first use."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'squeezenext' has no attribute {name!r}")


__all__ = [
    "LayerDesc",
    "NetworkPlan",
    "NetworkSource",
    "Predictor",
    "Provenance",
    "SourceKind",
    "SqueezeNext",
    "SqueezeNextSpec",
    "analytic_layers",
    "analytic_parameters",
    "build_plan",
    "count_parameters",
    "create_model",
    "get_spec",
    "list_models",
    "load_pytorchcv_state_dict",
    "load_workload",
    "parse_network",
    "register",
    "squeezenext",
    "trace_layers",
]
