"""Readiness checks: can this process reach the database, Redis and the broker, and have the
periodic jobs run on time (`app.services.periodic_jobs`)?"""

from __future__ import annotations

from collections.abc import Mapping

import dramatiq

from app.extensions import db
from app.services import periodic_jobs
from app.services.runtime import Runtime

OVERDUE_PREFIX = "overdue: "
UNREACHABLE_PREFIX = "unreachable: "


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


def check_periodic_jobs(jobs: Mapping[str, int]) -> str:
    """'ok', or 'overdue: ' and the jobs that have not run for twice their interval."""
    overdue = periodic_jobs.overdue_jobs(jobs)
    if not overdue:
        return "ok"
    return OVERDUE_PREFIX + "; ".join(state.describe() for state in overdue)


def readiness(runtime: Runtime, *, jobs: Mapping[str, int]) -> dict[str, str]:
    """Each dependency's state: 'ok', 'not configured', or the failure it raised; and whether
    the periodic `jobs` (actor name → interval_s) are overdue."""
    checks: dict[str, str] = {}
    for name, check in (("database", check_database),
                        ("redis", lambda: check_redis(runtime)),
                        ("broker", lambda: check_broker(runtime.broker))):
        checks[name] = _run(check)
    checks["periodic_jobs"] = _run(lambda: check_periodic_jobs(jobs)) \
        if checks["database"] == "ok" else "not checked: the database is unreachable"
    return checks


def _run(check) -> str:
    try:
        return check() or "ok"
    except Exception as exc:  # noqa: BLE001 — any failure means "not ready"; report it
        return f"{UNREACHABLE_PREFIX}{type(exc).__name__}: {str(exc)[:200]}"


def not_ready_reasons(checks: Mapping[str, str]) -> list[str]:
    """Why `checks` mean "not ready", one phrase per kind of failure; empty when ready."""
    reasons = []
    unreachable = [name for name, state in checks.items() if state.startswith(UNREACHABLE_PREFIX)]
    if unreachable:
        reasons.append(f"{', '.join(unreachable)} unreachable")
    if checks.get("periodic_jobs", "").startswith(OVERDUE_PREFIX):
        reasons.append("periodic jobs overdue: "
                       + checks["periodic_jobs"].removeprefix(OVERDUE_PREFIX))
    return reasons
