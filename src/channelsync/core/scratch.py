"""A set of strings kept on disk while a scan runs: memory stays flat in its size.

A scan over a channel's whole catalogue (``reconcile``) must remember which SKUs it has
seen, to skip a listing a shifting page repeats and to find the bound SKUs the channel no
longer lists. A Python set of a million SKUs takes about 100 MB; ``DiskSet`` keeps them
in a private SQLite file in the temporary folder (2 MB of page cache), deleted on close.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Sequence
from types import TracebackType

__all__ = ["DiskSet"]

#: SQLite's default limit of host parameters per statement is 32,766; stay well below.
_CHUNK = 900


class DiskSet:
    """A set of strings in a temporary SQLite file (use as a context manager)."""

    def __init__(self) -> None:
        fd, self._path = tempfile.mkstemp(prefix="channelsync-scan-", suffix=".db")
        os.close(fd)
        self._db = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-2000;"
            "CREATE TABLE seen (key TEXT PRIMARY KEY) WITHOUT ROWID;"
        )
        self.size = 0

    def present(self, keys: Sequence[str]) -> set[str]:
        """Those of ``keys`` already in the set."""
        found: set[str] = set()
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                row[0]
                for row in self._db.execute(f"SELECT key FROM seen WHERE key IN ({marks})", chunk)
            )
        return found

    def add_new(self, keys: Sequence[str]) -> list[str]:
        """Add ``keys``; returns those that were not in the set yet, first sight only, in order."""
        before = self.present(keys)
        new = [k for k in dict.fromkeys(keys) if k not in before]
        self._db.execute("BEGIN")
        self._db.executemany("INSERT INTO seen (key) VALUES (?)", ((k,) for k in new))
        self._db.execute("COMMIT")
        self.size += len(new)
        return new

    def close(self) -> None:
        """Drop the file."""
        self._db.close()
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path + suffix)

    def __enter__(self) -> DiskSet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
