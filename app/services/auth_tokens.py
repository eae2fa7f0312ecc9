"""Access and refresh tokens for the JSON API.

A sign-in starts a refresh-token *family*. Each refresh marks the presented token used and
issues the next one in the family; presenting a used token again means it was copied, so the
whole family is revoked (theft detection): its refresh tokens, and the access tokens it already
issued (the family's id goes on the revocation list for one access-token lifetime). Logout
revokes the access token's id until it expires (Redis, or memory when embedded) and its family
likewise.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import structlog

from app.extensions import db
from app.models.accounts import RefreshToken
from app.models.base import utcnow
from app.models.users import User
from app.security.crypto import keyed_hash, random_token
from app.security.errors import InvalidRefreshToken, RefreshTokenReused, Unauthorized
from app.security.revocation import current_revocations, family_id
from app.security.tokens import issue_access_token
from app.services import api_keys
from app.services.runtime import current_settings
from app.transactions import locked

log = structlog.get_logger(__name__)

REFRESH_TOKEN_PREFIX = "rt_"  # noqa: S105  # nosec B105  # a visible marker, not a secret


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def as_dict(self) -> dict:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "token_type": "Bearer",  # nosec B105  # the OAuth token type, not a secret
                "expires_in": self.expires_in}


def _hash(token: str) -> str:
    return keyed_hash("refresh-token", token)


def _new_refresh_token(user: User, family: str) -> str:
    token = REFRESH_TOKEN_PREFIX + random_token(32)
    RefreshToken.create(user=user, family=family, token_hash=_hash(token),
                        expires_at=utcnow() + timedelta(
                            seconds=current_settings().HUB_REFRESH_TOKEN_TTL_S))
    return token


def _access_token(user: User, family: str) -> str:
    settings = current_settings()
    token, _ = issue_access_token(user.id, key=settings.SECRET_KEY,
                                  ttl_s=settings.HUB_ACCESS_TOKEN_TTL_S,
                                  extra={"av": user.auth_version, "fam": family})
    return token


def issue_token_pair(user: User) -> TokenPair:
    """Start a new refresh family for `user` (a sign-in)."""
    family = uuid.uuid4().hex
    with db.atomic():
        refresh = _new_refresh_token(user, family)
    return TokenPair(_access_token(user, family), refresh,
                     current_settings().HUB_ACCESS_TOKEN_TTL_S)


def revoke_family(family: str) -> int:
    """Revoke the family's refresh tokens; `revoke_family_access` ends its access tokens."""
    return RefreshToken.update(revoked_at=utcnow()).where(
        RefreshToken.family == family, RefreshToken.revoked_at.is_null()).execute()


def revoke_family_access(family: str) -> None:
    """Refuse every access token issued in `family` until the newest of them has expired."""
    current_revocations().revoke(family_id(family), expires_at=int(time.time())
                                 + current_settings().HUB_ACCESS_TOKEN_TTL_S)


def refresh(refresh_token: str) -> TokenPair:
    """Rotate: spend `refresh_token`, return a new pair in the same family."""
    with db.atomic():
        query = RefreshToken.select().where(RefreshToken.token_hash == _hash(refresh_token))
        row = locked(query).first()
        if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
            raise InvalidRefreshToken()
        if row.used_at is not None:
            revoked = revoke_family(row.family)
            log.warning("refresh_token_reused", user_id=row.user_id, family=row.family,
                        revoked=revoked)
            # Raised after commit below: the family's revocation must persist.
            reused = True
        else:
            reused = False
            user = row.user
            if not user.is_active:
                raise InvalidRefreshToken("this account is disabled")
            row.used_at = utcnow()
            row.save()
            new_refresh = _new_refresh_token(user, row.family)
    if reused:
        revoke_family_access(row.family)
        raise RefreshTokenReused()
    return TokenPair(_access_token(user, row.family), new_refresh,
                     current_settings().HUB_ACCESS_TOKEN_TTL_S)


def logout(*, jti: str, expires_at: int, family: str | None,
           refresh_token: str | None = None) -> None:
    """Revoke the access token until its expiry, and its refresh family (or the given one's)
    with the family's other access tokens."""
    current_revocations().revoke(jti, expires_at=expires_at)
    families = {family} if family else set()
    if refresh_token:
        row = RefreshToken.get_or_none(RefreshToken.token_hash == _hash(refresh_token))
        if row is not None:
            families.add(row.family)
    for fam in families:
        revoke_family(fam)
        revoke_family_access(fam)


def revoke_all_for_user(user: User, *, revoke_api_keys: bool = False) -> int:
    """Void every access token, refresh token and web session of `user` (password change and
    reset, sign-out-all, two-factor turned on), and every API key too if asked; returns the
    number of keys revoked. Keys are credentials of their own (model access only, used by
    unattended programs), so by default they survive."""
    with db.atomic():
        User.update(auth_version=User.auth_version + 1).where(User.id == user.id).execute()
        RefreshToken.update(revoked_at=utcnow()).where(
            RefreshToken.user == user, RefreshToken.revoked_at.is_null()).execute()
        keys_revoked = api_keys.revoke_all_keys(user) if revoke_api_keys else 0
    user.auth_version = User.get_by_id(user.id).auth_version
    log.info("user_tokens_revoked", user_id=user.id, api_keys_revoked=keys_revoked)
    return keys_revoked


def require_jwt_claims(principal) -> tuple[str, int, str | None]:
    """The (jti, expires_at, family) of a JWT principal; logout needs an access token."""
    if principal.via != "jwt":
        raise Unauthorized("log out with the access token you signed in with")
    return principal.token_id, principal.extra["expires_at"], principal.extra.get("family")
