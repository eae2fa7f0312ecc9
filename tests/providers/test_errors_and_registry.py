"""Small pieces: retry-after parsing, finish-reason mapping, the app's own registry."""

from __future__ import annotations

import email.utils
import time

import pytest

from app.providers.registry import current_registry
from app.providers.sdk_errors import retry_after_s
from app.wire.openai_chat import openai_finish_reason


@pytest.mark.parametrize(("headers", "seconds"), [
    ({"retry-after": "12"}, 12.0), ({"retry-after-ms": "1500"}, 1.5),
    ({"retry-after-ms": "bogus", "retry-after": "2"}, 2.0), ({"retry-after": "soon"}, None),
    ({}, None), (None, None), ({"retry-after": "99999"}, 3600.0)])
def test_retry_after_headers(headers, seconds) -> None:
    assert retry_after_s(headers) == seconds


def test_retry_after_as_an_http_date() -> None:
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < retry_after_s({"retry-after": later}) <= 30


@pytest.mark.parametrize(("reason", "mapped"), [("end_turn", "stop"), ("max_tokens", "length"),
                                                ("stop", "stop"), (None, None)])
def test_finish_reasons_in_openai_vocabulary(reason, mapped) -> None:
    assert openai_finish_reason(reason) == mapped


def test_the_app_builds_its_registry_once_from_its_settings(app, client) -> None:
    with app.app_context():
        registry = current_registry()
        assert current_registry() is registry
        assert "local" in registry.channels
    response = client.get("/api/models?kind=chat")
    assert response.status_code == 200
    assert "local-echo" in [m["id"] for m in response.get_json()["items"]]
