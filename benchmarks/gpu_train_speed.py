"""GPU training throughput: our models against pytorchcv's, in the same training loop, on one GPU.

    python benchmarks/gpu_train_speed.py [--batch 256] [--steps 30] [--rounds 3] [--compile]
        [--networks sqnxt23_w1,sqnxt23v5_w1] [--json docs/results/gpu_train_speed.json]

For each network (1.0-SqNxt-23 and 1.0-SqNxt-23v5 at 224x224, 1000 classes) it times full SGD training
steps (forward, cross-entropy, backward, momentum update) of three builds: ours in the ``official`` flavor,
ours in the ``pytorchcv`` flavor, and pytorchcv's own ``sqnxt23_w1`` / ``sqnxt23v5_w1``. Every build runs the
identical loop on the same synthetic batch held on the GPU (the data pipeline is not timed), in fp32 and in
bf16 autocast, channels-last, interleaved over ``--rounds`` rounds; each (build, precision, mode) keeps its best
round. Times use ``torch.cuda.synchronize`` around the timed steps. ``--compile`` adds each build under
``torch.compile`` (default mode; compiled in the untimed warm-up steps): the compiler fuses the separate
BatchNorm and ReLU kernels whose memory traffic can bound eager training at this size. Needs a CUDA GPU and pytorchcv.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import torch
from torch import nn

from squeezenext.argtypes import positive_int
from squeezenext.cli import OneLineParser, run_script
from squeezenext.fileio import check_writable, write_json
from squeezenext.machine import machine_summary
from squeezenext.registry import create_model
from squeezenext.rounds import best_of_rounds
from squeezenext.tables import format_table

ROOT = Path(__file__).resolve().parents[1]
NETWORKS = ("sqnxt23_w1", "sqnxt23v5_w1")
PRECISIONS = ("fp32", "bf16")
MODES = ("eager", "compile")
WARMUP_STEPS = 5
INPUT_SIZE = 224


def networks_list(text: str) -> tuple[str, ...]:
    """``--networks``: a comma-separated subset of :data:`NETWORKS`."""
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = sorted(set(names) - set(NETWORKS))
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {', '.join(NETWORKS)}, got {text!r}")
    return names


def builds(network: str) -> dict[str, Callable[[], nn.Module]]:
    """The three builds of one network: ours (two flavors) and pytorchcv's."""
    from pytorchcv.model_provider import get_model

    return {
        "ours (official)": lambda: create_model(network),
        "ours (pytorchcv flavor)": lambda: create_model(network, flavor="pytorchcv"),
        "pytorchcv": lambda: get_model(network, pretrained=False),
    }


def training_step(model: nn.Module, precision: str, batch: int, mode: str) -> Callable[[], None]:
    """One full SGD step of ``model`` on a fixed synthetic batch on the GPU (compiled when ``mode`` says so);
    the warm-up steps (and any compilation) run here."""
    device = torch.device("cuda")
    model = model.to(device).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    images = torch.randn(batch, 3, INPUT_SIZE, INPUT_SIZE, device=device).to(memory_format=torch.channels_last)
    labels = torch.randint(0, 1000, (batch,), device=device)
    loss_fn = nn.CrossEntropyLoss()
    forward = cast(Callable[[torch.Tensor], torch.Tensor], torch.compile(model) if mode == "compile" else model)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = loss_fn(forward(images), labels)
        loss.backward()
        optimizer.step()

    for _ in range(WARMUP_STEPS):
        step()
    torch.cuda.synchronize()
    return step


def images_per_second(step: Callable[[], None], batch: int, steps: int) -> float:
    """Training images per second over ``steps`` timed steps (the step is warmed up already)."""
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - started)


def main() -> None:
    parser = OneLineParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=positive_int, default=256)
    parser.add_argument("--steps", type=positive_int, default=30)
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--compile", action="store_true", help="also time every build under torch.compile")
    parser.add_argument(
        "--networks", type=networks_list, default=NETWORKS, help="comma-separated, of " + ", ".join(NETWORKS)
    )
    parser.add_argument("--json", type=Path, default=ROOT / "docs" / "results" / "gpu_train_speed.json")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        parser.exit(2, "gpu_train_speed: error: no CUDA GPU is visible to PyTorch; run this on a machine with one\n")
    check_writable(args.json)
    torch.backends.cudnn.benchmark = True
    modes = MODES if args.compile else MODES[:1]
    makers = {network: builds(network) for network in args.networks}
    keys = [
        (network, build, precision, mode)
        for network, network_builds in makers.items()
        for build in network_builds
        for precision in PRECISIONS
        for mode in modes
    ]

    def measure(key: tuple[str, str, str, str]) -> float:
        network, build, precision, mode = key
        torch.manual_seed(0)
        step = training_step(makers[network][build](), precision, args.batch, mode)
        rate = images_per_second(step, args.batch, args.steps)
        del step
        torch.cuda.empty_cache()
        return rate

    best = best_of_rounds(keys, measure, args.rounds, float, lower_is_better=False)
    results: list[dict[str, Any]] = []
    for (network, build, precision, mode), rate in best.items():
        reference = best[network, "pytorchcv", precision, "eager"]
        results.append(
            {"network": network, "build": build, "precision": precision, "mode": mode, "images_per_s": rate,
             "vs_pytorchcv": rate / reference}
        )  # fmt: skip
    print(
        format_table(
            ["network", "build", "precision", "mode", "images/s", "vs pytorchcv eager"],
            [
                [
                    r["network"],
                    r["build"],
                    r["precision"],
                    r["mode"],
                    f"{r['images_per_s']:.0f}",
                    f"{r['vs_pytorchcv']:.3f}",
                ]
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
    settings = {
        "batch": args.batch, "steps": args.steps, "rounds": args.rounds, "input_size": INPUT_SIZE, "modes": list(modes)
    }  # fmt: skip
    command = "python benchmarks/gpu_train_speed.py" + (" --compile" if args.compile else "")
    write_json(args.json, {"command": command, "settings": settings, "machine": machine, "results": results})
    print(f"\n{properties.name}, torch {torch.__version__}; wrote {args.json}")


if __name__ == "__main__":
    run_script(main)
