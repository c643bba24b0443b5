"""The Optuna path of the search: one candidate per trial, every finished trial kept in an Optuna storage.

NSGA-II (``nsga2``) or TPE (``tpe``) samplers, both multi-objective and constraint-aware (each constraint's
relative violation is set with ``Trial.set_constraint``; 0 means it holds). The storage (SQLite by default,
any Optuna RDB URL such as PostgreSQL) holds the study ``squeezenext-search`` with the search's definition;
continuing it with another definition is refused. ``trials`` is the study's total of finished trials: a
resumed search or a second worker runs only what is missing. A trial that was running when its worker was
killed stays ``RUNNING`` in the storage: it is not a finished trial and is never counted or repeated.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import json
import math
import time
from collections.abc import Callable, Iterator
from typing import Any, Literal

import numpy as np

from squeezenext.accel.cost import HardwareArrays
from squeezenext.accel.hardware import HardwareConfig
from squeezenext.search.accuracy import AccuracyJudge
from squeezenext.search.evaluate import SegmentCosts, distribution_metrics, evaluate_fixed_network, segment_costs
from squeezenext.search.latency import onnx_latency_ms
from squeezenext.search.objectives import MAXIMIZED, METRICS, OBJECTIVES
from squeezenext.search.request import STUDY_NAME, Candidate, SearchRequest, SearchResult, select_front
from squeezenext.search.space import SearchError, Template
from squeezenext.search.storage import masked, sqlite_path
from squeezenext.sources import parse_network
from squeezenext.specs import SqueezeNextSpec

OPEN_ATTEMPTS = 5
"""Workers that start together on a new storage race to create its tables; the losers open it again."""
SCHEMA_RACES = ("already exists", "UNIQUE constraint failed", "duplicate key")
"""What a database says when two workers create the same tables at once."""
SQLITE_TIMEOUT_S = 60
"""How long a SQLite writer waits for another worker's write lock (SQLite's default is 5 s)."""
RECHECK_EVERY = 10
"""Trials between two reads of the storage's finished-trial count (other workers add to it)."""


def _definition(request: SearchRequest) -> str:
    """The parts of a request that define the study (a resumed or shared study must match them)."""
    return json.dumps(
        {
            "base": request.base,
            "space": request.space,
            "hardware": request.hardware,
            "network_space": repr(request.network_space),
            "hardware_space": repr(request.hardware_space),
            "objectives": list(request.objectives),
            "constraints": [str(c) for c in request.constraints],
            "input_size": request.input_size,
            **({"rungs": list(request.rungs)} if "error_pct" in request.measured_metrics() else {}),
            **({"latency_backend": request.latency_backend} if "latency_ms" in request.measured_metrics() else {}),
        },
        sort_keys=True,
    )


def _choices(request: SearchRequest, base: HardwareConfig) -> dict[str, list[Any]]:
    """Every categorical parameter with more than one value (plus the blocks, handled apart)."""
    choices: dict[str, list[Any]] = {}
    if request.space != "hardware":
        space = request.network_space
        if space.total_blocks:
            choices["blocks"] = ["-".join(map(str, row)) for row in space.distributions()]
        for name, values in (
            ("width", space.widths),
            ("stem_kernel", space.stem_kernels),
            ("groups", space.groups),
            ("v5_wiring", space.v5_wirings),
            ("head_channels", space.head_channels),
            ("input_size", space.input_sizes),
        ):
            choices[name] = list(values)
    if request.space != "network":
        hw = request.hardware_space
        choices["array"] = [f"{r}x{c}" for r, c in hw.shapes()]
        choices["gb_kib"] = list(hw.gb_kib)
        choices["gb_split"] = ["/".join(f"{v:g}" for v in split) for split in hw.split_choices(base)]
        choices["dram_bandwidth"] = list(hw.dram_bandwidths)
        choices["dataflows"] = ["+".join(d) for d in hw.dataflow_sets]
    return choices


