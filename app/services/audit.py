"""The audit log: one row per privileged change, written in the change's own transaction."""

from __future__ import annotations

import json
from typing import Any

from app.models.audit import AuditLogEntry


def record(*, actor_id: int | None, actor_label: str, action: str, target_type: str,
           target_id: int | str, before: dict[str, Any], after: dict[str, Any],
           reason: str = "") -> AuditLogEntry:
    return AuditLogEntry.create(actor=actor_id, actor_label=actor_label[:320], action=action,
                                target_type=target_type, target_id=str(target_id),
                                before=json.dumps(before, sort_keys=True),
                                after=json.dumps(after, sort_keys=True), reason=reason)
