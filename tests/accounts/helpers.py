"""Small helpers the accounts tests share (HTTP calls a client makes, code extraction)."""

from __future__ import annotations

import re

from app.security.passwords import hash_password
from tests.accounts.conftest import PASSWORD, text_of
from tests.factories import create_user

_HASHED = {}


def user_with_password(password: str = PASSWORD, **kwargs):
    """A user (factory) whose password is `password` (hash computed once per password)."""
    if password not in _HASHED:
        _HASHED[password] = hash_password(password)
    user = create_user(**kwargs)
    user.password_hash = _HASHED[password]
    user.save()
    return user


def login(client, email: str, password: str = PASSWORD, **extra):
    return client.post("/api/auth/login", json={"email": email, "password": password, **extra})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def code_from(message) -> str:
    match = re.search(r"verification code is: (\d{6})", text_of(message))
    assert match, text_of(message)
    return match.group(1)


def reset_token_from(message) -> str:
    """The token of a mailed reset link, `/reset#token=…` (the fragment never reaches the server)."""
    match = re.search(r"/reset#token=([A-Za-z0-9_\-]+)", text_of(message))
    assert match, text_of(message)
    return match.group(1)
