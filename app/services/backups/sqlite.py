"""SQLite (the embedded default): SQLite's online backup API, both ways.

`sqlite3.Connection.backup` copies a consistent snapshot while the hub keeps running (readers
and the writer carry on; the copy restarts if a write lands mid-way), and restores by copying
the archive over the target in one step, under the target's write lock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import unquote, urlparse

from app.services.backups.errors import DatabaseUnreachable, RestoreFailed

BUSY_TIMEOUT_S = 10.0  # the hub may be writing: wait for its lock rather than fail
DATA_TABLES = ("users", "ledger_entries", "jobs", "payments")  # as on PostgreSQL


def sqlite_path(url: str) -> Path:
    """The file of a `sqlite:///…` URL (read as `app.database` reads it)."""
    return Path(unquote(urlparse(url).path))


class SqliteEngine:
    """Back up and restore one SQLite database file."""

    kind = "sqlite"
    suffix = "sqlite3"

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = sqlite_path(url)

    def dump(self, path: Path) -> None:
        if not self.path.is_file():
            raise DatabaseUnreachable(f"no SQLite database at {self.path}")
        source = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        target = sqlite3.connect(path)
        try:
            source.backup(target)
        except sqlite3.Error as exc:
            raise DatabaseUnreachable(f"cannot back up {self.path}: {exc}") from None
        finally:
            target.close()
            source.close()

    def restore(self, archive: Path) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{archive}?mode=ro", uri=True)
        target = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            source.backup(target)  # one step (pages=-1): all of it or, on error, none of it
        except sqlite3.Error as exc:
            raise RestoreFailed(f"restoring into {self.path} failed: {exc}") from None
        finally:
            target.close()
            source.close()

    def has_data(self) -> bool:
        if not self.path.is_file():
            return False
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            return any(conn.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")')  # noqa: S608  # nosec B608  # the module's constant table names
                       .fetchone()[0]
                       for table in DATA_TABLES if table in tables)
        except sqlite3.DatabaseError as exc:
            raise DatabaseUnreachable(f"{self.path} is not a readable SQLite database: {exc}") \
                from None
        finally:
            conn.close()
