"""Authentication and authorization errors."""

from __future__ import annotations

from app.errors import HubError


class Unauthorized(HubError):
    """Authentication is required: send a valid bearer token or API key."""

    http_status = 401
    code = "unauthorized"
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(HubError):
    """Your account may not do this."""

    http_status = 403
    code = "forbidden"


class ApiKeyNotAllowed(HubError):
    """API keys are for model access; managing the account needs a signed-in session or an
    access token from a password sign-in."""

    http_status = 403
    code = "api_key_not_allowed"


class EmailNotVerified(HubError):
    """Verify your e-mail address first: unverified accounts cannot spend credits."""

    http_status = 403
    code = "email_not_verified"


class InvalidCredentials(HubError):
    """The e-mail address or password is wrong."""

    http_status = 401
    code = "invalid_credentials"


class AccountDisabled(HubError):
    """This account is disabled; contact support."""

    http_status = 403
    code = "account_disabled"


class TwoFactorRequired(HubError):
    """This account uses two-factor sign-in: send `totp_code` (an authenticator or recovery code)."""

    http_status = 401
    code = "two_factor_required"


class InvalidTwoFactorCode(HubError):
    """The two-factor code is wrong or was already used."""

    http_status = 401
    code = "invalid_two_factor_code"


class TwoFactorSetupRequired(HubError):
    """Staff accounts must turn on two-factor sign-in first (on the /account page)."""

    http_status = 403
    code = "two_factor_setup_required"


class InvalidRefreshToken(HubError):
    """The refresh token is not valid, has expired, or was revoked; sign in again."""

    http_status = 401
    code = "invalid_refresh_token"


class RefreshTokenReused(HubError):
    """This refresh token was already used: every token of its session is now revoked."""

    http_status = 401
    code = "refresh_token_reused"


class InvalidCode(HubError):
    """The code is wrong, has expired, or was used too many times; ask for a new one."""

    http_status = 400
    code = "invalid_code"


class InvalidResetToken(HubError):
    """The password reset link is not valid, has expired, or was already used."""

    http_status = 400
    code = "invalid_reset_token"


class CsrfFailed(HubError):
    """The CSRF token is missing or wrong: reload the page and try again."""

    http_status = 400
    code = "csrf_failed"
