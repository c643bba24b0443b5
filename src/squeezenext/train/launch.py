"""Start a training run: in this process, or as ``cpu_processes`` data-parallel processes on this machine's CPU.

On a CPU, when a step is many short operators (small layers, small batches), the threads of one process wait for
each other; single-thread processes, each on its share of the global batch with gradients averaged (gloo, as
under torchrun), do not. ``python benchmarks/train_speed.py`` measures both ways on the machine at hand
(docs/training.md, "Speed").

The processes meet through a file store in a private temporary folder (no network port). Rank 0 owns the
output folder, logs and writes checkpoints, exactly as under torchrun. A library error in any process ends the
whole run with that process's one line; Ctrl-C and SIGTERM stop every process after its current step, with
rank 0's checkpoint written (``--resume auto`` continues).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from squeezenext.errors import SIGNAL_EXIT_BASE, SqueezeNextError
from squeezenext.fileio import atomic_write_text, error_line
from squeezenext.machine import default_threads
from squeezenext.train.config import TrainConfig, TrainConfigError

DISTRIBUTED_ENV = "WORLD_SIZE"
"""Set by torchrun (and by :func:`run_training` in its processes): the run is already distributed."""
STOP_GRACE_S = 30.0
"""How long the other processes get to stop after one failed, before they are killed."""
REPORT_SUFFIX = ".report.json"
"""Each process's report (:class:`_Report`) in the run's private temporary folder."""
_PR_SET_PDEATHSIG = 1


class WorkerError(SqueezeNextError):
    """A training process stopped on an error; the message is that process's one line."""


class TrainingStoppedError(SqueezeNextError):
    """A run that a signal stopped before its end; ``exit_status`` is the status a shell reports for that
    signal."""

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.exit_status = SIGNAL_EXIT_BASE + signal_number


@dataclass(frozen=True)
class _Report:
    """What a process sends back: rank 0's outcome, or the error that stopped a process."""

    rank: int
    outcome: dict[str, Any] | None = None
    error: str | None = None
    bug: str | None = None
    """The traceback of an error that is not the user's (a bug, or a peer's death seen by gloo)."""
    interrupted: bool = False


def spawns_processes(config: TrainConfig) -> bool:
    """Whether :func:`run_training` starts ``config.cpu_processes`` processes: more than one asked for, the run
    is on the CPU, and it is not already one process of a distributed run (torchrun)."""
    if config.cpu_processes == 1 or DISTRIBUTED_ENV in os.environ:
        return False
    from squeezenext.train.engine import wants_cuda

    return not wants_cuda(config)


def run_training(config: TrainConfig, resume: str | None = None) -> dict[str, Any]:
    """Train ``config`` to its end (or to a stop signal) and return rank 0's outcome (``Trainer.fit``)."""
    if not spawns_processes(config):
        from squeezenext.train.engine import Trainer

        return Trainer(config).fit(resume)
    from squeezenext.train.data import build_data

    cpus = os.cpu_count() or 1
    if config.cpu_processes > cpus:
        raise TrainConfigError(
            f"cpu_processes {config.cpu_processes} is more than the {cpus} CPUs of this machine; use at most {cpus}"
        )
    build_data(config)  # fetch or unpack the data once, here: the processes then only read it
    return _spawn(config, resume)


def threads_per_process(processes: int) -> int:
    """An equal share of this process's CPUs, at least one."""
    return max(1, default_threads() // processes)


def _spawn(config: TrainConfig, resume: str | None) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="squeezenext-train-") as folder:
        processes = [
            context.Process(target=_worker, args=(rank, config, resume, folder), name=f"training process {rank}")
            for rank in range(config.cpu_processes)
        ]
        with _forwarded_signals(processes) as received:
            for process in processes:
                process.start()
            _wait(processes)
        reports = sorted((_read_report(path) for path in Path(folder).glob(f"*{REPORT_SUFFIX}")), key=_rank)
    return _outcome(reports, processes, received)


def _report_path(folder: str, rank: int) -> Path:
    return Path(folder) / f"{rank}{REPORT_SUFFIX}"


def _rank(report: _Report) -> int:
    return report.rank


def _read_report(path: Path) -> _Report:
    return _Report(**json.loads(path.read_text()))


