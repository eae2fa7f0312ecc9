"""Google sign-in client (Authlib, OpenID Connect discovery, state + nonce + PKCE S256).

Configured by GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET and GOOGLE_DISCOVERY_URL; when the id or
secret is missing, the routes answer 404 and the sign-in button is hidden.
"""

from __future__ import annotations

from typing import Any

from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app

from app.config import Settings
from app.errors import NotFound

EXTENSION_KEY = "hub_google"
CALLBACK_PATH = "/api/auth/google/callback"


def init_google(app: Flask, settings: Settings) -> None:
    oauth = OAuth(app)
    oauth.register(
        "google",
        client_id=settings.GOOGLE_CLIENT_ID,
        client_secret=settings.GOOGLE_CLIENT_SECRET,
        server_metadata_url=settings.GOOGLE_DISCOVERY_URL,
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256",
                       "timeout": 10},
    )
    app.extensions[EXTENSION_KEY] = oauth.google


def google_client() -> Any:
    client = current_app.extensions.get(EXTENSION_KEY)
    if client is None:
        raise NotFound("Google sign-in is not configured on this hub")
    return client