class _Evaluator:
    """Metrics of one candidate at a time, with segment costs cached per (template, accelerator)."""

    def __init__(self, request: SearchRequest, spec: SqueezeNextSpec | None, base: HardwareConfig) -> None:
        self.request, self.spec, self.base = request, spec, base
        self.segments: dict[tuple[Template, HardwareConfig], SegmentCosts] = {}
        self.latency: dict[object, float] = {}
        self.errors: dict[object, dict[str, float]] = {}
        self.judge: AccuracyJudge | None = None
        self.workload = None if spec is not None else parse_network(request.base).workload(request.input_size)

    def hardware(self, params: dict[str, Any]) -> HardwareConfig:
        if self.request.space == "network":
            return self.base
        rows, cols = (int(v) for v in params["array"].split("x"))
        split = tuple(float(v) for v in params["gb_split"].split("/"))
        dataflows = tuple(params["dataflows"].split("+"))
        return self.base.replace(
            name=f"{params['array']} {params['gb_kib']:g}KiB {params['gb_split']} {params['dram_bandwidth']:g}B/c "
            f"{params['dataflows']}",
            rows=rows, cols=cols, gb_kib=float(params["gb_kib"]), gb_split=split,
            dram_bandwidth=float(params["dram_bandwidth"]), dataflows=dataflows,
        )  # fmt: skip

    def network(self, params: dict[str, Any]) -> tuple[Template, tuple[int, int, int, int]] | None:
        if self.spec is None:
            return None
        if self.request.space == "hardware":
            return Template.of(self.spec, self.request.input_size), self.spec.blocks
        template = Template(
            float(params["width"]), params["stem_kernel"], params["groups"], params["v5_wiring"],
            params["head_channels"], params["input_size"], self.request.network_space.stem_channels,
        )  # fmt: skip
        if "blocks" in params:
            blocks = tuple(int(b) for b in params["blocks"].split("-"))
        else:
            blocks = tuple(int(params[f"blocks_{s + 1}"]) for s in range(4))
        return template, blocks  # type: ignore[return-value]

    def structure(self, params: dict[str, Any]) -> Candidate:
        """The design of a trial's parameters, without metrics."""
        network = self.network(params)
        template, blocks = network if network is not None else (None, None)
        return Candidate(self.hardware(params), {}, template, blocks)

    def candidate(self, params: dict[str, Any]) -> Candidate:
        hardware = self.hardware(params)
        network = self.network(params)
        if network is None:
            assert self.workload is not None
            values = evaluate_fixed_network(self.workload.layers, self.workload.params, [hardware])
            return self._measured(Candidate(hardware, {key: float(values[key][0]) for key in METRICS}))
        template, blocks = network
        key = (template, hardware)
        arrays = HardwareArrays.from_configs([hardware])
        if key not in self.segments:
            self.segments[key] = segment_costs(template, arrays, "time")
        values = distribution_metrics(self.segments[key], np.array([blocks]), arrays, template.width)
        return self._measured(Candidate(hardware, {k: float(values[k][0, 0]) for k in METRICS}, template, blocks))

    def _measured(self, candidate: Candidate) -> Candidate:
        """The candidate with its measured metrics (CPU latency, accuracy), when the search needs them; one
        measurement per network (the accelerator does not change it)."""
        needed = self.request.measured_metrics()
        if not needed:
            return candidate
        spec = candidate.spec("candidate")
        key = (spec.blocks, candidate.template) if spec is not None else None
        network = spec if spec is not None else self.request.base
        measured: dict[str, float] = {}
        if "latency_ms" in needed:
            if key not in self.latency:
                self.latency[key] = onnx_latency_ms(
                    network, self.request.input_size, backend=self.request.latency_backend
                )
            measured["latency_ms"] = self.latency[key]
        if "error_pct" in needed:
            if key not in self.errors:
                if self.judge is None:
                    self.judge = AccuracyJudge(_storage(self.request.storage), self.request.rungs, self.request.seed)
                self.errors[key] = self.judge.error(network)
            measured.update(self.errors[key])
        return dataclasses.replace(candidate, metrics={**candidate.metrics, **measured})


def _stored(evaluator: _Evaluator, trial: Any) -> Candidate:
    """A finished trial's design with the metrics stored for it (measured ones are not measured again)."""
    design = evaluator.structure(trial.params)
    return dataclasses.replace(design, metrics=dict(trial.user_attrs["metrics"]))


def _suggest(trial: Any, request: SearchRequest, choices: dict[str, list[Any]]) -> dict[str, Any]:
    params = {name: trial.suggest_categorical(name, values) for name, values in choices.items()}
    if request.space != "hardware" and not request.network_space.total_blocks:
        space = request.network_space
        for s in range(4):
            params[f"blocks_{s + 1}"] = trial.suggest_int(f"blocks_{s + 1}", space.min_blocks, space.max_blocks)
    return params


def _storage(url: str | None) -> Any:
    """An Optuna storage for a URL (None: in memory); SQLite gets a longer lock timeout for several workers."""
    import optuna

    if url is None or not url.startswith("sqlite:"):
        return url
    return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": SQLITE_TIMEOUT_S}})


