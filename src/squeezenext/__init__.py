"""SqueezeNext (Gholami et al., "SqueezeNext: Hardware-Aware Neural Network Design", arXiv 1803.10615).

Exact models of the paper and of its official Caffe release, a pytorchcv-compatible flavor, and the
layer workloads the hardware study reads.
"""

from squeezenext.deploy.predictor import Predictor
from squeezenext.model import SqueezeNext
from squeezenext.plan import NetworkPlan, build_plan
from squeezenext.pytorchcv_compat import load_pytorchcv_state_dict
from squeezenext.registry import create_model, get_spec, list_models, register, squeezenext
from squeezenext.specs import Provenance, SqueezeNextSpec
from squeezenext.workload import (
    LayerDesc,
    analytic_layers,
    analytic_parameters,
    count_parameters,
    load_workload,
    trace_layers,
)

__version__ = "0.1.0"

__all__ = [
    "LayerDesc",
    "NetworkPlan",
    "Predictor",
    "Provenance",
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
    "register",
    "squeezenext",
    "trace_layers",
]
