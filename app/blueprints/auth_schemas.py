"""Request and response schemas of the auth, account and API-key routes."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Integer, List, Nested, String
from apiflask.validators import Length, Range, Regexp

from app.blueprints.fields import UtcDateTime
from app.models.base import BIGINT_MAX


class RegisterIn(Schema):
    email = String(required=True, validate=Length(max=320))
    password = String(required=True, validate=Length(max=256))
    name = String(load_default="", validate=Length(max=120))


class AcceptedOut(Schema):
    status = String(required=True)
    message = String(required=True)


class VerifyEmailIn(Schema):
    email = String(required=True, validate=Length(max=320))
    code = String(required=True, validate=Regexp(r"^\s*\d{6}\s*$", error="must be 6 digits"))


class EmailIn(Schema):
    email = String(required=True, validate=Length(max=320))


class StatusOut(Schema):
    status = String(required=True)


class LoginIn(Schema):
    email = String(required=True, validate=Length(max=320))
    password = String(required=True, validate=Length(max=256))
    totp_code = String(load_default=None, validate=Length(max=32),
                       metadata={"description": "authenticator or recovery code, when 2FA is on"})


class TokenOut(Schema):
    access_token = String(required=True)
    refresh_token = String(required=True)
    token_type = String(required=True)
    expires_in = Integer(required=True, metadata={"description": "access token lifetime, s"})


class RefreshIn(Schema):
    refresh_token = String(required=True, validate=Length(max=200))


class LogoutIn(Schema):
    refresh_token = String(load_default=None, validate=Length(max=200))


class ForgotIn(Schema):
    email = String(required=True, validate=Length(max=320))


class ResetIn(Schema):
    token = String(required=True, validate=Length(max=200))
    password = String(required=True, validate=Length(max=256))


REVOKE_API_KEYS_DOC = {"description": "also revoke every API key of the account (default: "
                                      "keys keep working)"}


class ChangePasswordIn(Schema):
    old_password = String(required=True, validate=Length(max=256))
    new_password = String(required=True, validate=Length(max=256))
    revoke_api_keys = Boolean(load_default=False, metadata=REVOKE_API_KEYS_DOC)


class LogoutAllIn(Schema):
    revoke_api_keys = Boolean(load_default=False, metadata=REVOKE_API_KEYS_DOC)


class MeOut(Schema):
    id = Integer(required=True)
    email = String(required=True)
    name = String(required=True)
    role = String(required=True)
    email_verified = Boolean(required=True)
    email_verified_at = UtcDateTime(allow_none=True)
    two_factor_enabled = Boolean(required=True)
    created_at = UtcDateTime(required=True)
    last_login_at = UtcDateTime(allow_none=True)
    auth_method = String(required=True, metadata={"description": "jwt, api_key or session"})


class TwoFactorSetupOut(Schema):
    secret = String(required=True)
    otpauth_uri = String(required=True)


class TwoFactorCodeIn(Schema):
    code = String(required=True, validate=Length(max=32))


class RecoveryCodesOut(Schema):
    recovery_codes = List(String(), required=True)
    # Turning two-factor on signs out every session and token: a caller that used an access
    # token gets a fresh pair here (a page session gets a fresh session cookie).
    access_token = String(metadata={"description": "only for access-token callers"})
    refresh_token = String(metadata={"description": "only for access-token callers"})
    token_type = String()
    expires_in = Integer()


class TwoFactorDisableIn(Schema):
    password = String(load_default=None, validate=Length(max=256))
    code = String(required=True, validate=Length(max=32))


class ApiKeyIn(Schema):
    name = String(required=True, validate=Length(min=1, max=100))
    expires_at = UtcDateTime(load_default=None, metadata={"description": "UTC unless an offset "
                                                                         "is given; null: never"})
    allowed_models = List(String(validate=Length(min=1, max=100)), load_default=None,
                          validate=Length(max=100),
                          metadata={"description": "model ids this key may use; null: all"})
    cap_total_credits = Integer(load_default=None, validate=Range(min=0, max=BIGINT_MAX))
    cap_monthly_credits = Integer(load_default=None, validate=Range(min=0, max=BIGINT_MAX),
                                  metadata={"description": "per calendar month (UTC)"})


class ApiKeyOut(Schema):
    id = Integer(required=True)
    name = String(required=True)
    prefix = String(required=True)
    created_at = UtcDateTime(required=True)
    last_used_at = UtcDateTime(allow_none=True)
    expires_at = UtcDateTime(allow_none=True)
    allowed_models = List(String(), allow_none=True)
    cap_total_credits = Integer(allow_none=True)
    cap_monthly_credits = Integer(allow_none=True)
    spent_total_credits = Integer(required=True)
    spent_month_credits = Integer(required=True)


class ApiKeyCreatedOut(ApiKeyOut):
    key = String(required=True, metadata={"description": "the full key, shown only this once"})


class ApiKeyListOut(Schema):
    items = List(Nested(ApiKeyOut), required=True)
