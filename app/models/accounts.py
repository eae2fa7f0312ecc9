"""Credentials that belong to a user: e-mail codes, refresh tokens, reset tokens, 2FA recovery
codes and linked identity providers. Every secret here is stored only as a hash."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField

from app.models.base import BaseModel, utcnow
from app.models.users import User


class EmailCode(BaseModel):
    """A 6-digit e-mail verification code (HMAC of the code; void after 5 wrong attempts)."""

    user = ForeignKeyField(User, on_delete="CASCADE", index=True)
    code_hash = CharField(max_length=64)
    expires_at = DateTimeField()
    attempts = IntegerField(default=0)
    consumed_at = DateTimeField(null=True)  # used, voided, or replaced by a newer code
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "email_codes"


class RefreshToken(BaseModel):
    """One link of a rotating refresh-token family; reuse of a used link revokes the family."""

    user = ForeignKeyField(User, on_delete="CASCADE", index=True)
    family = CharField(max_length=32, index=True)
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)
    revoked_at = DateTimeField(null=True)

    class Meta:
        table_name = "refresh_tokens"


class PasswordResetToken(BaseModel):
    user = ForeignKeyField(User, on_delete="CASCADE", index=True)
    token_hash = CharField(max_length=64, unique=True)
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)

    class Meta:
        table_name = "password_reset_tokens"


class RecoveryCode(BaseModel):
    """A single-use two-factor recovery code."""

    user = ForeignKeyField(User, on_delete="CASCADE", index=True)
    code_hash = CharField(max_length=64)
    used_at = DateTimeField(null=True)

    class Meta:
        table_name = "recovery_codes"


class OAuthIdentity(BaseModel):
    """A user's account at an external identity provider (Google), by its stable subject."""

    user = ForeignKeyField(User, on_delete="CASCADE", index=True)
    provider = CharField(max_length=32)
    subject = CharField(max_length=255)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "oauth_identities"
        indexes = ((("provider", "subject"), True),)
