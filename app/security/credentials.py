"""A credential sent outside HTTP headers (a WebSocket's first message): an access token or a
hub API key."""

from __future__ import annotations

from app.security.api_key_auth import principal_from_api_key
from app.security.identity import Principal
from app.security.jwt_auth import principal_from_access_token
from app.services.api_keys import looks_like_key


def principal_from_credential(token: str) -> Principal:
    """The caller `token` names; Unauthorized if it is not valid."""
    if looks_like_key(token):
        return principal_from_api_key(token)
    return principal_from_access_token(token)
