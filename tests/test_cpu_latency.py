"""The calibrated CPU latency model: the profile format, the predictor's arithmetic on a hand-made table, the
interpolation, the warnings and refusals, and one real (tiny) calibration."""

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from squeezenext.accel.cpu_latency import (
    PROFILE_FORMAT,
    CalibratedPoint,
    CpuProfile,
    ProfileError,
    ProfileMachine,
    differences,
    load_profile,
)
from squeezenext.cli import main
from squeezenext.deploy.calibrate import (
    EXTRA_BLOCKS,
    STATE_GATE,
    CalibrationRequest,
    Timing,
    calibration_networks,
    clean,
    derive_points,
    fastest_ms,
    probe_network,
)
from squeezenext.registry import get_spec

MACHINE = ProfileMachine("AMD EPYC", ("AVX2", "FMA"), 2, "amd-avx2")


def point(width: float, scale: float) -> CalibratedPoint:
    """A hand-made point: bases 1/2/3 ms (stems 3/5/7) times ``scale``, v5 wiring +0.5 ms, blocks 0.1-0.4 ms."""
    return CalibratedPoint(width, 227, (1.0 * scale, 2.0 * scale, 3.0 * scale), 0.5, (0.1, 0.2, 0.3, 0.4))


def profile(**changes: Any) -> CpuProfile:
    fields = {
        "format": PROFILE_FORMAT, "version": 1, "backend": "onnxruntime", "runtime_version": "1.32.0", "threads": 2,
        "batch": 1, "machine": MACHINE, "stem_kernels": (3, 5, 7), "extra_blocks": 4, "rounds": 3,
        "calibration_seconds": 60.0, "points": (point(1.0, 1.0), point(2.0, 4.0)),
    }  # fmt: skip
    return CpuProfile(**{**fields, **changes})


def test_prediction_is_base_plus_repeated_blocks_by_hand() -> None:
    """v5: blocks [2, 4, 14, 1], stem 5, v5 wiring: 2.0 + 0.5 + 1x0.1 + 3x0.2 + 13x0.3 + 0x0.4 = 7.1 ms."""
    prediction = profile().predict(get_spec("sqnxt23v5_w1"), 227)
    assert prediction.base_ms == pytest.approx(2.5)
    assert prediction.stage_ms == pytest.approx((0.1, 0.6, 3.9, 0.0))
    assert prediction.total_ms == pytest.approx(7.1)
    v1 = profile().predict(get_spec("sqnxt23_w1"), 227)  # [6, 6, 8, 1], stem 7, no v5 wiring
    assert v1.total_ms == pytest.approx(3.0 + 5 * 0.1 + 5 * 0.2 + 7 * 0.3)


def test_widths_between_calibrated_ones_are_interpolated_in_width_squared() -> None:
    """At width 1.5: (1.5^2 - 1) / (4 - 1) = 5/12 of the way from width 1's base to width 2's."""
    spec = dataclasses.replace(get_spec("sqnxt23_w1"), width=1.5, blocks=(1, 1, 1, 1), stem_kernel=3)
    share = (1.5**2 - 1.0) / (2.0**2 - 1.0)
    assert profile().predict(spec, 227).total_ms == pytest.approx(1.0 + share * (4.0 - 1.0))


def test_the_vectorized_path_agrees_with_the_per_network_one() -> None:
    rows = np.array([[2, 4, 14, 1], [6, 6, 8, 1], [1, 1, 1, 18]])
    many = profile().predict_distributions(get_spec("sqnxt23v5_w1"), 227, rows)
    one = [
        profile().predict(dataclasses.replace(get_spec("sqnxt23v5_w1"), blocks=tuple(row)), 227).total_ms
        for row in rows.tolist()
    ]
    assert many == pytest.approx(one)


