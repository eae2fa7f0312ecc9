"""Google sign-in end to end against a real OpenID Connect provider (oidc-provider-mock) on
127.0.0.1: discovery, state, nonce and PKCE, code exchange, ID-token checks."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import oidc_provider_mock
import pytest
from werkzeug.serving import make_server

from app import create_app
from app.models.accounts import OAuthIdentity
from app.models.users import User
from tests.accounts.helpers import user_with_password
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, oidc_provider_mock.app(require_nonce=True),
                         threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.fixture
def google_app(provider, migrated_database):
    return create_app(make_settings(
        GOOGLE_CLIENT_ID="hub-client", GOOGLE_CLIENT_SECRET="hub-secret",
        GOOGLE_DISCOVERY_URL=f"{provider}/.well-known/openid-configuration"))


def _google_user(provider: str, **claims) -> str:
    subject = uuid.uuid4().hex
    response = httpx.put(f"{provider}/users/{subject}", json=claims)
    assert response.status_code == 204
    return subject


def _sign_in(client, subject: str):
    start = client.get("/api/auth/google/login")
    assert start.status_code == 302
    authorize = start.headers["Location"]
    query = parse_qs(urlparse(authorize).query)
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"]
    assert query["state"] and query["nonce"] and query["scope"] == ["openid email profile"]
    # The user picks their account at the provider, which redirects back with a code.
    consent = httpx.post(authorize, data={"sub": subject})
    assert consent.status_code == 302, consent.text
    back = urlparse(consent.headers["Location"])
    assert back.path == "/api/auth/google/callback"
    return client.get(f"{back.path}?{back.query}")


def test_unknown_google_account_creates_a_verified_user(google_app, provider) -> None:
    client = google_app.test_client()
    subject = _google_user(provider, email="Gina@Example.com", email_verified=True, name="Gina")
    response = _sign_in(client, subject)
    assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
    me = client.get("/api/me").json
    assert me["email"] == "gina@example.com" and me["email_verified"] is True
    assert me["name"] == "Gina" and me["auth_method"] == "session"
    assert User.get(User.email == "gina@example.com").password_hash is None
    # Signing in again finds the linked identity.
    other = google_app.test_client()
    assert _sign_in(other, subject).headers["Location"] == "/dashboard"
    assert User.select().count() == 1


def test_known_verified_address_links_to_its_account(google_app, provider) -> None:
    user = user_with_password(email="known@example.com")
    subject = _google_user(provider, email="known@example.com", email_verified=True)
    client = google_app.test_client()
    assert _sign_in(client, subject).headers["Location"] == "/dashboard"
    assert client.get("/api/me").json["id"] == user.id
    assert OAuthIdentity.get().user_id == user.id
    assert User.get_by_id(user.id).password_hash == user.password_hash  # kept


def test_unverified_local_account_loses_its_password_when_google_proves_the_address(
        google_app, provider) -> None:
    squatter = user_with_password(email="victim@example.com", verified=False)
    subject = _google_user(provider, email="victim@example.com", email_verified=True)
    assert _sign_in(google_app.test_client(), subject).headers["Location"] == "/dashboard"
    claimed = User.get_by_id(squatter.id)
    assert claimed.is_verified and claimed.password_hash is None


def test_unverified_google_address_is_refused(google_app, provider) -> None:
    client = google_app.test_client()
    subject = _google_user(provider, email="unsure@example.com", email_verified=False)
    response = _sign_in(client, subject)
    assert response.headers["Location"] == "/login"
    page = client.get("/login")
    assert b"Google has not verified this account" in page.data
    assert User.select().count() == 0


def test_forged_state_is_refused(google_app, provider) -> None:
    client = google_app.test_client()
    client.get("/api/auth/google/login")
    response = client.get("/api/auth/google/callback?code=abc&state=forged")
    assert response.headers["Location"] == "/login"
    assert b"Google sign-in did not complete" in client.get("/login").data


def test_hidden_and_404_when_not_configured(client) -> None:
    assert b"Sign in with Google" not in client.get("/login").data
    response = client.get("/api/auth/google/login")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_button_shows_when_configured(google_app) -> None:
    assert b"Sign in with Google" in google_app.test_client().get("/login").data
