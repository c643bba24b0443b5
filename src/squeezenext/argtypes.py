"""Checked argument types for the command line: argparse reports a bad value as one usage line."""

from __future__ import annotations

import argparse
import math

from squeezenext.errors import SqueezeNextError
from squeezenext.machine import check_thread_count


def _int_at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _int_at_least(text, 1)


def thread_count(text: str) -> int:
    """An integer from 1 to this machine's CPU count."""
    value = _int_at_least(text, 1)
    try:
        check_thread_count(value)
    except SqueezeNextError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def positive_int_list(text: str) -> list[int]:
    """Comma-separated integers >= 1 (``1,32``)."""
    return [positive_int(part.strip()) for part in text.split(",")]


def name_list(text: str) -> list[str]:
    """Comma-separated non-empty names (``sqnxt23_w1,torchvision:alexnet``)."""
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(f"expected comma-separated names, none empty, got {text!r}")
    return names


def seed_list(text: str) -> list[int]:
    """Comma-separated integer seeds >= 0 (``0,1,2``)."""
    try:
        seeds = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds must be >= 0, got {text}")
    return seeds


def positive_float_list(text: str) -> list[float]:
    """Comma-separated finite numbers > 0 (``0.5,1.0``)."""
    return [positive_float(part.strip()) for part in text.split(",")]


def non_negative_int(text: str) -> int:
    """An integer >= 0."""
    return _int_at_least(text, 0)
