"""Authenticates bearer access tokens (JWTs the hub signed): `Authorization: Bearer <jwt>`."""

from __future__ import annotations

from app.models.hot_sql import select_one
from app.models.users import User
from app.security.authenticate import bearer_token
from app.security.errors import Unauthorized
from app.security.identity import Principal
from app.security.revocation import current_revocations, family_id
from app.security.tokens import decode_access_token
from app.services.runtime import current_settings


def principal_from_access_token(token: str) -> Principal:
    """The caller an access token names; Unauthorized if forged, expired or revoked."""
    claims = decode_access_token(token, key=current_settings().SECRET_KEY)
    revocation_ids = (claims.jti, family_id(claims.family)) if claims.family else (claims.jti,)
    if current_revocations().is_revoked(*revocation_ids):
        raise Unauthorized("the access token was revoked; sign in again")
    user = select_one(User, "id = {p}", (claims.user_id,))
    if user is None or not user.is_active:
        raise Unauthorized("this account is disabled or no longer exists")
    if claims.auth_version != user.auth_version:
        raise Unauthorized("the access token was revoked; sign in again")
    return Principal(user=user, via="jwt", token_id=claims.jti,
                     extra={"expires_at": claims.expires_at, "family": claims.family})


def authenticate_jwt() -> Principal | None:
    token = bearer_token()
    if token is None or token.count(".") != 2:
        return None
    return principal_from_access_token(token)
