"""Signed JWT access tokens (HS256 pinned on decode: `alg: none` and key confusion fail).

Besides `sub`, `jti` and `exp`, a token carries the user's `av` (auth version: a password reset
or "sign out everywhere" bumps it, voiding every older token) and `fam`, the refresh-token
family it was issued with, so logout can revoke that family too.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from app.security.errors import Unauthorized

ALGORITHM = "HS256"
DEFAULT_ACCESS_TTL_S = 15 * 60


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    jti: str
    expires_at: int
    auth_version: int = 0
    family: str | None = None


def issue_access_token(user_id: int, *, key: str, ttl_s: int = DEFAULT_ACCESS_TTL_S,
                       extra: dict | None = None) -> tuple[str, AccessClaims]:
    now = int(time.time())
    extra = extra or {}
    claims = AccessClaims(user_id=user_id, jti=uuid.uuid4().hex, expires_at=now + ttl_s,
                          auth_version=int(extra.get("av", 0)), family=extra.get("fam"))
    payload = {"sub": str(user_id), "jti": claims.jti, "iat": now, "exp": claims.expires_at,
               "typ": "access", **extra}
    return jwt.encode(payload, key, algorithm=ALGORITHM), claims


def decode_access_token(token: str, *, key: str) -> AccessClaims:
    try:
        payload = jwt.decode(token, key, algorithms=[ALGORITHM],
                             options={"require": ["sub", "jti", "exp", "typ"]})
    except jwt.ExpiredSignatureError:
        raise Unauthorized("the access token has expired; refresh it") from None
    except jwt.PyJWTError:
        raise Unauthorized("the access token is not valid") from None
    if payload.get("typ") != "access":
        raise Unauthorized("not an access token")
    try:
        return AccessClaims(user_id=int(payload["sub"]), jti=str(payload["jti"]),
                            expires_at=int(payload["exp"]), auth_version=int(payload.get("av", 0)),
                            family=payload.get("fam"))
    except (TypeError, ValueError):
        raise Unauthorized("the access token is not valid") from None
