"""The credit ledger: one account per user, an append-only journal of movements, and holds.

Amounts are integers in the smallest credit unit (the unit: docs/credits.md#unit).
Only `app.services.ledger` writes these tables.
"""

from __future__ import annotations

from peewee import (
    BigAutoField,
    BigIntegerField,
    CharField,
    Check,
    DateTimeField,
    ForeignKeyField,
)

from app.models.base import BaseModel, utcnow
from app.models.users import User

KINDS = ("purchase", "promo", "admin_adjustment", "usage", "refund", "reversal")
HOLD_STATUSES = ("active", "settled", "released")


class CreditAccount(BaseModel):
    """A user's credits. `held` is reserved by active holds; `balance - held` is available."""

    user = ForeignKeyField(User, primary_key=True, backref="credit_account")
    balance = BigIntegerField(default=0)
    held = BigIntegerField(default=0)
    # Also the clock of the account's entries: every movement stamps max(now, updated_at), so
    # entries of one account are ordered the same by time and by id.
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "credit_accounts"
        constraints = [Check("held >= 0"), Check("balance >= held")]


class LedgerEntry(BaseModel):
    """One movement of credits. Never updated or deleted; `balance_after` chains the entries."""

    id = BigAutoField()
    account = ForeignKeyField(CreditAccount, backref="entries", index=False)
    amount_credits = BigIntegerField()  # signed: credits positive, debits negative
    kind = CharField(max_length=24)
    balance_after = BigIntegerField()
    held_after = BigIntegerField()
    shortfall_credits = BigIntegerField(default=0)  # asked for but not taken (partial debits)
    idempotency_key = CharField(max_length=200, unique=True)
    reference = CharField(max_length=200, default="")
    actor = ForeignKeyField(User, null=True, index=False, on_delete="SET NULL")
    memo = CharField(max_length=500, default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "ledger_entries"
        indexes = (
            (("account", "created_at", "id"), False),  # history pages and date ranges
            # by kind; usage per day as an index-only scan (hence the trailing amount)
            (("account", "kind", "created_at", "id", "amount_credits"), False),
        )


class CreditHold(BaseModel):
    """Credits reserved for work in progress (a job's worst-case price) until settled."""

    id = BigAutoField()
    account = ForeignKeyField(CreditAccount, backref="holds", index=False)
    amount_credits = BigIntegerField()
    status = CharField(max_length=16, default="active")
    purpose = CharField(max_length=64)
    reference = CharField(max_length=200, default="")
    idempotency_key = CharField(max_length=200, unique=True)
    expires_at = DateTimeField()
    created_at = DateTimeField(default=utcnow)
    finished_at = DateTimeField(null=True)
    settle_entry = ForeignKeyField(LedgerEntry, null=True, index=False)

    class Meta:
        table_name = "credit_holds"
        constraints = [Check("amount_credits > 0")]
        indexes = (
            (("status", "expires_at"), False),  # the expiry sweep
            (("account", "status"), False),
        )
