"""Operations: liveness, readiness, Prometheus metrics and a queue round-trip check."""

from __future__ import annotations

import time
import uuid

import structlog
from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, Float, String
from apiflask.validators import Range
from flask import Response
from peewee import PeeweeException
from prometheus_client import CONTENT_TYPE_LATEST

from app.database import opens_its_own_connection
from app.errors import error_response
from app.metrics import exposition, periodic_job_exposition
from app.providers.registry import current_registry
from app.scheduler import PERIODIC_JOBS
from app.security import public, require_auth
from app.security.authenticate import bearer_token
from app.security.metrics_access import check_metrics_access
from app.services import health
from app.services.live_state import read_live_state
from app.services.periodic_jobs import PeriodicJobState, job_states
from app.services.runtime import current_runtime, current_settings
from app.services.worker_check import run_worker_check

log = structlog.get_logger(__name__)
bp = APIBlueprint("ops", __name__, tag="Operations")


class HealthOut(Schema):
    status = String(required=True)


class ReadyOut(Schema):
    status = String(required=True)
    checks = Dict(keys=String(), values=String())


class WorkerCheckIn(Schema):
    timeout_s = Float(load_default=5.0, validate=Range(min=0.1, max=30))


class WorkerCheckOut(Schema):
    status = String(required=True)
    queue_wait_ms = Float()
    round_trip_ms = Float()


@bp.get("/healthz")
@public
@opens_its_own_connection
@bp.output(HealthOut)
@bp.doc(summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.get("/readyz")
@public
@opens_its_own_connection
@bp.output(ReadyOut)
@bp.doc(summary="Readiness: database, Redis and broker reachable, no periodic job overdue",
        responses=[200, 503])
def readyz() -> dict | Response:
    checks = health.readiness(current_runtime(), jobs=PERIODIC_JOBS)
    reasons = health.not_ready_reasons(checks)
    if reasons:
        return error_response(503, "not_ready", f"not ready: {'; '.join(reasons)}",
                              details={"checks": checks})
    return {"status": "ok", "checks": checks}


@bp.get("/metrics")
@public
@opens_its_own_connection
@bp.doc(summary="Prometheus metrics (a bearer token when HUB_METRICS_TOKEN is set; not served "
                "in production without one unless HUB_METRICS_PUBLIC=true)",
        responses=[200, 401, 403, 404])
def metrics() -> Response:
    check_metrics_access(current_settings(), bearer_token())
    live = read_live_state(current_runtime(), current_registry())
    return Response(exposition() + live.exposition()
                    + periodic_job_exposition(_periodic_job_states()),
                    mimetype=CONTENT_TYPE_LATEST)


def _periodic_job_states() -> list[PeriodicJobState]:
    try:
        return job_states(PERIODIC_JOBS)
    except PeeweeException as exc:  # the database is down: /readyz says so; serve the rest
        log.warning("periodic_job_states_unreadable", error=f"{type(exc).__name__}: {exc}")
        return []


@bp.post("/api/ops/worker-check")
@require_auth("admin", api_key=False)
@bp.input(WorkerCheckIn, location="query", arg_name="query")
@bp.output(WorkerCheckOut)
@bp.doc(summary="Send a message through the queue and wait for a worker to answer",
        responses=[200, 504])
def worker_check(query: dict) -> dict:
    return run_worker_check(f"ops-{uuid.uuid4().hex}", sent_at=time.time(),
                            timeout_s=query["timeout_s"])
