"""The audit log: who changed what, from which value to which, and why."""

from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField, TextField

from app.models.base import BaseModel, utcnow
from app.models.users import User


class AuditLogEntry(BaseModel):
    actor = ForeignKeyField(User, null=True, index=False, on_delete="SET NULL")  # None: CLI
    actor_label = CharField(max_length=320)  # the actor's e-mail, or "cli:<os user>"
    action = CharField(max_length=64)
    target_type = CharField(max_length=32)
    target_id = CharField(max_length=64)
    before = TextField(default="{}")  # JSON
    after = TextField(default="{}")  # JSON
    reason = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "audit_log"
        indexes = ((("target_type", "target_id", "created_at"), False),)
