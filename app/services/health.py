"""Readiness checks: can this process reach the database, Redis and the broker?"""

from __future__ import annotations

import dramatiq

from app.extensions import db
from app.services.runtime import Runtime


def check_database() -> None:
    db.execute_sql("SELECT 1")


def check_redis(runtime: Runtime) -> str:
    if runtime.redis is None:
        return "not configured"
    runtime.redis.ping()
    return "ok"


def check_broker(broker: dramatiq.Broker) -> str:
    kind = type(broker).__name__
    if kind == "RedisBroker":
        broker.client.ping()  # type: ignore[attr-defined]
    elif kind == "RabbitmqBroker":
        import pika

        params = broker.parameters  # type: ignore[attr-defined]
        pika.BlockingConnection(params[0] if isinstance(params, list) else params).close()
    return "ok"


def readiness(runtime: Runtime) -> dict[str, str]:
    """Each dependency's state: 'ok', 'not configured', or the failure it raised."""
    checks: dict[str, str] = {}
    for name, check in (("database", check_database),
                        ("redis", lambda: check_redis(runtime)),
                        ("broker", lambda: check_broker(runtime.broker))):
        try:
            checks[name] = check() or "ok"
        except Exception as exc:  # noqa: BLE001 — any failure means "not ready"; report it
            checks[name] = f"unreachable: {type(exc).__name__}: {str(exc)[:200]}"
    return checks
