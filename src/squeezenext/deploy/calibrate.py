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

import json
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

from squeezenext.accel import cpu_latency
from squeezenext.accel.cpu_latency import PROFILE_FORMAT, PROFILE_VERSION, CalibratedPoint, CpuProfile, ProfileMachine
from squeezenext.deploy.backends import ONNX_FILE_OF, check_backend, runtime_version
from squeezenext.deploy.timing import ALLOCATOR_ENV, Case, measure
from squeezenext.errors import SqueezeNextError
from squeezenext.fileio import read_jsonl
from squeezenext.search.space import Template
from squeezenext.sources import parse_network
from squeezenext.specs import STAGES

CALIBRATION_BACKENDS = tuple(ONNX_FILE_OF)
"""The runtimes a profile can be calibrated for: the bench backends that run an exported ONNX file."""
DEFAULT_WIDTHS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
"""Every width of the search space's grid: latency does not follow MACs between widths (onnxruntime's channel
blocking makes 0.75 and 1.25 slower than interpolation says, docs/cpu_latency.md), so each is measured."""
DEFAULT_INPUT_SIZES = (224, 227)
STEM_KERNELS = (3, 5, 7)
"""The stems of the search space (docs/search.md, section 1)."""
REFERENCE_STEM = 5
EXTRA_BLOCKS = 4
"""Blocks added to one stage to measure a repeated block's cost (enough for it to stand above the noise)."""
MIN_SECONDS = 0.5
MIN_ITERATIONS = 20
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
    threads: int = 2
    widths: tuple[float, ...] = DEFAULT_WIDTHS
    input_sizes: tuple[int, ...] = DEFAULT_INPUT_SIZES
    rounds: int = 3


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
    """ONNX files of every network for ``backend``, made in ``parts`` (existing ones are reused: a resumed run)."""
    from squeezenext.deploy.bench import export_for_bench

    files: dict[str, str] = {}
    for network in networks:
        folder = parts / network.key
        done = folder / "files.json"
        if not done.exists():
            scratch = parts / f".{network.key}.tmp"
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir()
            source = parse_network(network.template().spec(network.blocks, name=network.key))
            made = export_for_bench(source, network.input_size, scratch, (ONNX_FILE_OF[backend],))
            names = {name: Path(path).name for name, path in made.items()}
            (scratch / "files.json").write_text(json.dumps(names))
            shutil.rmtree(folder, ignore_errors=True)
            scratch.rename(folder)
        files[network.key] = str(folder / json.loads(done.read_text())[backend])
        tick()
    return files


def time_networks(
    networks: list[CalibrationNetwork],
    files: dict[str, str],
    request: CalibrationRequest,
    parts: Path,
    tick: Callable[[], None],
) -> dict[str, list[float]]:
    """Every network's median in every round, interleaved; each finished one is logged in ``parts`` and read back
    when the run is resumed."""
    log = parts / "measurements.jsonl"
    done: dict[tuple[str, int], float] = {}
    if log.exists():
        for record in read_jsonl(log):
            done[(record["key"], record["round"])] = record["median_ms"]
    for _ in done:
        tick()
    for round_index in range(request.rounds):
        order = random.Random(round_index).sample(networks, len(networks))  # no network always in the same slot
        todo = [(n.key, files[n.key], n.input_size) for n in order if (n.key, round_index) not in done]
        if not todo:
            continue
        for key, median_ms in _worker(todo, request):
            with log.open("a") as handle:
                handle.write(json.dumps({"key": key, "round": round_index, "median_ms": median_ms}) + "\n")
            done[(key, round_index)] = median_ms
            tick()
    return {key: [done[(key, r)] for r in range(request.rounds)] for key in files}


def _worker(todo: list[tuple[str, str, int]], request: CalibrationRequest) -> Iterator[tuple[str, float]]:
    """Time ``todo`` in one worker process with the bench's allocator settings, one result line per network."""
    env = {**os.environ, **ALLOCATOR_ENV, "OMP_NUM_THREADS": str(request.threads)}
    payload = json.dumps({"backend": request.backend, "threads": request.threads, "networks": todo})
    command = [sys.executable, "-m", "squeezenext.deploy.calibrate", payload]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None and process.stderr is not None
        for line in process.stdout:
            record = json.loads(line)
            yield record["key"], record["median_ms"]
        error = process.stderr.read().strip()
    if process.returncode != 0:
        last = error.splitlines()[-1] if error else f"exit status {process.returncode}"
        raise SqueezeNextError(f"timing the calibration networks in {request.backend} failed: {last}")


def calibrate(request: CalibrationRequest, out: Path, progress: Callable[[int], Callable[[], None]]) -> CpuProfile:
    """Measure, derive and return the profile (the caller writes it); ``progress(total)`` gives a tick."""
    check_backend(request.backend, CALIBRATION_BACKENDS)
    started = time.perf_counter()
    networks = calibration_networks(request.widths, request.input_sizes)
    parts = parts_folder(out)
    _open_parts(parts, request)
    tick = progress(len(networks) * (1 + request.rounds))
    files = export_networks(networks, request.backend, parts, tick)
    rounds = time_networks(networks, files, request, parts, tick)
    fastest = {key: min(values) for key, values in rounds.items()}
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
            {**asdict(network), "blocks": list(network.blocks), "rounds_ms": rounds[network.key]}
            for network in networks
        ),
    )
    return profile


def remove_parts(out: Path) -> None:
    shutil.rmtree(parts_folder(out), ignore_errors=True)


def _worker_main(payload: dict[str, Any]) -> None:
    """Worker entry: time each network file and print ``{"key", "median_ms"}`` per line as it finishes."""
    backend, threads = payload["backend"], payload["threads"]
    for key, path, size in payload["networks"]:
        case = Case(key, backend, 1, size, threads, MIN_SECONDS, MIN_ITERATIONS, path)
        times = measure(case)["times"]
        print(json.dumps({"key": key, "median_ms": 1e3 * statistics.median(times)}), flush=True)


if __name__ == "__main__":
    _worker_main(json.loads(sys.argv[1]))
