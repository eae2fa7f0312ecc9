"""TEMPORARY stand-in for the ledger area's models (replaced wholesale when the ledger merges).

Table and column names follow the ledger area's schema, so code and tests that read them keep
working after the real models replace these.
"""

from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, ForeignKeyField

from app.models.base import BaseModel, utcnow
from app.models.users import User

KINDS = ("purchase", "promo", "admin_adjustment", "usage", "refund", "reversal")


class CreditAccount(BaseModel):
    user = ForeignKeyField(User, primary_key=True, backref="credit_account")
    balance = BigIntegerField(default=0)
    held = BigIntegerField(default=0)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "credit_accounts"


class LedgerEntry(BaseModel):
    account = ForeignKeyField(CreditAccount, backref="entries")
    amount_credits = BigIntegerField()  # signed: credits positive, debits negative
    kind = CharField(max_length=24)
    balance_after = BigIntegerField()
    held_after = BigIntegerField()
    shortfall_credits = BigIntegerField(default=0)
    idempotency_key = CharField(max_length=200, unique=True)
    reference = CharField(max_length=200, default="")
    actor = ForeignKeyField(User, null=True, on_delete="SET NULL")
    memo = CharField(max_length=500, default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "ledger_entries"
