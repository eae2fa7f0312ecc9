"""Backups of the hub's database, and restores from them (`flask backup …`).

PostgreSQL is dumped with `pg_dump --format=custom` and restored with `pg_restore`; the embedded
SQLite file with SQLite's online backup API. Either way an archive is one file named for the UTC
time it was taken, kept in a directory (the newest N; older ones are rotated away) or handed to a
command that stores it elsewhere. Plain values in, no Flask: the CLI (`app.backup_cli`) passes
the settings' database URL and directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

from peewee import Database, SqliteDatabase
from peewee_migrate import Router
from playhouse.db_url import connect as connect_url

from app.migrations import MIGRATIONS_DIR
from app.services.backups.archives import (
    Archive,
    archive_kind,
    archive_name,
    list_archives,
    rotate,
    send_to_command,
    temporary_archive,
    write_atomically,
)
from app.services.backups.errors import (
    ArchiveInvalid,
    BackupError,
    DatabaseUnreachable,
    DumpFailed,
    RestoreFailed,
    StoreCommandFailed,
    TargetHasData,
    ToolMissing,
    ToolVersionMismatch,
)
from app.services.backups.postgres import PostgresEngine, redact
from app.services.backups.sqlite import SqliteEngine, sqlite_path

__all__ = ["Archive", "ArchiveInvalid", "BackupError", "BackupResult", "DatabaseUnreachable",
           "DumpFailed", "RestoreFailed", "RestoreResult", "StoreCommandFailed", "TargetHasData",
           "ToolMissing", "ToolVersionMismatch", "create_backup", "list_backups", "redact",
           "restore_backup"]

Engine = PostgresEngine | SqliteEngine


@dataclass(frozen=True)
class BackupResult:
    name: str
    size_bytes: int
    path: Path | None  # None: handed to a command, nothing kept here
    removed: list[Path]  # older archives rotated away


@dataclass(frozen=True)
class RestoreResult:
    archive: Path
    target: str  # the database URL, its password hidden
    pending_migrations: list[str]  # the archive predates these: `flask db upgrade` applies them


def engine_for(database_url: str) -> Engine:
    scheme = urlparse(database_url).scheme
    return SqliteEngine(database_url) if scheme == "sqlite" else PostgresEngine(database_url)


def create_backup(database_url: str, *, directory: Path, keep: int,
                  to_command: str | None = None, now: datetime | None = None) -> BackupResult:
    """Take one archive of the database into `directory` (keeping the newest `keep`), or, with
    `to_command`, hand it to that shell command on stdin (its name in HUB_BACKUP_NAME) and keep
    nothing locally. The command only ever receives a complete archive."""
    engine = engine_for(database_url)
    name = archive_name(engine.suffix, now)
    if to_command:
        with temporary_archive(name) as path:
            engine.dump(path)
            size = path.stat().st_size
            send_to_command(path, name, to_command)
        return BackupResult(name, size, None, [])
    path = write_atomically(directory, name, engine.dump)
    return BackupResult(name, path.stat().st_size, path, rotate(directory, keep))


def list_backups(directory: Path) -> list[Archive]:
    """The archives in `directory`, newest first."""
    return list_archives(directory)


def restore_backup(archive: Path, database_url: str, *, overwrite: bool = False) -> RestoreResult:
    """Restore `archive` into the database at `database_url`, replacing what is there.

    Refused when the target holds users, ledger entries, jobs or payments unless `overwrite`.
    Returns the migrations the restored schema lacks (an archive from an older release).
    """
    engine = engine_for(database_url)
    kind = archive_kind(archive)
    if kind != engine.kind:
        raise ArchiveInvalid(f"{archive.name} is a {kind} archive; the target "
                             f"{redact(database_url)} is a {engine.kind} database")
    if not overwrite and engine.has_data():
        raise TargetHasData(f"{redact(database_url)} already holds data (users, ledger entries, "
                            "jobs or payments); confirm replacing all of it with --yes")
    engine.restore(archive)
    return RestoreResult(archive, redact(database_url), pending_migrations(database_url))


def pending_migrations(database_url: str) -> list[str]:
    """The migrations not applied to the database at `database_url` (not the app's own)."""
    database: Database = SqliteDatabase(str(sqlite_path(database_url))) \
        if urlparse(database_url).scheme == "sqlite" else connect_url(database_url)
    try:
        with database.connection_context():
            return list(Router(database, migrate_dir=MIGRATIONS_DIR).diff)
    finally:
        database.close()
