"""Deployment: BatchNorm folding, ONNX export (fp32 and int8), a predictor, and speed benchmarks."""
