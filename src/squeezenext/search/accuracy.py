"""The accuracy objective: top-1 error after short Fashion-MNIST training, multi-fidelity with pruning.

Each design is trained with the short recipe of :mod:`squeezenext.train.recipes` (64x64, standard stems, one
epoch) on a growing number of training images, the *rungs* (default 2,000, 8,000 and 32,000: a factor 4
apart), and evaluated after each rung on the first :data:`EVAL_IMAGES` test images. Optuna's
``SuccessiveHalvingPruner`` (asynchronous successive halving, reduction factor 4) decides after each rung
whether the design is promising enough for the next: roughly one in four goes on. Optuna prunes only
single-objective studies, so the rungs live in a companion study (``squeezenext-search-accuracy``, the
same storage as the search: workers sharing a storage share the pruning statistics); the search's own
multi-objective study records the design's error.

A pruned design keeps the error of its last rung, measured on fewer images than the others (in practice an
upper bound on its fully trained error); ``trained_images`` says how many, in the front's tables too. The
test images are used to *select* designs here, as in the paper's own comparisons: re-measure a chosen
design with other seeds and the full test set before quoting its accuracy (``benchmarks/search_accuracy.py``).
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from squeezenext.search.space import SearchError
from squeezenext.specs import SqueezeNextSpec

DEFAULT_RUNGS = (2_000, 8_000, 32_000)
"""Training images (one epoch over the first N) of each fidelity rung."""
REDUCTION_FACTOR = 4
"""Successive halving keeps about one design in this many at each rung."""
EVAL_IMAGES = 2_000
"""Test images each rung is evaluated on (the first N of Fashion-MNIST's test split)."""
ACCURACY_STUDY = "squeezenext-search-accuracy"

TrainError = Callable[[str | SqueezeNextSpec, int, int], float]
"""``(network argument or spec, training images, seed) -> top-1 error (%)``."""


def short_training_error(network: str | SqueezeNextSpec, train_images: int, seed: int) -> float:
    """Top-1 error (%) on the first :data:`EVAL_IMAGES` test images after one epoch of the short recipe over the
    first ``train_images`` training images. A training config names its model by text, so a spec is written
    as a spec file beside the run."""
    from squeezenext.specfile import write_spec_file
    from squeezenext.train.engine import Trainer
    from squeezenext.train.recipes import short_fashion_mnist
    from squeezenext.train.rundir import claimed_run_folder

    with tempfile.TemporaryDirectory(prefix="squeezenext-search-training-") as folder:
        out = Path(folder) / "run"
        model = network
        if isinstance(network, SqueezeNextSpec):
            model = str(Path(folder) / f"{network.name}.yaml")
            write_spec_file(network, model)
        config = dataclasses.replace(
            short_fashion_mnist(str(model), out=out, epochs=1, seed=seed),
            train_subset=train_images,
            test_subset=EVAL_IMAGES,
            eval_every=0,
        )
        with claimed_run_folder(out, resume=None, overwrite=True):
            outcome = Trainer(config).fit()
    return 100.0 - float(outcome["test"]["top1"])


def check_rungs(rungs: tuple[int, ...]) -> None:
    """Rungs are increasing image counts of at least one training batch of the short recipe."""
    from squeezenext.train.recipes import SHORT_BATCH

    if not rungs or list(rungs) != sorted(set(rungs)) or rungs[0] < SHORT_BATCH:
        raise SearchError(
            f"fidelity rungs must be increasing image counts of at least {SHORT_BATCH} (one batch), got {list(rungs)}"
        )


class AccuracyJudge:
    """Trains designs rung by rung, with the companion study's pruner deciding who goes on."""

    def __init__(
        self, storage: Any, rungs: tuple[int, ...], seed: int, train_error: TrainError = short_training_error
    ) -> None:
        import optuna

        check_rungs(rungs)
        self.rungs, self.seed, self.train_error = rungs, seed, train_error
        pruner = optuna.pruners.SuccessiveHalvingPruner(
            min_resource=rungs[0], reduction_factor=REDUCTION_FACTOR, min_early_stopping_rate=0
        )
        self.study = optuna.create_study(
            storage=storage, study_name=ACCURACY_STUDY, direction="minimize", pruner=pruner, load_if_exists=True
        )

    def error(self, network: str | SqueezeNextSpec) -> dict[str, float]:
        """``error_pct`` of ``network`` and the ``trained_images`` it was measured after."""
        from optuna.trial import TrialState

        trial = self.study.ask()
        error = float("nan")
        for images in self.rungs:
            error = self.train_error(network, images, self.seed)
            trial.report(error, step=images)
            if images != self.rungs[-1] and trial.should_prune():
                self.study.tell(trial, state=TrialState.PRUNED)
                return {"error_pct": error, "trained_images": float(images)}
        self.study.tell(trial, error)
        return {"error_pct": error, "trained_images": float(self.rungs[-1])}
