"""Operator commands for credits: `flask credits …` and `flask ledger check`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from app.extensions import db
from app.models.users import User
from app.services import promo
from app.services.audit import cli_actor_label
from app.services.ledger import adjust_credits
from app.services.ledger.checker import check_ledger, report_lines

credits_cli = AppGroup("credits", help="Credit adjustments and promo codes.")
ledger_cli = AppGroup("ledger", help="Ledger integrity.")


def _iso(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or date-time") from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


@credits_cli.command("adjust", context_settings={"ignore_unknown_options": True})
@click.argument("email")
@click.argument("amount", type=int)
@click.option("--reason", required=True, help="Why; recorded in the ledger and the audit log.")
@click.option("--idempotency-key", default=None,
              help="Make a retry safe (default: a new key, so every run moves credits).")
def credits_adjust(email: str, amount: int, reason: str, idempotency_key: str | None) -> None:
    """Add (positive AMOUNT) or remove (negative AMOUNT) credits of the user EMAIL."""
    with db.connection_context():
        user = User.get_or_none(User.email == email.strip().lower())
        if user is None:
            raise click.ClickException(f"no user with e-mail {email}")
        result = adjust_credits(user.id, amount, reason=reason,
                                idempotency_key=idempotency_key or f"cli:{uuid.uuid4().hex}",
                                actor_id=None, actor_label=cli_actor_label())
    before, after = result.before, result.after
    click.echo(f"{user.email}: balance {before.balance} -> {after.balance} "
               f"(held {after.held}, available {before.available} -> {after.available})"
               + ("; replayed, nothing moved" if result.movement.replayed else ""))


@credits_cli.command("promo-create")
@click.argument("code")
@click.argument("amount", type=click.IntRange(min=1))
@click.option("--limit", "max_redemptions", type=click.IntRange(min=1), required=True,
              help="How many users may redeem it in total.")
@click.option("--valid-from", default=None, help="ISO 8601 (UTC unless an offset is given).")
@click.option("--valid-until", default=None, help="ISO 8601 (UTC unless an offset is given).")
def credits_promo_create(code: str, amount: int, max_redemptions: int, valid_from: str | None,
                         valid_until: str | None) -> None:
    """Create promo CODE worth AMOUNT credits (once per user, case-insensitive)."""
    with db.connection_context():
        created = promo.create_promo_code(code, amount, max_redemptions=max_redemptions,
                                          valid_from=_iso(valid_from),
                                          valid_until=_iso(valid_until), created_by=None,
                                          actor_label=cli_actor_label())
    click.echo(f"created promo code {created.code}: {created.amount_credits} credits, "
               f"limit {created.max_redemptions}")


@ledger_cli.command("check")
def ledger_check() -> None:
    """Verify the ledger's invariants for every account; exit 1 listing every violation."""
    with db.connection_context():
        report = check_ledger()
    for line in report_lines(report):
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)


def register(app_cli: click.Group) -> None:
    app_cli.add_command(credits_cli)
    app_cli.add_command(ledger_cli)
