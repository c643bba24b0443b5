"""``squeezenext calibrate``: measure the SqueezeNext family on this CPU and write a CPU latency profile
(:mod:`squeezenext.accel.cpu_latency` defines the model and the file).

Per (width, input size) eight networks are exported to ONNX and timed as the runtime really runs them (after its
fusions, at batch 1, with the bench's allocator settings): one block per stage with stem kernels 3, 5 and 7
(v5 wiring off), the stem-5 one with v5 wiring, and four with ``EXTRA_BLOCKS`` more blocks in one stage. Every
network is timed in ``rounds`` interleaved rounds (each in one worker process over all networks, in a shuffled
order) and keeps its fastest round, so a burst of load must hit the same network in every round to distort it.

Interrupted calibration leaves no profile: the exported files and the finished measurements stay in
``OUT.parts/`` and the same command continues from them; the profile is written at the end, atomically, and
the folder removed.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import multiprocessing
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from squeezenext.accel import cpu_latency
from squeezenext.accel.cpu_latency import PROFILE_FORMAT, PROFILE_VERSION, CalibratedPoint, CpuProfile, ProfileMachine
from squeezenext.deploy.backends import ONNX_FILE_OF, check_backend, runtime_version
from squeezenext.deploy.profile import check_memory
from squeezenext.deploy.timing import ALLOCATOR_ENV, INPUT_SEED, Case, file_runner, measure
from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import read_jsonl
from squeezenext.machine import check_thread_count
from squeezenext.search.space import Template
from squeezenext.sources import parse_network
from squeezenext.specs import STAGES

CALIBRATION_BACKENDS = tuple(ONNX_FILE_OF)
"""The runtimes a profile can be calibrated for: the bench backends that run an exported ONNX file."""
DEFAULT_WIDTHS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
"""Every width of the search space's grid: latency does not follow MACs between widths (onnxruntime's channel
blocking makes 0.75 and 1.25 slower than interpolation says, docs/cpu_latency.md), so each is measured."""
DEFAULT_THREADS = min(2, os.cpu_count() or 1)
"""Two inference threads, as the committed profiles were measured (one on a one-CPU machine)."""
DEFAULT_INPUT_SIZES = (224, 227)
STEM_KERNELS = (3, 5, 7)
"""The stems of the search space (docs/search.md, section 1)."""
REFERENCE_STEM = 5
EXTRA_BLOCKS = 4
"""Blocks added to one stage to measure a repeated block's cost (enough for it to stand above the noise)."""
MIN_SECONDS = 0.5
MIN_ITERATIONS = 20
STATE_GATE = 1.15
"""A timing counts when the probe network (the first calibration network), timed just before and after it, ran
within this factor of its fastest time in the calibration. Measured on the 2-core AMD EPYC VM: the machine
switches, for minutes at a time, between a state where two threads run on two cores and one where the second
vCPU is held elsewhere (the same session at 0.74 and 1.63 ms; one thread at 1.31 and 1.37 ms), so a timing taken
in the slow state is retried (docs/cpu_latency.md)."""
PROBE_RUNS = 20
RETRY_SECONDS = 180.0
"""How long networks without a clean timing are retried (waiting for the fast state) before the calibration
takes their fastest timing as it is and says so in the profile."""
WAIT_SECONDS = 0.5
EXPORT_PROCESSES = 2
ONE_BLOCK = (1, 1, 1, 1)


@dataclass(frozen=True)
class CalibrationNetwork:
    """One network that is measured: a template and a block distribution."""

    width: float
    input_size: int
    stem_kernel: int
    v5_wiring: bool
    blocks: tuple[int, int, int, int]

    @property
    def key(self) -> str:
        wiring = "v5" if self.v5_wiring else "std"
        return f"w{self.width:g}-s{self.input_size}-k{self.stem_kernel}-{wiring}-b{''.join(map(str, self.blocks))}"

    def template(self) -> Template:
        return Template(self.width, self.stem_kernel, 1, self.v5_wiring, 128, self.input_size)


@dataclass(frozen=True)
class CalibrationRequest:
    backend: str = "onnxruntime"
    threads: int = DEFAULT_THREADS
    widths: tuple[float, ...] = DEFAULT_WIDTHS
    input_sizes: tuple[int, ...] = DEFAULT_INPUT_SIZES
    rounds: int = 3

    def __post_init__(self) -> None:
        for option, values in (("--widths", self.widths), ("--input-sizes", self.input_sizes)):
            repeated = sorted({f"{v:g}" for v in values if values.count(v) > 1})
            if repeated:
                raise SqueezeNextError(f"{option}: {', '.join(repeated)} given more than once")
        check_thread_count(self.threads)


