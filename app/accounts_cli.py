"""Operator commands for accounts: `flask users create|ensure-admin` and `flask keys create`."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.errors import HubError
from app.extensions import db
from app.models.users import ROLES
from app.services import accounts, api_keys
from app.services.runtime import current_settings

users_cli = AppGroup("users", help="User accounts.")
keys_cli = AppGroup("keys", help="Hub API keys.")


@users_cli.command("create")
@click.argument("email")
@click.option("--password", required=True, help="Must meet the password policy.")
@click.option("--role", type=click.Choice(ROLES), default="user", show_default=True)
@click.option("--verified", is_flag=True, help="Mark the e-mail address as verified.")
@click.option("--name", default="", help="Display name.")
def create_user(email: str, password: str, role: str, verified: bool, name: str) -> None:
    """Create an account."""
    with db.connection_context():
        try:
            user = accounts.create_user(email, password, role=role, verified=verified, name=name)
        except HubError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(f"created {user.role} {user.email} (id {user.id})"
               + (", verified" if user.is_verified else ""))


@users_cli.command("ensure-admin")
def ensure_admin() -> None:
    """Create the first admin from HUB_ADMIN_EMAIL/HUB_ADMIN_PASSWORD, or generate one once."""
    settings = current_settings()
    with db.connection_context():
        try:
            user, generated = accounts.ensure_admin(settings.HUB_ADMIN_EMAIL,
                                                    settings.HUB_ADMIN_PASSWORD)
        except HubError as exc:
            raise click.ClickException(exc.message) from None
    if user is None:
        click.echo("an admin account exists; nothing to do")
    elif generated:
        click.echo(f"created admin {user.email} with password: {generated}")
        click.echo("(shown once: sign in at /login and change it on /account)")
    else:
        click.echo(f"admin account ready: {user.email}")


@keys_cli.command("create")
@click.argument("email")
@click.option("--name", required=True, help="A name to recognise the key by.")
def create_key(email: str, name: str) -> None:
    """Create an API key for the account at EMAIL and print it (once)."""
    with db.connection_context():
        try:
            new = api_keys.create_key(accounts.find_user(email), name)
        except HubError as exc:
            raise click.ClickException(exc.message) from None
    click.echo(new.plaintext)
