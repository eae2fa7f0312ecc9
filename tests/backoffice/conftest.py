"""Fixtures of the back-office tests: clients signed in as a given role, with their CSRF token."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from app.models.users import User
from app.services.ledger.checker import check_ledger
from tests.factories import create_user


@dataclass
class Staff:
    client: Any
    user: User
    csrf: str

    def get(self, url: str) -> Any:
        return self.client.get(url)

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True) -> Any:
        form = {**(data or {}), **({"csrf_token": self.csrf} if csrf else {})}
        return self.client.post(url, data=form)


@pytest.fixture
def signed_in(app) -> Callable[[str], Staff]:
    """A test client signed in (web session) as a new user with `role`."""

    def make(role: str) -> Staff:
        user = create_user(role=role)
        client = app.test_client()
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        token = re.search(rb'name="csrf-token" content="([^"]+)"', client.get("/forgot").data)
        return Staff(client=client, user=user, csrf=token.group(1).decode())

    return make


@pytest.fixture
def admin(signed_in) -> Staff:
    return signed_in("admin")


@pytest.fixture
def support(signed_in) -> Staff:
    return signed_in("support")


def assert_ledger_sound() -> None:
    report = check_ledger()
    assert report.ok, [str(v) for v in report.violations]


def hidden(html: bytes, name: str) -> str:
    match = re.search(rb'name="' + name.encode() + rb'"[^>]*value="([^"]*)"', html) or \
        re.search(rb'value="([^"]*)"[^>]*name="' + name.encode() + rb'"', html)
    assert match, f"no hidden field {name}"
    return match.group(1).decode()


@pytest.fixture
def services(app, settings):
    """An app context (of an app of its own) for calling services directly; see the ledger
    tests' `ctx`: pushing the client's own app would share `g`, and with it the signed-in user."""
    from app import create_app
    from app.extensions import db

    other = create_app(settings)
    with other.app_context():
        yield other
    if not db.is_closed():
        db.close()
