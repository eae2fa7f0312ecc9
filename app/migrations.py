"""Versioned schema migrations with peewee-migrate; history is recorded in `migratehistory`.

`flask db migrate NAME` writes the next file under `migrations/` from the difference between
the models and the recorded schema; `flask db upgrade` applies pending files in order.
"""

from __future__ import annotations

import logging

from peewee_migrate import Router

from app.config import PROJECT_ROOT
from app.extensions import db

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
_log = logging.getLogger("peewee_migrate")


class PendingMigrations(RuntimeError):
    """The database schema is behind the code."""


def _router() -> Router:
    return Router(db, migrate_dir=MIGRATIONS_DIR, logger=_log)


def pending_migrations() -> list[str]:
    with db.connection_context():
        return list(_router().diff)


def applied_migrations() -> list[str]:
    with db.connection_context():
        return list(_router().done)


def upgrade() -> list[str]:
    """Apply every pending migration; return their names."""
    with db.connection_context():
        return _router().run()


def create_migration(name: str) -> str | None:
    """Write a migration for whatever the models changed since the last one."""
    import app.models as models_module  # every model is listed there

    models = [getattr(models_module, n) for n in models_module.__all__ if n != "BaseModel"]
    with db.connection_context():
        return _router().create(name, auto=models)


def ensure_migrated() -> None:
    """Refuse to run on an out-of-date schema (used by the web and worker processes)."""
    pending = pending_migrations()
    if pending:
        raise PendingMigrations(
            f"{len(pending)} pending migration(s) ({', '.join(pending)}): run `flask db upgrade`"
        )
