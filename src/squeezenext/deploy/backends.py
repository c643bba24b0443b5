"""The inference backends ``squeezenext bench`` measures (a light module: the command line reads it)."""

BACKENDS = ("eager", "eager-opt", "torchscript", "compile", "onnxruntime", "onnxruntime-int8")
DEFAULT_BACKENDS = ("eager", "eager-opt", "torchscript", "onnxruntime", "onnxruntime-int8")
PYTORCH_BACKENDS = ("eager", "eager-opt", "torchscript", "compile")
"""Backends that run the model in PyTorch itself (no ONNX export)."""
