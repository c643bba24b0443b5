"""File I/O shared by the package: atomic output, output checks and locks, strict YAML and JSON.

* Atomic output: every file is written to a temporary beside it (``.NAME.tmp-XXXX``) and renamed over the
  target, so a crash never leaves a half-written result; temporaries left by a killed process are removed
  by :func:`remove_stale_temporaries` when the next run takes the folder's lock.
* Output checks: long commands call :func:`check_writable` before they start, so an unwritable path
  fails in the first second, not after the work.
* Locks: :func:`output_lock` takes an exclusive ``flock`` on a folder or file, so two runs never write
  into the same place; the error names the process that holds it.
* Input: YAML with the safe loader and duplicate keys refused; JSON written without bare NaN;
  JSON-lines read tolerantly (a torn last line from a crash or a full disk is dropped and reported).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from squeezenext.errors import OutputError, SqueezeNextError

TEMPORARY_MARKER = ".tmp-"
"""Part of every temporary file name: ``.{target name}.tmp-{random}{target suffix}``."""
LOCK_NAME = ".lock"


def describe_os_error(error: OSError, path: str | Path, doing: str = "writing") -> str:
    """One line for an OSError met while ``doing`` something to ``path``."""
    if error.errno == errno.ENOSPC:
        return f"no space left on the device {doing} {path}; free some space and run again"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"no permission {doing} {path}; choose another location"
    return f"{doing} {path} failed: {error.strerror or error}"


def error_line(error: ValueError | OSError) -> str:
    """The one line a user sees for a library error: a value error's message (SqueezeNextError is one), or what
    went wrong with a file."""
    if isinstance(error, OSError):
        return describe_os_error(error, error.filename or "a file", "using")
    return " ".join(str(error).split())


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` in one rename, else it is removed.

    An OSError while writing (a full disk, say) becomes one :class:`OutputError` naming ``path``.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}{TEMPORARY_MARKER}", suffix=target.suffix)
        os.close(fd)
    except OSError as error:
        raise OutputError(describe_os_error(error, target)) from None
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the result a normal file's mode
        os.replace(tmp, target)
    except OSError as error:
        raise OutputError(describe_os_error(error, target)) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (hex): how a committed result names the configuration file it ran."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def json_text(payload: Any) -> str:
    """Indented JSON; a NaN or infinity anywhere is a bug upstream, so it raises instead of writing bare NaN."""
    try:
        return json.dumps(payload, indent=2, allow_nan=False) + "\n"
    except ValueError:
        raise SqueezeNextError(f"refusing to write a non-finite number as JSON: {_first_non_finite(payload)}") from None


def write_json(path: str | Path, payload: Any) -> None:
    """Write ``payload`` as strict JSON (no NaN/Infinity), atomically."""
    atomic_write_text(path, json_text(payload))


def _first_non_finite(payload: Any, where: str = "") -> str:
    if isinstance(payload, float) and not math.isfinite(payload):
        return f"{where or 'value'} = {payload}"
    items = payload.items() if isinstance(payload, dict) else enumerate(payload) if isinstance(payload, list) else ()
    for key, value in items:
        found = _first_non_finite(value, f"{where}.{key}" if where else str(key))
        if found:
            return found
    return ""


def _umask() -> int:
    """The process umask (reading it means setting it, so it is set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete temporaries a killed writer left in ``folder`` (not recursive); call only under its lock."""
    removed = []
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.name.startswith(".") and TEMPORARY_MARKER in entry.name and entry.is_file():
                entry.unlink()
                removed.append(entry)
    return removed


def check_writable(path: str | Path, *, folder: bool = False) -> Path:
    """Fail now, with one line, if ``path`` (a file, or a folder with ``folder=True``) cannot be written."""
    target = Path(path)
    if not folder and target.is_dir():
        raise OutputError(f"{target} is a folder; give a file name")
    if folder and target.exists() and not target.is_dir():
        raise OutputError(f"{target} exists and is not a folder")
    directory = target if folder else target.parent
    missing = directory
    while not missing.parent.exists() and missing.parent != missing:
        missing = missing.parent
    try:
        if not directory.exists():
            directory.mkdir(parents=True)
            _CREATED_FOLDERS.append(missing.absolute())
        with tempfile.NamedTemporaryFile(dir=directory, prefix=f".write-check{TEMPORARY_MARKER}"):
            pass
    except OSError as error:
        raise OutputError(describe_os_error(error, target)) from None
    return target


def check_new_files(paths: Sequence[str | Path], *, overwrite: bool) -> None:
    """Refuse output files that already exist unless ``overwrite`` (each is checked writable too)."""
    for path in paths:
        check_writable(path)
    existing = [str(path) for path in paths if Path(path).exists()]
    if existing and not overwrite:
        raise OutputError(f"{', '.join(existing)} already exists; replace it with --overwrite or choose another name")


_CREATED_FOLDERS: list[Path] = []
"""Folders :func:`check_writable` created in this process (the outermost new one of each path)."""


def settle_created_folders(*, failed: bool) -> None:
    """At the end of a command: if it ``failed``, remove the folders :func:`check_writable` created that hold no
    file (a command that fails leaves the file system as it found it); then forget them."""
    while _CREATED_FOLDERS:
        folder = _CREATED_FOLDERS.pop()
        if failed and folder.is_dir() and not any(e.is_file() or e.is_symlink() for e in folder.rglob("*")):
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def output_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on an output folder (``PATH/.lock``) or file (``.NAME.lock`` beside it).

    A second process asking for the same lock gets an :class:`OutputError` naming the holder's PID. The lock
    file is removed on release (under the lock; a process that locked a removed file sees that and refuses).
    """
    target = Path(path)
    lock_file = target / LOCK_NAME if target.is_dir() else target.parent / f".{target.name}.lock"
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        handle = lock_file.open("a+")
    except OSError as error:
        raise OutputError(describe_os_error(error, lock_file)) from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if not lock_file.exists() or os.stat(lock_file).st_ino != os.fstat(handle.fileno()).st_ino:
                raise BlockingIOError  # its holder released and removed it while we waited: someone else is next
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise OutputError(
                f"{target} is in use by {holder}; wait for it to finish or choose another output"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} ({' '.join(sys.argv[:3])})\n")
        handle.flush()
        try:
            yield
        finally:
            lock_file.unlink(missing_ok=True)


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, refusing a mapping that gives the same key twice."""


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice (line {mark.line + 1})", mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$"), list("-+0123456789")
)
"""YAML 1.1 (PyYAML) reads ``1e-3`` as a string; YAML 1.2 and the command line read it as a number, and so do we."""


def parse_yaml(text: str, source: str, error: type[Exception]) -> Any:
    """The YAML document in ``text`` (safe loader, duplicate keys refused); errors name ``source``."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as problem:
        detail = " ".join(str(problem).split())
        raise error(f"{source}: not valid YAML: {detail}") from None


def read_yaml(path: Path, error: type[Exception], what: str, hint: str = "") -> Any:
    """The parsed YAML document at ``path``; a missing file or invalid YAML raises ``error`` naming the file
    (``what`` names the kind of file, ``hint`` is appended to the missing-file message)."""
    if not path.is_file():
        raise error(f"{what} {path} does not exist{hint}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as problem:
        raise error(f"{what} {path} cannot be read ({problem})") from None
    return parse_yaml(text, str(path), error)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of a JSON-lines file. A torn last line (a write cut short by a crash or a full disk) is dropped
    with a note on stderr; a bad line anywhere else is an error naming the file and line."""
    lines = path.read_text(errors="replace").splitlines()
    records: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not an object")
        except ValueError:
            if number == len(lines):
                print(f"note: dropped a torn last line of {path} (an interrupted write)", file=sys.stderr)
                break
            raise SqueezeNextError(
                f"{path}: line {number} is not a JSON record; the file is damaged (move it away to start afresh)"
            ) from None
        records.append(record)
    return records


@contextmanager
def claimed_folder(
    out: Path,
    entries: Sequence[str],
    *,
    resume: bool = False,
    overwrite: bool,
    kind: str,
    resume_hint: str | None = None,
) -> Iterator[None]:
    """Hold ``out`` for one job: writable, locked against a second job, stale temporaries removed.

    A folder that already holds one of ``entries`` (what the job writes) is refused unless the job continues
    it (``resume``) or replaces it (``overwrite``, which deletes exactly those entries first, under the lock).
    ``kind`` names the job in messages ("a run"), ``resume_hint`` the option that continues it (None: a job that
    cannot be continued).
    """
    if resume and overwrite:
        raise OutputError(f"{resume_hint} continues {kind} in the output folder and --overwrite deletes it; give one")
    created = not out.exists()
    check_writable(out, folder=True)
    try:
        with output_lock(out):
            remove_stale_temporaries(out)
            existing = [name for name in entries if (out / name).exists()]
            if existing and not resume:
                if not overwrite:
                    listed = ", ".join(existing[:3]) + (", ..." if len(existing) > 3 else "")
                    resume_it = f"continue it with {resume_hint}, " if resume_hint else ""
                    raise OutputError(
                        f"{out} already holds {kind} ({listed}); {resume_it}replace it with --overwrite, or choose "
                        "another --out"
                    )
                for name in existing:
                    entry = out / name
                    if entry.is_dir():
                        shutil.rmtree(entry)
                    else:
                        entry.unlink()
            yield
    except BaseException:
        if created and not any(entry.is_file() for entry in out.rglob("*")):
            shutil.rmtree(out, ignore_errors=True)  # a job that failed before writing anything leaves no folder
        raise
