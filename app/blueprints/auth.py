"""The JSON auth API: registration, e-mail verification, sign-in with JWT, refresh, logout,
password change and reset, two-factor setup, and `GET /api/me`."""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response

from app.blueprints.auth_schemas import (
    AcceptedOut,
    ChangePasswordIn,
    EmailIn,
    ForgotIn,
    LoginIn,
    LogoutAllIn,
    LogoutIn,
    MeOut,
    RecoveryCodesOut,
    RefreshIn,
    RegisterIn,
    ResetIn,
    StatusOut,
    TokenOut,
    TwoFactorCodeIn,
    TwoFactorDisableIn,
    TwoFactorSetupOut,
    VerifyEmailIn,
)
from app.models.users import User
from app.security import current_principal, public, require_auth
from app.security.identity import Principal
from app.security.limits import rate_limited
from app.security.sessions import start_session
from app.services import accounts, auth_tokens, two_factor

bp = APIBlueprint("auth", __name__, tag="Auth", url_prefix="/api")

REGISTERED = {"status": "pending_verification",
              "message": "Check your inbox: we sent a 6-digit code to verify the address. If "
                         "it already has an account, we sent sign-in help instead."}
CODE_SENT = {"status": "accepted",
             "message": "If that address has an unverified account, a new code is on its way "
                        "(at most one a minute)."}
RESET_SENT = {"status": "accepted",
              "message": "If that address has an account, a password reset link is on its way. "
                         "It is valid for 30 minutes."}


def me_view(user: User, via: str) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name, "role": user.role,
            "email_verified": user.is_verified, "email_verified_at": user.email_verified_at,
            "two_factor_enabled": user.has_two_factor, "created_at": user.created_at,
            "last_login_at": user.last_login_at, "auth_method": via}


@bp.post("/auth/register")
@public
@rate_limited("register")
@bp.input(RegisterIn, arg_name="body")
@bp.output(AcceptedOut, status_code=202)
@bp.doc(summary="Create an account; a 6-digit code is mailed to verify the address",
        responses=[202, 422, 429])
def register(body: dict) -> dict:
    accounts.register(body["email"], body["password"], body["name"])
    return REGISTERED


@bp.post("/auth/verify-email")
@public
@rate_limited("otp")
@bp.input(VerifyEmailIn, arg_name="body")
@bp.output(StatusOut)
@bp.doc(summary="Verify the address with the mailed code (10 min, 5 attempts)",
        responses=[200, 400, 422, 429])
def verify_email(body: dict) -> dict:
    accounts.verify_email(body["email"], body["code"])
    return {"status": "verified"}


@bp.post("/auth/verify-email/resend")
@public
@rate_limited("otp")
@bp.input(EmailIn, arg_name="body")
@bp.output(AcceptedOut, status_code=202)
@bp.doc(summary="Mail a new verification code (at most one a minute)", responses=[202, 429])
def resend_code(body: dict) -> dict:
    accounts.request_verification_code(body["email"])
    return CODE_SENT


@bp.post("/auth/login")
@public
@rate_limited("login")
@bp.input(LoginIn, arg_name="body")
@bp.output(TokenOut)
@bp.doc(summary="Sign in: an access token (15 min) and a rotating refresh token (30 days)",
        responses=[200, 401, 403, 422, 429])
def login(body: dict) -> dict:
    return accounts.login(body["email"], body["password"], body["totp_code"]).as_dict()


@bp.post("/auth/refresh")
@public
@bp.input(RefreshIn, arg_name="body")
@bp.output(TokenOut)
@bp.doc(summary="Trade a refresh token for a new pair; reusing one revokes its family",
        responses=[200, 401, 422])
def refresh(body: dict) -> dict:
    return auth_tokens.refresh(body["refresh_token"]).as_dict()


@bp.post("/auth/logout")
@require_auth(api_key=False)
@bp.input(LogoutIn, arg_name="body")
@bp.output({}, status_code=204)
@bp.doc(summary="Revoke this access token and its refresh family", responses=[204, 401])
def logout(body: dict) -> Response:
    jti, expires_at, family = auth_tokens.require_jwt_claims(current_principal())
    auth_tokens.logout(jti=jti, expires_at=expires_at, family=family,
                       refresh_token=body["refresh_token"])
    return Response(status=204)


