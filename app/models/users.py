"""Users and their roles."""

from __future__ import annotations

from peewee import BigIntegerField, BooleanField, CharField, DateTimeField, IntegerField

from app.models.base import BaseModel, utcnow

ROLES = ("user", "support", "admin")
STAFF_ROLES = ("support", "admin")


class User(BaseModel):
    email = CharField(max_length=320, unique=True)  # stored lower-cased
    name = CharField(max_length=120, default="")
    password_hash = CharField(max_length=255, null=True)  # null: sign-in only through Google
    role = CharField(max_length=16, default="user", index=True)
    is_active = BooleanField(default=True)
    email_verified_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)
    # Bumped to invalidate every access token and web session at once (password reset,
    # "sign out everywhere"): both carry the version they were issued under.
    auth_version = IntegerField(default=0)
    totp_secret = CharField(max_length=255, null=True)  # encrypted at rest (app.security.crypto)
    totp_enabled_at = DateTimeField(null=True)
    totp_last_step = BigIntegerField(null=True)  # the last accepted TOTP time step: no replay

    class Meta:
        table_name = "users"

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None

    # --- Flask-Login's user protocol -------------------------------------------------------
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """The session identity: id and auth version, so a bump signs every session out."""
        return f"{self.id}:{self.auth_version}"
