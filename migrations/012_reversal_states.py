"""Peewee migrations -- 012_reversal_states.py.

Written by hand: each refund or dispute applied to a payment (`payment_reversals`) now records
its state, so every Stripe transition moves credits exactly once — `reversed` (credits taken
back), `restored` (a refund that failed or was cancelled, a dispute the merchant won: what was
taken is given back) or `void` (Stripe reported it failed or won before anything was taken) —
with the Stripe status last seen and what the restore gave back. Rows written before this
migration were all reversals, so they start as `reversed`. Plain columns: the same on
PostgreSQL and SQLite.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    pass


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "payment_reversals",
        state=pw.CharField(max_length=16, default="reversed"),
        stripe_status=pw.CharField(max_length=32, null=True),
        restored_credits=pw.BigIntegerField(default=0),
        restore_entry_id=pw.BigIntegerField(null=True),
        restored_at=pw.DateTimeField(null=True),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("payment_reversals", "state", "stripe_status", "restored_credits",
                           "restore_entry_id", "restored_at")