@bp.post("/auth/logout-all")
@require_auth(api_key=False)
@bp.output({}, status_code=204)
@bp.input(LogoutAllIn, arg_name="body")
@bp.doc(summary="Sign out everywhere: revoke every token and web session of this account (and "
                "every API key with revoke_api_keys); the body is optional",
        responses=[204, 401])
def logout_all(body: dict) -> Response:
    auth_tokens.revoke_all_for_user(current_principal().user,
                                    revoke_api_keys=body["revoke_api_keys"])
    return Response(status=204)


@bp.post("/auth/password/forgot")
@public
@rate_limited("password_forgot")
@bp.input(ForgotIn, arg_name="body")
@bp.output(AcceptedOut, status_code=202)
@bp.doc(summary="Mail a password reset link; the answer is the same for any address",
        responses=[202, 422, 429])
def forgot_password(body: dict) -> dict:
    accounts.request_password_reset(body["email"])
    return RESET_SENT


@bp.post("/auth/password/reset")
@public
@rate_limited("password_forgot")
@bp.input(ResetIn, arg_name="body")
@bp.output(StatusOut)
@bp.doc(summary="Set a new password with the mailed token; signs out every session",
        responses=[200, 400, 422, 429])
def reset_password(body: dict) -> dict:
    accounts.reset_password(body["token"], body["password"])
    return {"status": "password_reset"}


@bp.post("/auth/password/change")
@require_auth(api_key=False)
@bp.input(ChangePasswordIn, arg_name="body")
@bp.output(TokenOut)
@bp.doc(summary="Change the password (needs the old one); returns a fresh token pair, "
                "every other session is signed out", responses=[200, 401, 422, 429])
@rate_limited("password_check")
def change_password(body: dict) -> dict:
    user = current_principal().user
    accounts.change_password(user, body["old_password"], body["new_password"],
                             revoke_api_keys=body["revoke_api_keys"])
    return auth_tokens.issue_token_pair(User.get_by_id(user.id)).as_dict()


@bp.post("/auth/2fa/setup")
@require_auth(api_key=False)
@bp.output(TwoFactorSetupOut)
@bp.doc(summary="Start two-factor setup: a TOTP secret and its otpauth:// URI",
        responses=[200, 401, 409])
def two_factor_setup() -> dict:
    secret, uri = two_factor.begin_setup(current_principal().user)
    return {"secret": secret, "otpauth_uri": uri}


@bp.post("/auth/2fa/enable")
@require_auth(api_key=False)
@bp.input(TwoFactorCodeIn, arg_name="body")
@bp.output(RecoveryCodesOut)
@bp.doc(summary="Turn two-factor on with a first code; returns 10 single-use recovery codes. "
                "Every other session and token ends: an access-token caller gets a fresh "
                "pair here, a session caller a fresh session", responses=[200, 401, 409])
def two_factor_enable(body: dict) -> dict:
    principal = current_principal()
    codes = two_factor.enable(principal.user, body["code"])
    return {"recovery_codes": codes, **_signed_in_again(principal)}


def _signed_in_again(principal: Principal) -> dict:
    """After every session and token of the caller's account ended, keep this caller signed in:
    a fresh token pair for an access token, a fresh session for a page session (an API key,
    untouched by the sign-out, gets nothing)."""
    user = User.get_by_id(principal.user.id)
    if principal.via == "jwt":
        return auth_tokens.issue_token_pair(user).as_dict()
    if principal.via == "session":
        start_session(user, remember=False)
    return {}


@bp.post("/auth/2fa/disable")
@require_auth(api_key=False)
@bp.input(TwoFactorDisableIn, arg_name="body")
@bp.output({}, status_code=204)
@bp.doc(summary="Turn two-factor off (needs a current code, and the password if set)",
        responses=[204, 401, 403, 429])
@rate_limited("password_check")
def two_factor_disable(body: dict) -> Response:
    accounts.disable_two_factor(current_principal().user, body["password"], body["code"])
    return Response(status=204)


@bp.get("/me")
@require_auth(api_key=True)  # read-only "who am I": lets a client check which account a key is
@bp.output(MeOut)
@bp.doc(summary="The signed-in account", responses=[200, 401])
def me() -> dict:
    principal = current_principal()
    return me_view(principal.user, principal.via)
