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
