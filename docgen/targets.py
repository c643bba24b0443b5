"""The project's speed targets for ``squeezenext bench`` runs: ratios between cases of one run, never times.

Acceptance logic of the project, not a library feature: ``make docs`` renders one targets table per
committed run into docs/deploy.md.
"""

from __future__ import annotations

from typing import Any

from squeezenext.deploy.backends import PYTORCH_BACKENDS
from squeezenext.deploy.report import median_ms
from squeezenext.paper import PAPER_RATIOS
from squeezenext.peers import PEERS
from squeezenext.tables import format_table

V5, SQUEEZENET = "sqnxt23v5_w1", PEERS["SqueezeNet 1.0"]
SQUEEZENET_SPEEDUP = PAPER_RATIOS["SqueezeNet 1.0"][0]
"""The paper's speed-up of 1.0-SqNxt-23v5 over SqueezeNet (on its simulated accelerator)."""
SMALL_PEERS = ("torchvision:squeezenet1_1", "torchvision:mobilenet_v2")
"""Peers v5 should at least match (speed-up goal 1.0)."""
RUNTIME_COMPARISONS = ("onnxruntime", "onnxruntime-rewritten", "openvino", "openvino-bf16")
"""The deployment runtimes in which v5 is compared with SqueezeNet 1.0 (the PyTorch backends are compared too)."""
PYTORCH_COMPARISONS = ("eager", "eager-opt", "torchscript")
MATMUL_FRACTION = 0.70
"""Goal for the fraction of the machine's fp32 matmul rate an fp32 backend reaches at batch 32."""
FP32_BACKENDS = ("onnxruntime", "onnxruntime-rewritten", "eager-opt", "torchscript", "compile")
INT8_SPEEDUP = 1.5
OURS_VS_SHIPPED = 2.0
"""Goal for our best build against pytorchcv's model as it ships (eager)."""


def check_targets(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target as ``{"target", "ratio", "goal", "met"}`` from one run (``ratio`` None: not measured)."""
    results = payload["results"]
    batches = sorted({e["batch"] for e in results})
    checks: list[dict[str, Any]] = []

    def ratio(name: str, slow: float | None, fast: float | None, goal: float) -> None:
        if slow is None or fast is None:
            checks.append({"target": name, "ratio": None, "goal": goal, "met": None})
            return
        checks.append({"target": name, "ratio": slow / fast, "goal": goal, "met": slow / fast >= goal})

    for backend in (*RUNTIME_COMPARISONS, *PYTORCH_COMPARISONS):
        if not any(e["backend"] == backend for e in results):
            continue
        v5 = median_ms(results, V5, backend, 1)
        squeezenet = median_ms(results, SQUEEZENET, backend, 1)
        ratio(f"v5 vs SqueezeNet 1.0, {backend}, batch 1", squeezenet, v5, SQUEEZENET_SPEEDUP)
        for peer in SMALL_PEERS:
            ratio(f"v5 vs {peer.split(':')[1]}, {backend}, batch 1", median_ms(results, peer, backend, 1), v5, 1.0)
    for backend in sorted({e["backend"] for e in results}):
        for batch in batches:
            theirs = median_ms(results, "pytorchcv:sqnxt23_w1", backend, batch)
            ratio(
                f"sqnxt23_w1 vs pytorchcv, {backend}, batch {batch}",
                theirs,
                median_ms(results, "sqnxt23_w1", backend, batch),
                1.0,
            )
    for batch in batches:
        shipped = median_ms(results, "pytorchcv:sqnxt23_w1", "eager", batch)
        for name, ours_backends in (("eager-opt", ("eager", "eager-opt")), ("PyTorch", PYTORCH_BACKENDS)):
            times = [median_ms(results, "sqnxt23_w1", b, batch) for b in ours_backends]
            best = min(filter(None, times), default=None)
            target = f"sqnxt23_w1 best {name} vs pytorchcv as shipped (eager), batch {batch}"
            ratio(target, shipped, best, OURS_VS_SHIPPED)
    for entry in results:
        fp32 = entry["backend"] in FP32_BACKENDS
        if entry["model"] == "sqnxt23_w1" and entry["batch"] == 32 and "fraction_of_matmul" in entry and fp32:
            fraction = entry["fraction_of_matmul"]
            checks.append(
                {
                    "target": f"sqnxt23_w1 fp32 {entry['backend']} batch 32: fraction of matmul rate",
                    "ratio": fraction,
                    "goal": MATMUL_FRACTION,
                    "met": fraction >= MATMUL_FRACTION,
                }
            )
    for model in ("sqnxt23_w1", V5):
        for batch in batches:
            ratio(
                f"{model} int8 vs fp32 onnxruntime, batch {batch}",
                median_ms(results, model, "onnxruntime", batch),
                median_ms(results, model, "onnxruntime-int8", batch),
                INT8_SPEEDUP,
            )
    return checks


def targets_table(checks: list[dict[str, Any]]) -> str:
    """Targets with the measured ratio, the goal and how far off a missed one is."""
    rows = []
    for check in checks:
        if check["ratio"] is None:
            rows.append([check["target"], "not measured", f"{check['goal']:.2f}", ""])
            continue
        shortfall = 100 * (1 - check["ratio"] / check["goal"])
        status = "met" if check["met"] else f"MISSED by {shortfall:.0f}%" if shortfall >= 1 else "MISSED by <1%"
        rows.append([check["target"], f"{check['ratio']:.2f}", f"{check['goal']:.2f}", status])
    return format_table(["target", "measured", "goal", "status"], rows)
