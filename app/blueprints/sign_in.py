"""Signing in to the pages, shared by the password form and Google sign-in: a user with
two-factor sign-in goes on to the code form; anyone else gets a session."""

from __future__ import annotations

from flask import redirect, session, url_for
from werkzeug.wrappers import Response

from app.models.users import User
from app.security.redirects import local_path, safe_next
from app.security.sessions import start_session
from app.services import accounts

PENDING_2FA = "pending_two_factor"


def safe_next_url(target: str | None) -> str:
    """Only a path on this site, as a browser reads it: never an open redirect elsewhere."""
    return safe_next(target, url_for("pages.dashboard"))


def continue_sign_in(user: User, *, remember: bool, next_url: str | None) -> Response:
    if user.has_two_factor:
        session[PENDING_2FA] = {"user": user.id, "av": user.auth_version, "remember": remember,
                                "next": local_path(next_url)}
        return redirect(url_for("pages.login_two_factor"))
    accounts.record_login(user)
    start_session(user, remember=remember)
    return redirect(safe_next_url(next_url))
