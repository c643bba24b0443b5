"""Optuna storage URLs (``search --storage``), checked once, when the request is made.

A search's storage must be resumable and must not touch files that are not ours: an SQLite URL names a file in
an existing folder that is new, empty or already an SQLite database; any other URL is an SQLAlchemy database URL
(``postgresql://user:password@host/db``, docs/search.md). Passwords never appear in messages.
"""

from __future__ import annotations

import re
from pathlib import Path

from squeezenext.search.space import SearchError

SQLITE_PREFIX = "sqlite:///"
SQLITE_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file (sqlite.org/fileformat.html, section 1.3)."""
_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    return _PASSWORD.sub(r"\1***@", url)


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite URL (None for other databases)."""
    return Path(url.removeprefix(SQLITE_PREFIX)) if url.startswith(SQLITE_PREFIX) else None


def check_storage(url: str) -> None:
    """Refuse a storage URL that cannot hold a resumable search, or whose file is not a database."""
    if not isinstance(url, str) or "://" not in url:
        raise SearchError(
            f"--storage {url!r} is not a database URL; give e.g. sqlite:///runs/search.db or "
            "postgresql://user:password@host/db"
        )
    if url.startswith("sqlite:") and not url.startswith(SQLITE_PREFIX):
        raise SearchError(f"--storage {masked(url)}: write an SQLite storage as sqlite:///PATH")
    path = sqlite_path(url)
    if path is None:
        return
    if str(path) in ("", ".", ":memory:") or url.endswith("/"):
        raise SearchError(
            f"--storage {url} names no file, and an in-memory search cannot be resumed; give sqlite:///PATH"
        )
    if path.is_dir():
        raise SearchError(f"--storage {url}: {path} is a folder; name the database file")
    if path.is_file() and path.stat().st_size:
        with path.open("rb") as handle:
            if handle.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise SearchError(
                    f"--storage {url}: {path} is not an SQLite database; name a new file or an Optuna storage"
                )


def check_storage_folder(url: str) -> None:
    """Refuse an SQLite storage of the user's (``--storage``) in a folder that does not exist: like every other
    output, it is not created on the way (the default, ``OUT/search.db``, lives in the output folder)."""
    path = sqlite_path(url)
    if path is not None and not path.parent.is_dir():
        raise SearchError(f"--storage {url}: the folder {path.parent} does not exist; create it first")
