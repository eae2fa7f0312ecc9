"""Fixtures for the ledger tests: an app context with a connection, funded users, threads."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app import create_app
from app.extensions import db
from app.services import ledger
from tests.conftest import _truncate_all_tables, make_settings
from tests.factories import create_user


@pytest.fixture
def ctx(app, settings) -> Iterator[Any]:
    """An app context for calling services directly, from an app of its own: a test client
    request reuses an app context of its own app that is already pushed, and with it `g` (and
    the caller cached there), so requests as several users would all run as the first."""
    services = create_app(settings)
    with services.app_context():
        yield services
    if not db.is_closed():
        db.close()


@pytest.fixture
def funded(ctx) -> Callable[..., Any]:
    """Make a user holding `credits` (bought in one purchase)."""

    def make(credits: int, **user_fields: Any):
        user = create_user(**user_fields)
        if credits:
            ledger.credit(user.id, credits, kind="purchase", idempotency_key=f"seed:{user.id}")
        return user

    return make


@pytest.fixture
def threaded_app(migrated_database) -> Iterator[Any]:
    """An app whose pool (10 connections) is shared by many threads; closed and emptied after."""
    application = create_app(make_settings(HUB_DB_POOL_SIZE=10, HUB_DB_POOL_TIMEOUT_S=60))
    with application.app_context():
        yield application
    db.close_all()
    _truncate_all_tables()


def run_concurrently(app: Any, count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) on `count` threads released together; return each result or the
    exception it raised, in order. Each thread borrows a pooled connection for its call."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        try:
            with app.app_context(), db.connection_context():
                results[index] = work(index)
        except Exception as exc:  # noqa: BLE001 — the test inspects what each call raised
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
