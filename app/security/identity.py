"""The caller of a request: which user, and by which credential."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.models.users import User


@dataclass
class Principal:
    user: User
    via: str  # "jwt", "api_key" or "session"
    token_id: str | None = None  # the access token's jti, or the API key's id
    api_key: Any = None  # the ApiKey row when authenticated by a hub API key
    extra: dict[str, Any] = field(default_factory=dict)


# Recognises the request's credentials: a Principal, None when they are not its kind, or raises
# Unauthorized when they are its kind but not valid.
Authenticator = Callable[[], Principal | None]
