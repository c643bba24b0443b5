"""Training progress: a live bar on a terminal, one line per logged window in a log file (a redirected
``make run`` used to get one bar refresh per step)."""

from __future__ import annotations

import sys
import time
from typing import Any


class LogLines:
    """``step N/TOTAL (P%), loss ..., lr ..., img_s ...; M min left`` on every :meth:`set_postfix` (the training
    loop calls it once per logged window), the estimate from this session's own rate."""

    def __init__(self, total: int, initial: int) -> None:
        self.total, self.done, self.first = total, initial, initial
        self.started = time.perf_counter()

    def update(self, steps: int) -> None:
        self.done += steps

    def set_postfix(self, **values: str) -> None:
        step = self.done + 1  # called before the step's update
        elapsed = time.perf_counter() - self.started
        rate = (step - self.first) / elapsed if elapsed > 0 and step > self.first else 0.0
        left = f"{(self.total - step) / rate / 60:.1f} min left" if rate else "time left unknown"
        fields = ", ".join(f"{key.replace('_', '/')} {value}" for key, value in values.items())
        print(
            f"step {step}/{self.total} ({100 * step / self.total:.0f}%), {fields}; {left}", file=sys.stderr, flush=True
        )

    def close(self) -> None:
        """Nothing to close: every line is complete."""


def progress_display(total: int, initial: int) -> Any:
    """tqdm's bar (steps/s, the estimated time left, images/s in its postfix) on a terminal, else :class:`LogLines`."""
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True)
    return LogLines(total, initial)
