"""Hub API keys: `hub_<prefix>_<secret>`, the secret kept only as a keyed hash, with limits."""

from __future__ import annotations

from peewee import BigIntegerField, CharField, DateTimeField, ForeignKeyField, TextField

from app.models.base import BaseModel, utcnow
from app.models.users import User


class ApiKey(BaseModel):
    user = ForeignKeyField(User, backref="api_keys", on_delete="CASCADE", index=True)
    name = CharField(max_length=100)
    prefix = CharField(max_length=16, unique=True)
    secret_hash = CharField(max_length=64)
    # After a rotation the previous secret stays valid until `previous_valid_until`.
    previous_secret_hash = CharField(max_length=64, null=True)
    previous_valid_until = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    last_used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)
    # Limits the key's owner chose; enforced with the credit hold (app.services.api_keys).
    expires_at = DateTimeField(null=True)
    allowed_models = TextField(null=True)  # JSON list of model ids; null: every model
    cap_total_credits = BigIntegerField(null=True)
    cap_monthly_credits = BigIntegerField(null=True)
    spent_total_credits = BigIntegerField(default=0)
    spent_month_credits = BigIntegerField(default=0)
    spent_month = CharField(max_length=7, default="")  # "YYYY-MM" that spent_month_credits counts

    class Meta:
        table_name = "api_keys"
