"""Users and their roles."""

from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField

from app.models.base import BaseModel, utcnow

ROLES = ("user", "support", "admin")


class User(BaseModel):
    email = CharField(max_length=320, unique=True)  # stored lower-cased
    name = CharField(max_length=120, default="")
    password_hash = CharField(max_length=255, null=True)  # null: sign-in only through Google
    role = CharField(max_length=16, default="user", index=True)
    is_active = BooleanField(default=True)
    email_verified_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    last_login_at = DateTimeField(null=True)

    class Meta:
        table_name = "users"

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None
