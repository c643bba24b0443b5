"""Run metrics: JSONL and CSV per step and per epoch, TensorBoard when installed, a PNG of the curves."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from squeezenext.errors import OutputError
from squeezenext.fileio import atomic_write_text, describe_os_error, read_jsonl
from squeezenext.plotting import save_figure, subplots


class MetricsLog:
    """Append-only records of one run (rank 0 only); records after ``resume_step`` (0 for a new run) are dropped."""

    def __init__(self, out: Path, resume_step: int) -> None:
        self.out = out
        self.jsonl = out / "metrics.jsonl"
        self.records: list[dict[str, Any]] = []
        if self.jsonl.exists():
            kept = [r for r in read_jsonl(self.jsonl) if isinstance(r.get("step"), int) and r["step"] <= resume_step]
            self.records = kept
            atomic_write_text(self.jsonl, "".join(json.dumps(r) + "\n" for r in kept))
        self.board = _tensorboard(out)

    def add(self, kind: str, record: dict[str, Any]) -> None:
        """Record ``{"kind": kind, **record}`` (``record`` must hold ``step``)."""
        entry = {"kind": kind, **record}
        self.records.append(entry)
        try:
            with self.jsonl.open("a") as handle:
                handle.write(json.dumps(entry, allow_nan=False) + "\n")
        except OSError as error:
            raise OutputError(describe_os_error(error, self.jsonl)) from None
        if self.board is not None:
            for key, value in record.items():
                if key != "step" and isinstance(value, int | float):
                    self.board.add_scalar(f"{kind}/{key}", value, record["step"])

    def write_csv(self) -> None:
        """``steps.csv`` and ``epochs.csv`` from the records."""
        for kind, name in (("step", "steps.csv"), ("epoch", "epochs.csv")):
            rows = [r for r in self.records if r["kind"] == kind]
            if not rows:
                continue
            buffer = io.StringIO()
            columns = list(dict.fromkeys(key for row in rows for key in row if key != "kind"))
            writer = csv.DictWriter(buffer, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({k: v for k, v in row.items() if k != "kind"})
            atomic_write_text(self.out / name, buffer.getvalue())

    def plot(self, path: Path) -> None:
        """Training loss and LR per step; training and test top-1 per epoch."""
        steps = [r for r in self.records if r["kind"] == "step"]
        epochs = [r for r in self.records if r["kind"] == "epoch"]
        figure, (ax_loss, ax_lr, ax_acc) = subplots(1, 3, figsize=(15, 4))
        ax_loss.plot([r["step"] for r in steps], [r["loss"] for r in steps])
        ax_loss.set_xlabel("step")
        ax_loss.set_ylabel("training loss")
        ax_lr.plot([r["step"] for r in steps], [r["lr"] for r in steps])
        ax_lr.set_xlabel("step")
        ax_lr.set_ylabel("learning rate")
        for key, label in (("train_top1", "training (running)"), ("test_top1", "test")):
            points = [(r["epoch"], r[key]) for r in epochs if key in r]
            if points:
                ax_acc.plot(*zip(*points, strict=True), marker="o", label=label)
        ax_acc.set_xlabel("epoch")
        ax_acc.set_ylabel("top-1 (%)")
        ax_acc.legend()
        save_figure(figure, path)

    def close(self) -> None:
        if self.board is not None:
            self.board.close()


def _tensorboard(out: Path) -> Any:
    """A SummaryWriter when the tensorboard package is installed, else None."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(out / "tensorboard"))
