"""Using a CPU latency profile on this machine (``simulate`` and ``search --hardware PROFILE``): its runtime must
be installed, and where it was measured elsewhere the predictions say so (a light module: no PyTorch)."""

from __future__ import annotations

import sys
from pathlib import Path

from squeezenext.accel.cpu_latency import CpuProfile, ProfileError, ProfileMachine, differences, load_profile
from squeezenext.deploy.backends import ONNX_FILE_OF, missing_runtime, runtime_version


def open_profile(path: Path) -> CpuProfile:
    """The profile at ``path``; a damaged one, or one whose runtime is not installed here, is a ProfileError."""
    profile = load_profile(path)
    if profile.backend not in ONNX_FILE_OF:
        raise ProfileError(
            f"{path}: backend {profile.backend!r} is not a calibrated runtime: one of {', '.join(ONNX_FILE_OF)}"
        )
    hint = missing_runtime(profile.backend)
    if hint is not None:
        raise ProfileError(f"{path} is a profile of {profile.backend}, which is not installed: {hint}")
    return profile


def differences_here(profile: CpuProfile) -> list[str]:
    """What differs between where the profile was measured and this machine, runtime version and its threads."""
    return differences(profile, ProfileMachine.here(), runtime_version(profile.backend), profile.threads)


def warn_if_measured_elsewhere(profile: CpuProfile, path: Path) -> None:
    """One warning line per difference between where the profile was measured and this machine and runtime."""
    for difference in differences_here(profile):
        print(f"warning: {path}: {difference}; its predictions are for that machine", file=sys.stderr)


def require_measured_here(profile: CpuProfile, path: Path, use: str) -> None:
    """Refuse a profile measured on another machine, runtime version or thread count where ``use`` (words for a
    message) times networks here and compares them with its predictions."""
    found = differences_here(profile)
    if found:
        raise ProfileError(
            f"{path}: {found[0]}; {use} compares its predictions with timings on this machine, so it needs a "
            "profile calibrated here (squeezenext calibrate --out 'docs/results/cpu_profile-{cpu_kind}-BACKEND.yaml')"
        )