def calibration_networks(widths: tuple[float, ...], input_sizes: tuple[int, ...]) -> list[CalibrationNetwork]:
    """The networks one calibration measures, eight per (width, input size)."""
    networks = []
    for width in widths:
        for size in input_sizes:
            networks += [CalibrationNetwork(width, size, k, False, ONE_BLOCK) for k in STEM_KERNELS]
            networks.append(CalibrationNetwork(width, size, REFERENCE_STEM, True, ONE_BLOCK))
            networks += [
                CalibrationNetwork(width, size, REFERENCE_STEM, False, _stage_blocks(stage)) for stage in range(STAGES)
            ]
    return networks


def _stage_blocks(stage: int) -> tuple[int, int, int, int]:
    """One block per stage, and ``1 + EXTRA_BLOCKS`` in ``stage``."""
    blocks = [1] * STAGES
    blocks[stage] += EXTRA_BLOCKS
    return (blocks[0], blocks[1], blocks[2], blocks[3])


def derive_points(ms: dict[str, float], request: CalibrationRequest) -> tuple[CalibratedPoint, ...]:
    """The profile's points from the fastest round of every network (see the model in cpu_latency)."""
    points = []
    for width in request.widths:
        for size in request.input_sizes:
            at = {(n.stem_kernel, n.v5_wiring, n.blocks): ms[n.key] for n in calibration_networks((width,), (size,))}
            reference = at[(REFERENCE_STEM, False, ONE_BLOCK)]
            stages = [(at[(REFERENCE_STEM, False, _stage_blocks(s))] - reference) / EXTRA_BLOCKS for s in range(STAGES)]
            points.append(
                CalibratedPoint(
                    width=width,
                    input_size=size,
                    base_ms=tuple(at[(k, False, ONE_BLOCK)] for k in STEM_KERNELS),
                    v5_wiring_ms=at[(REFERENCE_STEM, True, ONE_BLOCK)] - reference,
                    block_ms=(stages[0], stages[1], stages[2], stages[3]),
                )
            )
    return tuple(points)


def probe_network(profile: CpuProfile) -> CalibrationNetwork | None:
    """The probe ``profile``'s calibration timed beside every network (its first network), when the profile
    names it (older profiles do not)."""
    probe = CalibrationNetwork(profile.widths[0], profile.input_sizes[0], STEM_KERNELS[0], False, ONE_BLOCK)
    return probe if profile.state_probe.get("network") == probe.key else None


def parts_folder(out: Path) -> Path:
    """Where an unfinished calibration keeps its exports and measurements."""
    return out.with_name(out.name + ".parts")


def _request_record(request: CalibrationRequest) -> dict[str, Any]:
    return {**asdict(request), "widths": list(request.widths), "input_sizes": list(request.input_sizes)}


def _open_parts(parts: Path, request: CalibrationRequest) -> None:
    record = parts / "request.json"
    wanted = _request_record(request)
    if record.exists():
        if json.loads(record.read_text()) != wanted:
            raise SqueezeNextError(
                f"{parts} holds an unfinished calibration with other options ({record.read_text().strip()}); "
                "rerun it with those options to finish it, or delete the folder"
            )
        return
    parts.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(wanted) + "\n")


def export_networks(
    networks: list[CalibrationNetwork], backend: str, parts: Path, tick: Callable[[], None]
) -> dict[str, str]:
    """ONNX files of every network for ``backend``, made in ``parts`` (existing ones are reused: a resumed run),
    in :data:`EXPORT_PROCESSES` processes (exporting is single-threaded Python and torch work)."""
    todo = [network for network in networks if not (parts / network.key / "files.json").exists()]
    context = multiprocessing.get_context("spawn")  # no fork of a parent that may hold threads
    workers = max(1, min(EXPORT_PROCESSES, len(todo), os.cpu_count() or 1))
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        for done in concurrent.futures.as_completed([pool.submit(_export, n, backend, parts) for n in todo]):
            done.result()
            tick()
    for _ in range(len(networks) - len(todo)):
        tick()
    return {
        n.key: str(parts / n.key / json.loads((parts / n.key / "files.json").read_text())[backend]) for n in networks
    }


