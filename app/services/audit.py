"""The audit log: one row per privileged change, written in the change's own transaction.

Every change an operator makes (back office, admin API, operator CLI) goes through a domain
service, and that service calls `record` inside the transaction of the change itself: the row
and the change commit together or not at all. A request that changes nothing records nothing.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from app.models.audit import AuditLogEntry


def _plain(value: Any) -> Any:
    """JSON for the values a change carries besides numbers and strings: dates, ISO 8601."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not recordable in the audit log")


def record(*, actor_id: int | None, actor_label: str, action: str, target_type: str,
           target_id: int | str, before: Mapping[str, Any], after: Mapping[str, Any],
           reason: str = "") -> AuditLogEntry:
    return AuditLogEntry.create(actor=actor_id, actor_label=actor_label[:320], action=action,
                                target_type=target_type, target_id=str(target_id),
                                before=json.dumps(dict(before), sort_keys=True, default=_plain),
                                after=json.dumps(dict(after), sort_keys=True, default=_plain),
                                reason=reason)


def changed(current: Mapping[str, Any],
            wanted: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields of `wanted` that differ from `current`: (their values before, after).
    Both are empty when the change would change nothing."""
    names = [name for name, value in wanted.items() if current[name] != value]
    return {n: current[n] for n in names}, {n: wanted[n] for n in names}


def cli_actor_label() -> str:
    """How the audit log names an operator command's actor: `cli:<os user>`."""
    return f"cli:{getpass.getuser()}"
