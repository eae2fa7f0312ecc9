"""Webhook events signed with Stripe's documented scheme:
`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from typing import Any


def sign(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def signed_event(secret: str, event_type: str, obj: dict[str, Any], *,
                 event_id: str | None = None, timestamp: int | None = None,
                 ) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of a webhook delivery of `event_type` about `obj`."""
    event = {"id": event_id or f"evt_test_{secrets.token_hex(12)}", "object": "event",
             "api_version": "2026-10-28.endive", "created": int(time.time()),
             "data": {"object": obj}, "livemode": False, "pending_webhooks": 1,
             "request": {"id": None, "idempotency_key": None}, "type": event_type}
    body = json.dumps(event).encode()
    return body, {"Stripe-Signature": sign(body, secret, timestamp=timestamp),
                  "Content-Type": "application/json"}
