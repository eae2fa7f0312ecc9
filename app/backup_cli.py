"""Operator commands for backups: `flask backup create|restore|list` (app.services.backups)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from app.services import backups
from app.services.runtime import current_settings

backup_cli = AppGroup("backup", help="Database backups (pg_dump, or SQLite's backup API).")


@backup_cli.command("create")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="Archives to keep in DIRECTORY, newest first (default: HUB_BACKUP_KEEP).")
@click.option("--to-command", default=None, metavar="CMD",
              help="Pipe the archive to this shell command instead (its name in "
                   "$HUB_BACKUP_NAME), e.g. 'aws s3 cp - s3://bucket/hub/$HUB_BACKUP_NAME'.")
def backup_create(directory: Path | None, keep: int | None, to_command: str | None) -> None:
    """Back up the database into DIRECTORY (default: HUB_BACKUP_DIR), or to a command."""
    if directory is not None and to_command:
        raise click.UsageError("give a DIRECTORY or --to-command, not both")
    settings = current_settings()
    try:
        result = backups.create_backup(settings.database_url,
                                       directory=directory or settings.backup_dir,
                                       keep=keep or settings.HUB_BACKUP_KEEP,
                                       to_command=to_command)
    except backups.BackupError as exc:
        raise click.ClickException(exc.message) from None
    if result.path is None:
        click.echo(f"backup {result.name} ({result.size_bytes} bytes) stored by the command")
        return
    click.echo(f"backup written: {result.path} ({result.size_bytes} bytes)")
    for path in result.removed:
        click.echo(f"rotated away: {path.name}")


@backup_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--database-url", default=None,
              help="Restore into this database (default: DATABASE_URL, the hub's own).")
@click.option("--yes", is_flag=True, help="Replace a database that already holds data.")
def backup_restore(archive: Path, database_url: str | None, yes: bool) -> None:
    """Restore ARCHIVE, replacing the target database's contents. Stop the hub first."""
    target = database_url or current_settings().database_url
    try:
        result = backups.restore_backup(archive, target, overwrite=yes)
    except backups.BackupError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"restored {archive.name} into {result.target}")
    if result.pending_migrations:
        click.echo(f"the archive predates {len(result.pending_migrations)} migration(s) "
                   f"({', '.join(result.pending_migrations)}): run `flask db upgrade`")
    else:
        click.echo("schema up to date: no pending migrations")


@backup_cli.command("list")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
def backup_list(directory: Path | None) -> None:
    """List the archives in DIRECTORY (default: HUB_BACKUP_DIR), newest first."""
    for archive in backups.list_backups(directory or current_settings().backup_dir):
        click.echo(f"{archive.path.name}  {archive.size_bytes} bytes  "
                   f"{archive.taken_at:%Y-%m-%d %H:%M:%S} UTC")
