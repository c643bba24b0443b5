"""What a parsed YAML file is, so that a file given in the wrong place is named for what it is."""

from typing import Any

ACCELERATOR = "an accelerator description"
SPEC = "a network spec file"


def yaml_kind(data: Any) -> str | None:
    """The kind of squeezenext YAML ``data`` is (words for a message), or None when it is none of them."""
    from squeezenext.accel.cpu_latency import PROFILE_FORMAT

    if not isinstance(data, dict):
        return None
    if data.get("format") == PROFILE_FORMAT:
        return "a CPU latency profile (squeezenext calibrate)"
    if "format" in data:
        return f"a file of format {data['format']!r} (the one format squeezenext reads is {PROFILE_FORMAT!r})"
    if "rows" in data and "cols" in data:
        return ACCELERATOR
    if "blocks" in data:
        return SPEC
    return None