@pytest.mark.parametrize(
    ("changes", "size", "message"),
    [
        ({"width": 2.5}, 227, r"width 2.5 is outside the calibrated widths 1-2"),
        ({}, 224, r"input size 224 is not calibrated \(\[227\]\)"),
        ({"stem_kernel": 9}, 227, r"stem kernel 9 is not calibrated"),
        ({"groups": 2}, 227, r"groups 2, .*calibrated for groups 1"),
    ],
)
def test_what_was_not_calibrated_is_refused(changes: dict[str, Any], size: int, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        profile().predict(dataclasses.replace(get_spec("sqnxt23v5_w1"), **changes), size)


def test_derived_points_invert_the_model() -> None:
    """Networks timed as the model says give back the model's numbers."""
    request = CalibrationRequest(widths=(1.0,), input_sizes=(227,))
    truth = point(1.0, 1.0)
    ms = {}
    for network in calibration_networks(request.widths, request.input_sizes):
        base = truth.base_ms[(3, 5, 7).index(network.stem_kernel)] + (truth.v5_wiring_ms if network.v5_wiring else 0)
        ms[network.key] = base + sum((b - 1) * c for b, c in zip(network.blocks, truth.block_ms, strict=True))
    assert len(ms) == 8 and max(max(n.blocks) for n in calibration_networks((1.0,), (227,))) == 1 + EXTRA_BLOCKS
    (derived,) = derive_points(ms, request)
    assert derived.base_ms == pytest.approx(truth.base_ms) and derived.block_ms == pytest.approx(truth.block_ms)
    assert derived.v5_wiring_ms == pytest.approx(truth.v5_wiring_ms)


def test_differences_name_machine_runtime_and_threads() -> None:
    other = ProfileMachine("Intel Xeon", ("AVX-512",), 2, "intel-avx512")
    found = differences(profile(), other, "1.33.0", 4)
    assert found == [
        "it was measured on AMD EPYC (amd-avx2), this is Intel Xeon (intel-avx512)",
        "it was measured with onnxruntime 1.32.0, this has 1.33.0",
        "it was measured with 2 threads, this run uses 4",
    ]
    assert differences(profile(), MACHINE, "1.32.0", 2) == []


def _write(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_the_file_round_trips(tmp_path: Path) -> None:
    written = _write(tmp_path / "p.yaml", profile().to_dict())
    assert load_profile(written) == profile()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(version=2), "expected 'squeezenext-cpu-latency-profile' version 1"),
        (lambda d: d["points"][0].update(base_ms=[1.0, 2.0]), "one base latency per stem kernel"),
        (lambda d: d["points"][0].update(base_ms=[-1.0, 2.0, 3.0]), "base latencies must be positive"),
        (lambda d: d["points"][0].update(block_ms=[0.1, 0.2, 0.3]), "block_ms must be a list of 4 finite numbers"),
        (lambda d: d["points"][0].update(v5_wiring_ms=float("nan")), "v5_wiring_ms must be a finite number"),
        (lambda d: d.update(points=[d["points"][0], d["points"][0]]), "every \\(width, input size\\)"),
        (lambda d: d.update(threads="two"), "threads must be an integer"),
        (lambda d: d.update(surprise=1), "unknown key\\(s\\) surprise"),
    ],
)
def test_a_damaged_profile_is_one_clear_error(tmp_path: Path, edit: Any, message: str) -> None:
    data = profile().to_dict()
    edit(data)
    with pytest.raises(ProfileError, match=message):
        load_profile(_write(tmp_path / "p.yaml", data))