def _wait(processes: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """Until every process has exited; once one fails, the others get :data:`STOP_GRACE_S` before a kill."""
    running = list(processes)
    grace: float | None = None
    while running:
        ready = multiprocessing.connection.wait([p.sentinel for p in running], timeout=grace)
        if not ready:  # the grace period passed
            for process in running:
                process.kill()
            grace = None
            continue
        for process in [p for p in running if p.sentinel in ready]:
            process.join()
            running.remove(process)
            if process.exitcode != 0 and grace is None:
                for other in running:
                    other.terminate()
                grace = STOP_GRACE_S


def _outcome(
    reports: list[_Report], processes: Sequence[multiprocessing.process.BaseProcess], received: list[int]
) -> dict[str, Any]:
    """Rank 0's outcome, or what explains the failure: a user's error (the lowest rank's), a stop signal, a
    killed process, a bug."""
    errors = [r for r in reports if r.error is not None]
    if errors:
        raise WorkerError(errors[0].error or "")
    outcome = next((r.outcome for r in reports if r.rank == 0 and r.outcome is not None), None)
    if outcome is not None:
        return outcome
    if received or any(r.interrupted for r in reports):
        signum = received[0] if received else signal.SIGINT
        raise TrainingStoppedError(f"stopped by signal {signum} before the first step; nothing was written", signum)
    killed = [p for p in processes if p.exitcode is not None and p.exitcode < 0]
    if killed:
        name, signum = killed[0].name, -(killed[0].exitcode or 0)
        raise WorkerError(f"{name} was killed by signal {signum} (out of memory?); lower batch_size or cpu_processes")
    bugs = [r for r in reports if r.bug is not None]
    if bugs:
        print(bugs[0].bug, file=sys.stderr, end="")
        raise RuntimeError(f"training process {bugs[0].rank} failed (its traceback is above)")
    codes = ", ".join(f"{p.name}: {p.exitcode}" for p in processes)
    raise WorkerError(f"a training process ended without a result (exit status {codes}); run it again")


@contextmanager
def _forwarded_signals(processes: Sequence[multiprocessing.process.BaseProcess]) -> Iterator[list[int]]:
    """SIGINT and SIGTERM reach every process (which stop after their current step) instead of ending this
    one; yields the signals received."""
    received: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        for process in processes:
            if process.pid is not None and process.exitcode is None:
                with contextlib.suppress(ProcessLookupError):  # it may have exited since
                    os.kill(process.pid, signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _worker(rank: int, config: TrainConfig, resume: str | None, folder: str) -> None:
    """One process of the run: join the group, train, send rank 0's outcome or the error back."""
    _end_with_parent()
    world = config.cpu_processes
    os.environ.update({DISTRIBUTED_ENV: str(world), "RANK": str(rank), "LOCAL_RANK": str(rank)})
    try:
        import torch
        import torch.distributed as dist

        from squeezenext.train.engine import Trainer

        torch.set_num_threads(threads_per_process(world))
        dist.init_process_group("gloo", init_method=f"file://{folder}/store", rank=rank, world_size=world)
        try:
            outcome = Trainer(config).fit(resume)
        finally:
            dist.destroy_process_group()
        report = _Report(rank, outcome=outcome if rank == 0 else None)
    except KeyboardInterrupt:
        report = _Report(rank, interrupted=True)
    except (ValueError, OSError) as error:  # SqueezeNextError, value errors of the libraries, files
        report = _Report(rank, error=error_line(error))
    except Exception:  # reported to the parent, which decides what the user sees
        report = _Report(rank, bug=traceback.format_exc())
    atomic_write_text(_report_path(folder, rank), json.dumps(dataclasses.asdict(report)))
    if report.error or report.bug or report.interrupted:
        sys.exit(2)


def _end_with_parent() -> None:
    """Linux: this process gets SIGTERM (and stops after its step) if the process that started it dies."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def train_to_completion(config: TrainConfig) -> dict[str, Any]:
    """Train ``config`` to the end and return its outcome (for scripts that use the result); a run stopped by a
    signal is a :class:`TrainingStoppedError` naming its checkpoint, never an outcome without a test result."""
    outcome = run_training(config)
    if outcome.get("status") == "interrupted":
        raise TrainingStoppedError(
            f"training stopped by signal {outcome['signal']} at step {outcome['step']}; its checkpoint is "
            f"{outcome['checkpoint']} (the script does not resume runs: run it again)",
            int(outcome["signal"]),
        )
    return outcome
