"""A run's output folder: checked before the run starts, locked while it runs, never silently overwritten."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from squeezenext.errors import OutputError
from squeezenext.fileio import check_writable, output_lock, remove_stale_temporaries

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
    """Hold ``out`` for one run: writable, locked against a second run, stale temporaries removed.

    A folder that already holds a run is refused unless the run resumes (``--resume``) or replaces it
    (``--overwrite``, which deletes that run's files first, under the lock).
    """
    if resume and overwrite:
        raise OutputError("--resume continues the run in the output folder and --overwrite deletes it; give one")
    created = not out.exists()
    check_writable(out, folder=True)
    try:
        with output_lock(out):
            _prepare(out, resume=resume, overwrite=overwrite)
            yield
    except BaseException:
        if created and not any(entry.is_file() for entry in out.rglob("*")):
            shutil.rmtree(out, ignore_errors=True)  # a run that failed before writing anything leaves no folder
        raise


def _prepare(out: Path, *, resume: str | None, overwrite: bool) -> None:
    """Under the lock: remove stale temporaries; refuse, or with ``overwrite`` delete, an existing run."""
    for folder in (out, out / "checkpoints"):
        remove_stale_temporaries(folder)
    existing = [name for name in RUN_ENTRIES if (out / name).exists()]
    if existing and not resume:
        if not overwrite:
            raise OutputError(
                f"{out} already holds a run ({', '.join(existing[:3])}{', ...' if len(existing) > 3 else ''}); "
                "continue it with --resume auto, replace it with --overwrite, or choose another --out"
            )
        for name in existing:
            entry = out / name
            if entry.is_dir():
                shutil.rmtree(entry)
            else:
                entry.unlink()
