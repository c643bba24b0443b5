"""A run's output folder: checked before the run starts, locked while it runs, never silently overwritten."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from squeezenext.fileio import claimed_folder, remove_stale_temporaries

RUN_ENTRIES = (
    "checkpoints",
    "metrics.jsonl",
    "steps.csv",
    "epochs.csv",
    "curves.png",
    "results.json",
    "model.pt",
    "config.yaml",
    "tensorboard",
)
"""What a training run writes into its folder (``--overwrite`` removes exactly these)."""


@contextmanager
def claimed_run_folder(out: Path, *, resume: str | None, overwrite: bool) -> Iterator[None]:
    """Hold ``out`` for one training run (:func:`~squeezenext.fileio.claimed_folder` with :data:`RUN_ENTRIES`);
    stale temporaries in ``checkpoints/`` are removed too."""
    with claimed_folder(
        out, RUN_ENTRIES, resume=bool(resume), overwrite=overwrite, kind="a run", resume_hint="--resume auto"
    ):
        remove_stale_temporaries(out / "checkpoints")
        yield
