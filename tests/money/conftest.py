"""The model-based tests run each test on PostgreSQL and on SQLite (`backend_app`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("tests.money.machine", "tests.money.scenarios")

from app import create_app  # noqa: E402 — after the rewrite hook, like the modules below
from app.database import is_postgres  # noqa: E402
from tests.conftest import _truncate_all_tables, make_settings, sqlite_app  # noqa: E402
from tests.money.machine import MODEL_SETTINGS  # noqa: E402


@pytest.fixture(params=["postgresql", "sqlite"])
def backend_app(request, migrated_database, tmp_path) -> Iterator:
    """An app with the model's settings, on PostgreSQL (this run's database) or on a fresh
    SQLite file, with its app context pushed."""
    if request.param == "sqlite":
        with sqlite_app(tmp_path, **MODEL_SETTINGS) as app, app.app_context():
            assert not is_postgres()
            yield app
        return
    app = create_app(make_settings(**MODEL_SETTINGS))
    with app.app_context():
        assert is_postgres()
        yield app
    _truncate_all_tables()
