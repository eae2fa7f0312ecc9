"""The model-based tests run each test on PostgreSQL and on SQLite (`backend_app`): against
each of the storage twins (`app.jobs.store`, the ledger's holds and statements)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("tests.money.machine", "tests.money.scenarios")

from app import create_app  # noqa: E402 — after the rewrite hook, like the modules below
from app.database import is_postgres  # noqa: E402
from app.jobs import store  # noqa: E402
from app.jobs.store.postgres import PostgresJobStore  # noqa: E402
from app.jobs.store.sqlite import SqliteJobStore  # noqa: E402
from tests.conftest import _truncate_all_tables, make_settings, sqlite_app  # noqa: E402
from tests.money.machine import MODEL_SETTINGS  # noqa: E402


@pytest.fixture(params=["postgresql", "sqlite"])
def backend_app(request, migrated_database, tmp_path) -> Iterator:
    """An app with the model's settings, on PostgreSQL (this run's database) or on a fresh
    SQLite file, with its app context pushed: the job store in use is that database's twin."""
    if request.param == "sqlite":
        with sqlite_app(tmp_path, **MODEL_SETTINGS) as app, app.app_context():
            assert not is_postgres() and isinstance(store.store(), SqliteJobStore)
            yield app
        return
    app = create_app(make_settings(**MODEL_SETTINGS))
    with app.app_context():
        assert is_postgres() and isinstance(store.store(), PostgresJobStore)
        yield app
    _truncate_all_tables()
