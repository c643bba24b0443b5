"""GPU training throughput: our models against pytorchcv's, in the same training loop, on one GPU.

    python benchmarks/gpu_train_speed.py [--batch 256] [--steps 30] [--rounds 3]
        [--json docs/results/gpu_train_speed.json]

For each network (1.0-SqNxt-23 and 1.0-SqNxt-23v5 at 224x224, 1000 classes) it times full SGD training
steps (forward, cross-entropy, backward, momentum update) of three builds: ours in the ``official`` flavor,
ours in the ``pytorchcv`` flavor, and pytorchcv's own ``sqnxt23_w1`` / ``sqnxt23v5_w1``. Every build runs the
identical loop on the same synthetic batch held on the GPU (the data pipeline is not timed), in fp32 and in
bf16 autocast, channels-last, interleaved over ``--rounds`` rounds; each (build, precision) keeps its best
round. Times use ``torch.cuda.synchronize`` around the timed steps. Needs a CUDA GPU and pytorchcv.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from squeezenext.argtypes import positive_int
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import machine_summary
from squeezenext.registry import create_model
from squeezenext.tables import format_table

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = ("sqnxt23_w1", "sqnxt23v5_w1")
PRECISIONS = ("fp32", "bf16")
WARMUP_STEPS = 5
INPUT_SIZE = 224


def builds(network: str) -> dict[str, Callable[[], nn.Module]]:
    """The three builds of one network: ours (two flavors) and pytorchcv's."""
    from pytorchcv.model_provider import get_model

    return {
        "ours (official)": lambda: create_model(network),
        "ours (pytorchcv flavor)": lambda: create_model(network, flavor="pytorchcv"),
        "pytorchcv": lambda: get_model(network, pretrained=False),
    }


def images_per_second(model: nn.Module, precision: str, batch: int, steps: int) -> float:
    """Training images per second over ``steps`` timed steps after warm-up, on a fixed batch on the GPU."""
    device = torch.device("cuda")
    model = model.to(device).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    images = torch.randn(batch, 3, INPUT_SIZE, INPUT_SIZE, device=device).to(memory_format=torch.channels_last)
    labels = torch.randint(0, 1000, (batch,), device=device)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = loss_fn(model(images), labels)
        loss.backward()
        optimizer.step()

    for _ in range(WARMUP_STEPS):
        step()
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=positive_int, default=256)
    parser.add_argument("--steps", type=positive_int, default=30)
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "gpu_train_speed.json")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        parser.exit(2, "gpu_train_speed: error: no CUDA GPU is visible to PyTorch; run this on a machine with one\n")
    check_writable(args.json)
    torch.backends.cudnn.benchmark = True
    best: dict[tuple[str, str, str], float] = {}
    for _ in range(args.rounds):
        for network in NETWORKS:
            for build, make in builds(network).items():
                for precision in PRECISIONS:
                    torch.manual_seed(0)
                    rate = images_per_second(make(), precision, args.batch, args.steps)
                    key = (network, build, precision)
                    best[key] = max(rate, best.get(key, 0.0))
                    torch.cuda.empty_cache()
    results: list[dict[str, Any]] = []
    for (network, build, precision), rate in best.items():
        reference = best[network, "pytorchcv", precision]
        results.append(
            {"network": network, "build": build, "precision": precision, "images_per_s": rate,
             "vs_pytorchcv": rate / reference}
        )  # fmt: skip
    print(
        format_table(
            ["network", "build", "precision", "images/s", "vs pytorchcv"],
            [
                [r["network"], r["build"], r["precision"], f"{r['images_per_s']:.0f}", f"{r['vs_pytorchcv']:.3f}"]
                for r in results
            ],
        )
    )
    properties = torch.cuda.get_device_properties(0)
    machine = {
        **machine_summary(),
        "gpu": properties.name,
        "gpu_memory_gib": round(properties.total_memory / 2**30, 1),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version(),  # type: ignore[no-untyped-call]
    }
    settings = {"batch": args.batch, "steps": args.steps, "rounds": args.rounds, "input_size": INPUT_SIZE}
    command = "python benchmarks/gpu_train_speed.py"
    write_json(args.json, {"command": command, "settings": settings, "machine": machine, "results": results})
    print(f"\n{properties.name}, torch {torch.__version__}; wrote {args.json}")


if __name__ == "__main__":
    main()
