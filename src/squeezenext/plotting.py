"""Figures without pyplot (no global backend switch, no display needed) and atomic PNG output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from squeezenext.fileio import atomic_path

__all__ = ["save_figure", "subplots"]


def subplots(*grid: int, figsize: tuple[float, float], **options: Any) -> tuple[Figure, Any]:
    """A new figure and its axes, like ``pyplot.subplots`` but owned by the caller (nothing global)."""
    figure = Figure(figsize=figsize)
    return figure, figure.subplots(*grid, **options)


def save_figure(figure: Figure, path: str | Path) -> None:
    """Write a PNG atomically (matplotlib's Agg canvas, chosen by the file type)."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