@contextlib.contextmanager
def _creation_lock(url: str | None) -> Iterator[None]:
    """Workers on one machine create an SQLite storage one at a time (an advisory lock on the database file
    itself, which SQLite's own POSIX locks do not see); a database file this call created and left empty is
    removed when the creation fails."""
    database = None if url is None else sqlite_path(url)
    if database is None:
        yield
        return
    created = not database.exists()
    try:
        with database.open("ab") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
    except BaseException:
        if created and database.is_file() and database.stat().st_size == 0:
            database.unlink()
        raise


def _open_study(request: SearchRequest, sampler_name: str) -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directions: list[Literal["minimize", "maximize"]] = [
        "maximize" if o in MAXIMIZED else "minimize" for o in request.objectives
    ]
    sampler: Any
    if sampler_name == "nsga2":
        sampler = optuna.samplers.NSGAIISampler(seed=request.seed)
    else:
        sampler = optuna.samplers.TPESampler(seed=request.seed, multivariate=True)
    for attempt in range(OPEN_ATTEMPTS):
        try:
            with _creation_lock(request.storage):
                study = optuna.create_study(
                    storage=_storage(request.storage), study_name=STUDY_NAME, directions=directions,
                    sampler=sampler, load_if_exists=request.resume,
                )  # fmt: skip
            break
        except optuna.exceptions.DuplicatedStudyError:
            raise SearchError(
                f"the storage already holds a search ({STUDY_NAME}); continue it with --resume (every worker of a "
                "shared storage passes --resume), start afresh in another --storage, or delete the study: "
                f"optuna delete-study --study-name {STUDY_NAME} --storage URL"
            ) from None
        except Exception as error:  # SQLAlchemy's connection errors, bad URLs, missing drivers
            detail = " ".join(str(error).split())[:300]
            if any(race in detail for race in SCHEMA_RACES) and attempt + 1 < OPEN_ATTEMPTS:
                time.sleep(0.2 * (attempt + 1))  # another worker is creating the same tables: open it again
                continue
            url = masked(request.storage or "")
            raise SearchError(f"cannot open the Optuna storage {url!r}: {masked(detail)}") from None
    definition = _definition(request)
    stored = study.user_attrs.get("definition")
    if stored is None:
        study.set_user_attr("definition", definition)
    elif stored != definition:
        raise SearchError(
            "the storage holds a search with another definition (space, objectives, constraints, base or hardware); "
            "resume it with the same options, or use another --out or --storage"
        )
    return study


def optuna_search(
    request: SearchRequest,
    spec: SqueezeNextSpec | None,
    base: HardwareConfig,
    sampler_name: str,
    progress: Callable[[int, int], None] | None,
) -> SearchResult:
    """Run (or continue) the Optuna study until it holds ``request.trials`` finished trials; return its front."""
    from optuna.trial import TrialState

    study = _open_study(request, sampler_name)
    choices = _choices(request, base)
    evaluator = _Evaluator(request, spec, base)

    def finished() -> int:
        return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))

    done = finished()
    since_check = 0
    while done < request.trials:
        trial = study.ask()
        params = _suggest(trial, request, choices)
        design = evaluator.candidate(params)
        violations = [float(c.violation(np.array([design.metrics[c.key]]))[0]) for c in request.constraints]
        for constraint, violation in zip(request.constraints, violations, strict=True):
            trial.set_constraint(str(constraint), violation if math.isfinite(violation) else 1e300)
        trial.set_user_attr("metrics", design.metrics)
        study.tell(trial, [design.metrics[OBJECTIVES[o]] for o in request.objectives])
        done += 1
        since_check += 1
        if since_check >= RECHECK_EVERY:
            done, since_check = finished(), 0
        if progress:
            progress(min(done, request.trials), request.trials)
    trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    keys = list(trials[0].user_attrs["metrics"]) if trials else list(METRICS)
    metrics = {key: np.array([t.user_attrs["metrics"][key] for t in trials], dtype=np.float64) for key in keys}
    result = select_front(request, metrics, lambda i: _stored(evaluator, trials[i]), None)
    history = [dict(t.user_attrs["metrics"]) for t in sorted(trials, key=lambda t: t.number)]
    return SearchResult(
        request=request, front=result.front, evaluated=len(trials), feasible=result.feasible, references={},
        sampler=sampler_name, cloud=result.cloud, history=history,
    )  # fmt: skip
