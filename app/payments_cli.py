"""`flask payments …`: reconcile with Stripe, and sync packages to Stripe Products and Prices."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from app.errors import HubError
from app.services.payments.packages import sync_stripe_products
from app.services.reconcile import reconcile

payments_cli = AppGroup("payments", help="Stripe payments: reconciliation and products.")


def print_report(run) -> None:
    click.echo(f"reconciliation {run.id}: {run.status}; sessions seen {run.sessions_seen}, "
               f"fixed {run.fixed}, expired {run.expired}")
    for mismatch in json.loads(run.mismatches):
        click.echo(f"  {mismatch['session_id']}: {mismatch['problem']}")
    if run.error:
        click.echo(f"  error: {run.error}", err=True)


@payments_cli.command("reconcile")
@click.option("--hours", type=click.IntRange(1, 24 * 30), default=None,
              help="Look back this many hours (default HUB_RECONCILE_LOOKBACK_HOURS).")
def reconcile_command(hours: int | None) -> None:
    """Credit paid Checkout Sessions the webhook missed; print and store the report."""
    try:
        run = reconcile(trigger="cli", lookback_hours=hours)
    except HubError as exc:
        raise click.ClickException(exc.message) from exc
    print_report(run)
    if run.status != "ok":
        raise SystemExit(1)


@payments_cli.command("sync-products")
def sync_products_command() -> None:
    """Create or update the Stripe Product and Price of every credit package."""
    try:
        synced = sync_stripe_products()
    except HubError as exc:
        raise click.ClickException(exc.message) from exc
    for item in synced:
        change = "new price" if item.price_created else "price unchanged"
        click.echo(f"{item.slug}: product {item.product_id}, price {item.price_id} ({change})")
