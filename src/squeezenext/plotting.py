"""Matplotlib without a display, and atomic PNG output."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from squeezenext.fileio import atomic_path

__all__ = ["plt", "save_figure"]


def save_figure(figure: Figure, path: str | Path) -> None:
    """Write a PNG atomically and close the figure."""
    try:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
        plt.close(figure)
