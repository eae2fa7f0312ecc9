"""Peewee migrations -- 012_reversal_states.py.

Written by hand: each refund or dispute applied to a payment (`payment_reversals`) now records
its state, so every Stripe transition moves credits exactly once — `reversed` (credits taken
back), `restored` (a refund that failed or was cancelled, a dispute the merchant won: what was
taken is given back) or `void` (Stripe reported it failed or won before anything was taken) —
with the Stripe status last seen and what the restore gave back. Rows written before this
migration were all reversals, so they start as `reversed`. Plain columns and plain SQL: the
same on PostgreSQL and SQLite.

It also repairs what the old dispute key left behind. Disputes were keyed per charge
(`stripe:refund:<charge id>`), so a second dispute of the same amount on one charge replayed
the first one's ledger entry: its row claims credits taken (`debited_credits`) that no entry
took. Such a row (one sharing its ledger entry with an earlier row) is rewritten as what it
was, a reversal that took nothing: all shortfall, so that winning that dispute gives nothing
back; payments' `shortfall_credits` are summed again from their rows.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    pass

REPLAYED_ROWS_TOOK_NOTHING = """
UPDATE payment_reversals
SET shortfall_credits = reversed_credits, debited_credits = 0
WHERE ledger_entry_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM payment_reversals earlier
    WHERE earlier.ledger_entry_id = payment_reversals.ledger_entry_id
      AND earlier.id < payment_reversals.id)
"""

PAYMENT_SHORTFALLS_SUMMED = """
UPDATE payments
SET shortfall_credits = (SELECT COALESCE(SUM(r.shortfall_credits), 0)
                         FROM payment_reversals r WHERE r.payment_id = payments.id)
WHERE id IN (SELECT payment_id FROM payment_reversals)
"""


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "payment_reversals",
        state=pw.CharField(max_length=16, default="reversed"),
        stripe_status=pw.CharField(max_length=32, null=True),
        restored_credits=pw.BigIntegerField(default=0),
        restore_entry_id=pw.BigIntegerField(null=True),
        restored_at=pw.DateTimeField(null=True),
    )
    migrator.sql(REPLAYED_ROWS_TOOK_NOTHING)
    migrator.sql(PAYMENT_SHORTFALLS_SUMMED)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("payment_reversals", "state", "stripe_status", "restored_credits",
                           "restore_entry_id", "restored_at")
