"""Promo codes: a fixed credit amount, a total redemption limit, once per user."""

from __future__ import annotations

from peewee import (
    BigIntegerField,
    BooleanField,
    CharField,
    Check,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
)

from app.models.base import BaseModel, utcnow
from app.models.ledger import LedgerEntry
from app.models.users import User


class PromoCode(BaseModel):
    code = CharField(max_length=64, unique=True)  # stored upper-cased; matched case-insensitively
    amount_credits = BigIntegerField()
    max_redemptions = IntegerField()
    redemptions = IntegerField(default=0)
    valid_from = DateTimeField(null=True)
    valid_until = DateTimeField(null=True)
    is_active = BooleanField(default=True)
    created_by = ForeignKeyField(User, null=True, index=False, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "promo_codes"
        constraints = [Check("amount_credits > 0"), Check("redemptions <= max_redemptions")]


class PromoRedemption(BaseModel):
    promo = ForeignKeyField(PromoCode, backref="redemption_rows", index=False)
    user = ForeignKeyField(User, index=True)
    entry = ForeignKeyField(LedgerEntry, index=False)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "promo_redemptions"
        indexes = ((("promo", "user"), True),)  # once per user, enforced by the database