def _export(network: CalibrationNetwork, backend: str, parts: Path) -> None:
    """Export one network into ``parts/KEY`` (made in a scratch folder, then renamed: never half there)."""
    from squeezenext.deploy.bench import export_for_bench

    scratch = parts / f".{network.key}.tmp"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir()
    source = parse_network(network.template().spec(network.blocks, name=network.key))
    made = export_for_bench(source, network.input_size, scratch, (ONNX_FILE_OF[backend],))
    (scratch / "files.json").write_text(json.dumps({name: Path(path).name for name, path in made.items()}))
    folder = parts / network.key
    shutil.rmtree(folder, ignore_errors=True)
    scratch.rename(folder)


@dataclass(frozen=True)
class Timing:
    """One network's median in one round, and the probe network's median just before and after it (the worse)."""

    ms: float
    probe_ms: float


def clean(timings: list[Timing], best_probe_ms: float, threads: int) -> list[Timing]:
    """The timings taken while the machine was in its fast state: the probe within :data:`STATE_GATE` of its
    fastest time in the calibration (every timing at one thread: one thread does not see the state)."""
    return [t for t in timings if threads == 1 or t.probe_ms <= STATE_GATE * best_probe_ms]


def fastest_ms(timings: list[Timing], best_probe_ms: float, threads: int) -> float:
    """A network's latency: its fastest clean timing (its fastest of all when none is clean)."""
    return min(t.ms for t in clean(timings, best_probe_ms, threads) or timings)


@dataclass(frozen=True)
class TimedFile:
    """A network file to time: its key, its path and its input size."""

    key: str
    path: str
    input_size: int


def time_files(
    networks: list[TimedFile],
    request: CalibrationRequest,
    parts: Path,
    tick: Callable[[], None],
    probe_reference_ms: float = math.inf,
) -> dict[str, list[Timing]]:
    """Every file's timing in every round, interleaved, each beside the probe's (the first file); files without a
    clean timing are timed again, the worker waiting for the fast state, for up to :data:`RETRY_SECONDS`. Each
    finished timing is logged in ``parts`` and read back when the run is resumed. ``probe_reference_ms``: the
    probe's best time known from an earlier run on this machine (a short run may lie wholly in the slow state)."""
    log = parts / "measurements.jsonl"
    done: dict[str, dict[int, Timing]] = {network.key: {} for network in networks}
    if log.exists():
        for record in read_jsonl(log):
            if record["key"] in done:
                done[record["key"]][record["round"]] = Timing(record["median_ms"], record["probe_ms"])
    for key in done:
        for round_index in done[key]:
            if round_index < request.rounds:
                tick()
    probe = (networks[0].path, networks[0].input_size)

    def run_round(round_index: int, todo: list[TimedFile], wait_below_ms: float | None) -> None:
        items = [(n.key, n.path, n.input_size) for n in todo]
        for key, median_ms, probe_ms in _worker(items, probe, request, wait_below_ms, deadline):
            with log.open("a") as handle:
                record = {"key": key, "round": round_index, "median_ms": median_ms, "probe_ms": probe_ms}
                handle.write(json.dumps(record) + "\n")
            done[key][round_index] = Timing(median_ms, probe_ms)
            if round_index < request.rounds:
                tick()

    deadline = time.time() + RETRY_SECONDS + 3600  # the regular rounds do not wait
    for round_index in range(request.rounds):
        order = random.Random(round_index).sample(networks, len(networks))  # no network always in the same slot
        todo = [n for n in order if round_index not in done[n.key]]
        if todo:
            run_round(round_index, todo, None)
    deadline = time.time() + RETRY_SECONDS
    round_index = max((r for timings in done.values() for r in timings), default=request.rounds - 1) + 1
    while time.time() < deadline:
        best = min(probe_reference_ms, *(t.probe_ms for timings in done.values() for t in timings.values()))
        unclean = [n for n in networks if not clean(list(done[n.key].values()), best, request.threads)]
        if not unclean:
            break
        run_round(round_index, unclean, STATE_GATE * best)
        round_index += 1
    return {key: [timings[r] for r in sorted(timings)] for key, timings in done.items()}


