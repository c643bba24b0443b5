"""Numbers of the paper that the code uses (docs/paper.md has their sources). One definition each."""

PAPER_INPUT_SIZE = 227
"""The official input crop (227x227)."""

PAPER_RATIOS = {"SqueezeNet 1.0": (2.59, 2.25), "AlexNet": (8.26, 7.5)}
"""1.0-SqNxt-23v5's speed-up and energy-efficiency over SqueezeNet 1.0 and AlexNet in the paper's accelerator
simulation (arXiv 1803.10615 v2, abstract; the CVPR workshop version claims "up to 20% better hardware
utilization" instead)."""
