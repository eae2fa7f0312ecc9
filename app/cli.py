"""Operator commands on `flask`: schema migrations now; each area adds its own group."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from app import migrations
from app.cli_ledger import register as register_ledger_cli
from app.payments_cli import payments_cli

db_cli = AppGroup("db", help="Database schema migrations.")


@db_cli.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    applied = migrations.upgrade()
    click.echo(f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else
                                                          "; the schema is up to date"))


@db_cli.command("status")
def db_status() -> None:
    """List applied and pending migrations; exit 1 if any is pending."""
    applied, pending = migrations.applied_migrations(), migrations.pending_migrations()
    for name in applied:
        click.echo(f"applied  {name}")
    for name in pending:
        click.echo(f"pending  {name}")
    if pending:
        raise SystemExit(1)


@db_cli.command("migrate")
@click.argument("name")
def db_migrate(name: str) -> None:
    """Write a new migration for the model changes since the last one."""
    created = migrations.create_migration(name)
    click.echo(f"created migrations/{created}.py" if created else "no model changes found")


def register_cli(app: Flask) -> None:
    from app.accounts_cli import keys_cli, users_cli
    from app.backup_cli import backup_cli
    from app.prices_cli import prices_cli

    app.cli.add_command(db_cli)
    app.cli.add_command(prices_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(keys_cli)
    register_ledger_cli(app.cli)
    app.cli.add_command(payments_cli)
    app.cli.add_command(backup_cli)
