"""The library's error base: everything a user can get wrong raises a subclass of :class:`SqueezeNextError`.

The command line catches it in one place and prints its message as one line (``squeezenext: error: ...``),
exit status 2. Subclasses also derive from ``ValueError`` so that Python callers who catch the built-in
type keep working.
"""

from __future__ import annotations

SIGNAL_EXIT_BASE = 128
"""A command stopped by signal N exits with 128 + N (130 for Ctrl-C, 143 for SIGTERM), as shells report it."""


class SqueezeNextError(ValueError):
    """A bad input or an impossible request; the message says what was wrong and what to do."""


class OutputError(SqueezeNextError):
    """An output that cannot be written (no space, no permission, a folder in use)."""


class ModelError(SqueezeNextError):
    """An unknown model name, an impossible architecture or a state dict that does not fit."""


class CheckpointError(SqueezeNextError):
    """A checkpoint or weight file that is missing, unreadable or does not fit the model or the run."""


class ConfigError(SqueezeNextError):
    """A hardware config or workload file that cannot be used; the message says what to fix."""


EXTRA_OF_PACKAGE = {
    "torch": "torch",
    "torchvision": "torch",
    "onnxscript": "torch",
    "onnxconverter_common": "torch",
    "onnxruntime": "deploy",
    "openvino": "openvino",
    "executorch": "executorch",
    "psycopg": "postgresql",
}
"""The optional packages and the extra of pyproject.toml that installs each (the base install has none of them)."""


class MissingExtraError(SqueezeNextError):
    """A feature whose optional dependencies are not installed; the message names the extra that installs them."""

    def __init__(self, what: str, extra: str) -> None:
        super().__init__(f"{what}; install it with: pip install 'squeezenext[{extra}]'")


def missing_extra(error: ModuleNotFoundError, who: str) -> MissingExtraError | None:
    """The one-line error for an optional package ``who`` (a command) needs but that is not installed, or None for
    any other module."""
    package = (error.name or "").split(".")[0]
    if package not in EXTRA_OF_PACKAGE:
        return None
    return MissingExtraError(f"{who} needs {package}, which is not installed", EXTRA_OF_PACKAGE[package])
