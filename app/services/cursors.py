"""Opaque keyset cursors over (created_at, id), shared by every paginated history."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from app.errors import HubError


class InvalidCursor(HubError):
    """The cursor is not one this API returned."""

    http_status = 400
    code = "invalid_cursor"


def encode_cursor(created_at: datetime, row_id: int | str) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """(created_at, id as text); raises InvalidCursor for anything this API did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, row_id = raw.split("|", 1)
        return datetime.fromisoformat(stamp), row_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor() from None
