"""Google sign-in: redirect to Google, then sign the browser in on the way back."""

from __future__ import annotations

import structlog
from apiflask import APIBlueprint
from authlib.integrations.base_client import OAuthError
from flask import flash, redirect, url_for
from werkzeug.wrappers import Response

from app.blueprints.sign_in import continue_sign_in
from app.errors import HubError
from app.security import public
from app.security.google import CALLBACK_PATH, google_client
from app.services import accounts
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)

bp = APIBlueprint("google", __name__, tag="Auth", url_prefix="/api/auth/google")


@bp.get("/login")
@public
@bp.doc(summary="Start Google sign-in (redirects to Google); 404 when not configured",
        responses={302: "Redirect to Google", 404: "Google sign-in is not configured"})
def login() -> Response:
    client = google_client()
    return client.authorize_redirect(current_settings().public_url + CALLBACK_PATH)


@bp.get("/callback")
@public
@bp.doc(summary="Google redirects here; signs the browser in and redirects to the dashboard",
        responses={302: "Signed in (or back to /login with the reason)",
                   404: "Google sign-in is not configured"})
def callback() -> Response:
    client = google_client()
    try:
        token = client.authorize_access_token()
        claims = token.get("userinfo") or client.userinfo(token=token)
        user = accounts.sign_in_with_google(
            subject=str(claims["sub"]), email=str(claims.get("email", "")),
            email_verified=claims.get("email_verified") is True,
            name=str(claims.get("name", "")))
    except OAuthError as exc:
        log.warning("google_sign_in_failed", error=exc.error)
        flash("Google sign-in did not complete; please try again.", "danger")
        return redirect(url_for("pages.login"))
    except HubError as exc:
        flash(exc.message, "danger")
        return redirect(url_for("pages.login"))
    return continue_sign_in(user, remember=False, next_url=None)
