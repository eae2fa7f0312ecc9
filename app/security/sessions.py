"""Web sessions (Flask-Login) for pages, the admin and the dashboard's own API calls.

The session stores `"<user id>:<auth version>"`, so a password reset or "sign out everywhere"
(which bump the version) ends every session, remember-me cookies included. Cookies are
HttpOnly, SameSite=Lax, and Secure in production. On `/api`, a session is accepted only
without an Authorization header, and state-changing calls must carry the `X-CSRFToken` header
(the token is in the page's `<meta name="csrf-token">`).
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, request, session
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFError, CSRFProtect, validate_csrf
from wtforms.validators import ValidationError

from app.config import Settings
from app.models.users import User
from app.security.errors import CsrfFailed
from app.security.identity import Principal

login_manager = LoginManager()
csrf = CSRFProtect()

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_EXEMPT_PREFIXES = ("/api/", "/v1/", "/ws/")  # token-authenticated; see authenticate_session
SESSION_API_PREFIXES = ("/api/", "/ws/")  # the dashboard's calls and its WebSockets; never /v1


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = User.get_or_none(User.id == int(user_id))
    if user is None or not user.is_active or user.auth_version != int(version):
        return None
    return user


def init_sessions(app: Flask, settings: Settings) -> None:
    production = settings.HUB_ENV == "production"
    app.config.update(
        SESSION_COOKIE_NAME="hub_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        REMEMBER_COOKIE_NAME="hub_remember",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=production,
        REMEMBER_COOKIE_DURATION=timedelta(days=settings.HUB_REMEMBER_ME_DAYS),
        PERMANENT_SESSION_LIFETIME=timedelta(days=1),
        # CSRF is checked by `_protect_forms` below: on every form, not on token-auth APIs.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=production,
    )
    login_manager.login_view = "pages.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"
    login_manager.init_app(app)
    csrf.init_app(app)

    @app.before_request
    def _protect_forms() -> None:
        if request.method in SAFE_METHODS or request.routing_exception is not None:
            return  # reads, and 404/405s (answered by routing), change nothing
        if not request.path.startswith(CSRF_EXEMPT_PREFIXES):
            csrf.protect()

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError):
        from app.errors import error_response

        if request.accept_mimetypes.best == "application/json":
            return error_response(400, "csrf_failed", error.description)
        return error.description + " Go back, reload the page and try again.", 400


def start_session(user: User, *, remember: bool) -> None:
    session.clear()  # a fresh session on sign-in: no fixation
    login_user(user, remember=remember)


def end_session() -> None:
    logout_user()
    session.clear()


def authenticate_session() -> Principal | None:
    """The signed-in page user, for the dashboard's calls to /api and /ws (never /v1)."""
    if not request.path.startswith(SESSION_API_PREFIXES) or "Authorization" in request.headers:
        return None
    if not current_user.is_authenticated:
        return None
    if request.method not in SAFE_METHODS:
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except ValidationError as exc:
            raise CsrfFailed(f"session requests need the X-CSRFToken header: {exc}") from None
    return Principal(user=current_user._get_current_object(), via="session")
