"""Payments: credit packages for sale, Stripe Checkout payments, received webhook events,
reversals (refunds and disputes), flags for the back office, and reconciliation reports."""

from __future__ import annotations

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from app.models.base import BaseModel, utcnow
from app.models.users import User

PAYMENT_STATUSES = ("pending", "paid", "failed", "expired", "partially_refunded", "refunded",
                    "disputed")


class CreditPackage(BaseModel):
    """A package of credits for sale; `slug` is its public id (`starter`, `pro`, `business`)."""

    slug = CharField(max_length=40, unique=True)
    name = CharField(max_length=80)
    amount_credits = BigIntegerField()
    price_cents = IntegerField()
    currency = CharField(max_length=3, default="usd")
    active = BooleanField(default=True)
    sort_order = IntegerField(default=0)
    stripe_product_id = CharField(max_length=100, null=True)
    stripe_price_id = CharField(max_length=100, null=True)
    stripe_price_spec = CharField(max_length=40, null=True)  # what that Price charges: "500 usd"
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "credit_packages"


class Payment(BaseModel):
    """One Stripe Checkout Session and what it did to the user's credits.

    The package's name, price and credits are copied at checkout, so editing a package later
    never changes what an earlier purchase credits.
    """

    user = ForeignKeyField(User, index=True, on_delete="CASCADE")
    package_slug = CharField(max_length=40)
    package_name = CharField(max_length=80)
    amount_cents = IntegerField()
    currency = CharField(max_length=3)
    amount_credits = BigIntegerField()
    status = CharField(max_length=24, default="pending", index=True)
    stripe_session_id = CharField(max_length=255, unique=True)
    stripe_payment_intent_id = CharField(max_length=255, null=True, index=True)
    stripe_charge_id = CharField(max_length=255, null=True, index=True)
    receipt_url = TextField(null=True)
    ledger_entry_id = BigIntegerField(null=True)  # the purchase credit, once committed
    reversed_credits = BigIntegerField(default=0)  # refunds and disputes, including shortfall
    shortfall_credits = BigIntegerField(default=0)  # reversed but already spent by the user
    created_at = DateTimeField(default=utcnow, index=True)
    updated_at = DateTimeField(default=utcnow)
    credited_at = DateTimeField(null=True)
    disputed_at = DateTimeField(null=True)

    class Meta:
        table_name = "payments"


REVERSAL_STATES = ("reversed", "restored", "void")


class PaymentReversal(BaseModel):
    """What one refund or dispute (`stripe_id`, re_… or du_…) did to a payment's credits.

    `state` moves at most twice: `reversed` (credits taken back) → `restored` (the refund failed
    or was cancelled, or the dispute was won: what was taken is given back), or straight to
    `void` (Stripe said so before anything was taken). `restored` and `void` are final.
    """

    payment = ForeignKeyField(Payment, backref="reversals", on_delete="CASCADE")
    kind = CharField(max_length=16)  # "refund" or "dispute"
    stripe_id = CharField(max_length=255, unique=True)
    amount_cents = IntegerField()
    reversed_credits = BigIntegerField()  # what this reversal should take back
    debited_credits = BigIntegerField()  # what the ledger actually took
    shortfall_credits = BigIntegerField(default=0)
    ledger_entry_id = BigIntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    state = CharField(max_length=16, default="reversed")  # one of REVERSAL_STATES
    stripe_status = CharField(max_length=32, null=True)  # the object's last status seen
    restored_credits = BigIntegerField(default=0)  # given back: the debited part, never more
    restore_entry_id = BigIntegerField(null=True)
    restored_at = DateTimeField(null=True)

    class Meta:
        table_name = "payment_reversals"


class PaymentFlag(BaseModel):
    """Something the back office must look at: a dispute, or a refund the user had spent."""

    user = ForeignKeyField(User, index=True, on_delete="CASCADE")
    payment = ForeignKeyField(Payment, backref="flags", on_delete="CASCADE")
    kind = CharField(max_length=24)  # "dispute" or "refund_shortfall"
    reference = CharField(max_length=255)  # the Stripe dispute or refund id
    shortfall_credits = BigIntegerField(default=0)
    details = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)
    resolved_at = DateTimeField(null=True)

    class Meta:
        table_name = "payment_flags"
        indexes = ((("kind", "reference"), True),)


class StripeEvent(BaseModel):
    """A webhook event processed to completion; its row commits with the work it did."""

    event_id = CharField(max_length=255, unique=True)
    type = CharField(max_length=80)
    received_at = DateTimeField(default=utcnow)
    outcome = CharField(max_length=120, default="")

    class Meta:
        table_name = "stripe_events"


class ReconciliationRun(BaseModel):
    """The report of one reconciliation against Stripe's list of Checkout Sessions."""

    trigger = CharField(max_length=16)  # "schedule", "cli" or "script"
    lookback_hours = IntegerField()
    started_at = DateTimeField(default=utcnow, index=True)
    finished_at = DateTimeField(null=True)
    status = CharField(max_length=16, default="running")  # running, ok, failed
    sessions_seen = IntegerField(default=0)
    fixed = IntegerField(default=0)  # paid sessions credited by this run
    expired = IntegerField(default=0)  # pending payments marked expired
    mismatches = TextField(default="[]")  # JSON list of {session_id, problem}
    error = TextField(default="")

    class Meta:
        table_name = "reconciliation_runs"


class LowBalanceAlert(BaseModel):
    """A user's low-balance e-mail: sent once when available credits fall below the threshold,
    then not again until they have risen back to it (`notified_at` is cleared then)."""

    user = ForeignKeyField(User, unique=True, on_delete="CASCADE")
    threshold_credits = BigIntegerField(default=0)  # 0: no alert
    notified_at = DateTimeField(null=True)  # set while below the threshold and told so
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "low_balance_alerts"
