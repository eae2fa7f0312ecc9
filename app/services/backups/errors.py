"""Why a backup or a restore did not happen, each named for the condition.

Every one of them leaves nothing behind: no partial archive in the backup directory, and (the
restore runs in one transaction on PostgreSQL, one backup step on SQLite) no half-restored
database.
"""

from __future__ import annotations

from app.errors import HubError


class BackupError(HubError):
    """A backup or restore failed."""

    http_status = 500
    code = "backup_failed"


class DatabaseUnreachable(BackupError):
    """The database could not be opened (wrong host, port, user, password or name)."""

    code = "database_unreachable"


class ToolMissing(BackupError):
    """`pg_dump` or `pg_restore` is not on the PATH."""

    code = "backup_tool_missing"


class ToolVersionMismatch(BackupError):
    """The PostgreSQL client tools are older than the server."""

    code = "backup_tool_version_mismatch"


class DumpFailed(BackupError):
    """The dump itself failed (the tool's own message follows)."""

    code = "dump_failed"


class StoreCommandFailed(BackupError):
    """The `--to-command` command exited non-zero or could not be started."""

    code = "backup_store_command_failed"


class ArchiveInvalid(BackupError):
    """The file is not a hub archive of the target database's kind."""

    code = "archive_invalid"


class TargetHasData(BackupError):
    """The target database holds data and overwriting it was not confirmed."""

    code = "restore_target_has_data"


class RestoreFailed(BackupError):
    """The restore itself failed (the tool's own message follows); the target is unchanged."""

    code = "restore_failed"