def test_simulate_takes_a_profile_as_hardware(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    foreign = ProfileMachine("Test CPU", ("AVX2",), 2, "test-avx2")
    path = _write(tmp_path / "cpu.yaml", profile(machine=foreign).to_dict())
    assert main(["simulate", "sqnxt23v5_w1", "--hardware", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert payload["total"]["time_s"] == pytest.approx(7.1e-3)
    assert [part["blocks"] for part in payload["parts"]] == [4, 1, 3, 13, 0]
    assert f"warning: {path}: it was measured on Test CPU (test-avx2), this is" in captured.err


def test_a_real_tiny_calibration_predicts_its_own_networks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One width, one small size, one round: the profile is written, the parts folder removed, and the model
    predicts the networks it measured exactly (it was derived from them)."""
    out = tmp_path / "cpu.yaml"
    argv = ["calibrate", "--out", str(out), "--widths", "0.5", "--input-sizes", "32", "--rounds", "1"]
    assert main([*argv, "--threads", "1"]) == 0
    assert not (tmp_path / "cpu.yaml.parts").exists()
    found = load_profile(out)
    assert found.threads == 1 and found.widths == (0.5,) and len(found.measurements) == 8
    for measured in found.measurements:
        spec = dataclasses.replace(
            get_spec("sqnxt23_w1"), width=0.5, blocks=tuple(measured["blocks"]), stem_kernel=measured["stem_kernel"],
            v5_wiring=measured["v5_wiring"],
        )  # fmt: skip
        assert found.predict(spec, 32).total_ms == pytest.approx(min(measured["rounds_ms"]))
    assert main([*argv, "--threads", "1"]) != 0, "an existing profile is not replaced without --overwrite"
    assert "already exists; replace it with --overwrite" in capsys.readouterr().err


def test_search_ranks_designs_by_a_profile_and_measures_the_front(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`search --hardware PROFILE --objective time`: every distribution predicted (the fastest by hand: the one
    with the most blocks in the cheapest stage), the front re-measured beside v5 and SqueezeNet 1.0."""
    points = (CalibratedPoint(1.0, 32, (1.0, 2.0, 3.0), 0.5, (0.4, 0.3, 0.2, 0.1)),)
    path = _write(tmp_path / "cpu.yaml", profile(points=points).to_dict())
    argv = ["search", "--hardware", str(path), "--objective", "time", "--input-sizes", "32", "--stem-kernels", "3",
            "--wiring", "standard", "--total-blocks", "8", "--out", str(tmp_path / "s"), "--json"]  # fmt: skip
    assert main(argv) == 0
    found = json.loads(capsys.readouterr().out)
    (best,) = found["points"]
    assert best["blocks_per_stage"] == [1, 1, 1, 5] and best["time_ms"] == pytest.approx(1.0 + 4 * 0.1)
    assert [row["design"] for row in found["remeasured"]] == ["front-001", "v5", "SqueezeNet 1.0"]
    assert all(row["measured_ms"] > 0 for row in found["remeasured"])
    assert found["remeasured"][2]["predicted_ms"] is None, "SqueezeNet 1.0 is outside the family: not predicted"
    assert (tmp_path / "s" / "specs" / "front-001.yaml").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--objective", "time,energy"], "energy: a CPU latency profile predicts time only"),
        (["--objective", "time", "--space", "both"], "--space both searches accelerators"),
        (["--objective", "time", "--sampler", "nsga2"], "searched exhaustively"),
    ],
)
def test_search_refuses_what_a_profile_cannot_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    path = _write(tmp_path / "cpu.yaml", profile().to_dict())
    assert main(["search", "--hardware", str(path), "--out", str(tmp_path / "s"), *extra]) != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "s").exists() or not any((tmp_path / "s").iterdir())


def test_timings_count_only_in_the_machines_fast_state() -> None:
    """A timing whose probe ran more than STATE_GATE slower than the probe's best is set aside, unless none is
    clean; at one thread every timing counts (one thread does not see the second vCPU's state)."""
    timings = [Timing(2.0, 1.6), Timing(1.2, 0.75), Timing(1.1, 0.9), Timing(0.9, 1.63)]
    assert [t.ms for t in clean(timings, 0.74, threads=2)] == [1.2]
    assert fastest_ms(timings, 0.74, threads=2) == 1.2
    assert fastest_ms(timings, 0.74, threads=1) == 0.9
    assert fastest_ms([Timing(3.0, 1.6), Timing(2.5, 1.7)], 0.74, threads=2) == 2.5, "none clean: the fastest"
    assert STATE_GATE * 0.74 < 0.9 < 1.63 / STATE_GATE


def test_the_calibrations_probe_is_found_again_from_its_profile() -> None:
    """search --hardware re-times the calibration's own probe first, so that its best time in the profile says
    whether a short re-measurement lies wholly in the slow state; a profile that names no probe has none."""
    found = profile(state_probe={"network": "w1-s227-k3-std-b1111", "best_ms": 0.7})
    assert probe_network(found) == calibration_networks((1.0,), (227,))[0]
    assert probe_network(profile()) is None