def _worker(
    todo: list[tuple[str, str, int]],
    probe: tuple[str, int],
    request: CalibrationRequest,
    wait_below_ms: float | None,
    deadline: float,
) -> Iterator[tuple[str, float, float]]:
    """Time ``todo`` in one worker process with the bench's allocator settings, one result line per network."""
    env = {**os.environ, **ALLOCATOR_ENV, "OMP_NUM_THREADS": str(request.threads)}
    payload = json.dumps({"backend": request.backend, "threads": request.threads, "networks": todo, "probe": probe,
                          "wait_below_ms": wait_below_ms, "deadline": deadline})  # fmt: skip
    command = [sys.executable, "-m", "squeezenext.deploy.calibrate", payload]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None and process.stderr is not None
        for line in process.stdout:
            record = json.loads(line)
            yield record["key"], record["median_ms"], record["probe_ms"]
        error = process.stderr.read().strip()
    if process.returncode != 0:
        last = error.splitlines()[-1] if error else f"exit status {process.returncode}"
        raise SqueezeNextError(f"timing the calibration networks in {request.backend} failed: {last}")


def calibrate(request: CalibrationRequest, out: Path, progress: Callable[[int], Callable[[], None]]) -> CpuProfile:
    """Measure, derive and return the profile (the caller writes it); ``progress(total)`` gives a tick."""
    check_backend(request.backend, CALIBRATION_BACKENDS)
    started = time.perf_counter()
    networks = calibration_networks(request.widths, request.input_sizes)
    for network in networks:  # an impossible width or size is refused before anything is written
        workload = parse_network(network.template().spec(network.blocks, name=network.key)).workload(network.input_size)
        check_memory(workload.layers, 1, network.key, "calibrate smaller --input-sizes or --widths")
    parts = parts_folder(out)
    _open_parts(parts, request)
    tick = progress(len(networks) * (1 + request.rounds))
    files = export_networks(networks, request.backend, parts, tick)
    rounds = time_files([TimedFile(n.key, files[n.key], n.input_size) for n in networks], request, parts, tick)
    best_probe = min(t.probe_ms for timings in rounds.values() for t in timings)
    fastest = {key: fastest_ms(timings, best_probe, request.threads) for key, timings in rounds.items()}
    unclean = sorted(key for key, timings in rounds.items() if not clean(timings, best_probe, request.threads))
    profile = CpuProfile(
        format=PROFILE_FORMAT,
        version=PROFILE_VERSION,
        backend=request.backend,
        runtime_version=runtime_version(request.backend) or "unknown",
        threads=request.threads,
        batch=1,
        machine=ProfileMachine.here(),
        stem_kernels=STEM_KERNELS,
        extra_blocks=EXTRA_BLOCKS,
        rounds=request.rounds,
        calibration_seconds=time.perf_counter() - started,
        points=derive_points(fastest, request),
        model=" ".join((cpu_latency.__doc__ or "").split()),
        measurements=tuple(
            {
                **asdict(network),
                "blocks": list(network.blocks),
                "rounds_ms": [t.ms for t in rounds[network.key]],
                "probe_ms": [t.probe_ms for t in rounds[network.key]],
            }
            for network in networks
        ),
        state_probe={
            "network": networks[0].key,
            "best_ms": best_probe,
            "gate": STATE_GATE,
            "networks_without_a_clean_timing": unclean,
        },
    )
    return profile


def remove_parts(out: Path) -> None:
    shutil.rmtree(parts_folder(out), ignore_errors=True)


def _worker_main(payload: dict[str, Any]) -> None:
    """Worker entry: time each network file between two probes and print ``{"key", "median_ms", "probe_ms"}`` per
    line as it finishes; with ``wait_below_ms``, first wait (until ``deadline``) for the probe to run that fast."""
    backend, threads = payload["backend"], payload["threads"]
    probe_path, probe_size = payload["probe"]
    probe_case = Case("probe", backend, 1, probe_size, threads, 0.0, PROBE_RUNS, probe_path)
    probe_run = file_runner(probe_case)
    probe_input = np.random.default_rng(INPUT_SEED).standard_normal(probe_case.input_shape).astype(np.float32)

    def probe_ms() -> float:
        times = []
        for _ in range(PROBE_RUNS):
            started = time.perf_counter()
            probe_run(probe_input)
            times.append(time.perf_counter() - started)
        return 1e3 * statistics.median(times)

    probe_ms()  # warm-up
    for key, path, size in payload["networks"]:
        if payload["wait_below_ms"] is not None:
            while probe_ms() > payload["wait_below_ms"] and time.time() < payload["deadline"]:
                time.sleep(WAIT_SECONDS)
        before = probe_ms()
        case = Case(key, backend, 1, size, threads, MIN_SECONDS, MIN_ITERATIONS, path)
        median_ms = 1e3 * statistics.median(measure(case)["times"])
        record = {"key": key, "median_ms": median_ms, "probe_ms": max(before, probe_ms())}
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    _worker_main(json.loads(sys.argv[1]))
