"""Authenticate a credential that arrived outside the Authorization header.

The WebSocket's first message carries the same access token or API key a header would; it is
checked by the very same `AUTHENTICATORS` (expiry, revocation, key limits), never by a copy.
"""

from __future__ import annotations

from flask import current_app, g

from app.security.principal import Principal, authenticate


def principal_from_credential(token: str) -> Principal | None:
    """The principal for a bearer credential, or None if it is not valid."""
    from app.errors import HubError

    saved = g.pop("principal", None)
    try:
        with current_app.test_request_context(headers={"Authorization": f"Bearer {token}"}):
            g.pop("principal", None)
            try:
                return authenticate()
            except HubError:
                return None
            finally:
                g.pop("principal", None)
    finally:
        if saved is not None:
            g.principal = saved
