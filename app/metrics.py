"""Prometheus metrics: what the hub's processes count, and how /metrics reports them.

Each process counts in its own memory. With several processes (gunicorn workers, Dramatiq
workers) set `PROMETHEUS_MULTIPROC_DIR` to one empty directory shared by all of them on the host
(prometheus_client's multi-process mode): each process then writes its counts there, and
/metrics sums every process's, including the workers' that finish jobs. Without it (the embedded
hub, one process) /metrics reports the serving process alone.

The gauges of state held elsewhere (the periodic jobs in the database, the queue depths in the
broker, the breakers in their store) are not kept in any process: their collectors are given
what the serving process read at the scrape, and are served beside the counters in either mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import UTC
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from app.models.jobs import Job
    from app.services.periodic_jobs import PeriodicJobState

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Label values come from a fixed set, never from the client: a request with an unknown method or
# a path no URL rule matches is counted under one value (a scan of random paths adds no series).
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "unmatched"

HTTP_REQUESTS = Counter("hub_http_requests_total",
                        "HTTP responses by method, route (the URL rule, never the raw path; "
                        "'unmatched' when none matched) and status",
                        ["method", "route", "status"])
_http_counters: dict[tuple[str, str, int], Counter] = {}  # as few as the label values

PROVIDER_ATTEMPTS = Counter("hub_provider_attempts_total", "Upstream provider calls by outcome",
                            ["provider", "channel", "outcome"])
JOBS_FINISHED = Counter("hub_jobs_finished_total", "Jobs settled, by how they ended",
                        ["type", "model", "provider", "status", "executor"])
CREDITS_CHARGED = Counter("hub_credits_charged_total", "Credits charged for settled jobs",
                          ["type", "model"])
TOKENS = Counter("hub_tokens_total", "Tokens billed for settled chat jobs",
                 ["model", "direction"])
RETENTION_ROWS = Counter("hub_retention_rows_total",
                         "Rows the retention pass rolled up and deleted, or stripped", ["kind"])
TIME_TO_FIRST_TOKEN = Histogram("hub_job_time_to_first_token_seconds",
                                "From a chat job's creation to its first delivered text",
                                ["model", "executor"], buckets=_LATENCY_BUCKETS_S)
GATEWAY_OVERHEAD = Histogram("hub_gateway_overhead_seconds",
                             "The time the hub itself added to a /v1 response (X-Hub-Overhead-Ms)",
                             ["api", "stream"], buckets=_LATENCY_BUCKETS_S)


def record_settled_job(job: Job, charged_credits: int) -> None:
    """Count a job that has just been settled (once per job: the caller shows it terminal)."""
    JOBS_FINISHED.labels(job.type, job.model, job.provider or "", job.outcome,
                         job.executor).inc()
    CREDITS_CHARGED.labels(job.type, job.model).inc(charged_credits)
    if job.type == "embedding":
        TOKENS.labels(job.model, "input").inc(job.input_tokens or 0)
    if job.type == "chat":
        TOKENS.labels(job.model, "input").inc(job.input_tokens or 0)
        TOKENS.labels(job.model, "output").inc(job.output_tokens or 0)
        if job.first_token_at is not None:
            TIME_TO_FIRST_TOKEN.labels(job.model, job.executor).observe(
                (job.first_token_at - job.created_at).total_seconds())


def record_gateway_overhead(api: str, *, stream: bool, overhead_ms: float) -> None:
    GATEWAY_OVERHEAD.labels(api, "true" if stream else "false").observe(
        max(overhead_ms, 0.0) / 1000)


def record_http_response(method: str, route: str | None, status: int) -> None:
    """Count one response. On every request's path: the labelled counter is looked up once per
    (method, route, status) and kept, so a response costs a dict lookup and an increment
    (docs/benchmarks/2026-12-04-ops-metrics.md)."""
    key = (method if method in HTTP_METHODS else OTHER_METHOD, route or UNMATCHED_ROUTE, status)
    counter = _http_counters.get(key)
    if counter is None:
        counter = _http_counters[key] = HTTP_REQUESTS.labels(*key)
    counter.inc()


def exposition() -> bytes:
    """The metrics in Prometheus' text format: every process's in multi-process mode."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()


def mark_process_dead(pid: int) -> None:
    """gunicorn's child_exit hook: a dead worker's live gauges stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


class PeriodicJobsCollector(Collector):
    """The periodic jobs' state, read from the database at each scrape (the same answer from
    every process, so no multi-process bookkeeping)."""

    def __init__(self, states: Iterable[PeriodicJobState]) -> None:
        self.states = list(states)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        last_run = GaugeMetricFamily(
            "hub_periodic_job_last_run_timestamp_seconds",
            "When a periodic job last finished a run without raising (Unix time; absent until "
            "it first does)", labels=["job"])
        interval = GaugeMetricFamily("hub_periodic_job_interval_seconds",
                                     "How often the scheduler enqueues a periodic job",
                                     labels=["job"])
        overdue = GaugeMetricFamily(
            "hub_periodic_job_overdue",
            "1 when a periodic job has not finished a run for twice its interval (one that "
            "never ran counts from when the hub first knew of it), else 0", labels=["job"])
        for state in self.states:
            if state.last_run_at is not None:
                last_run.add_metric([state.job],
                                    state.last_run_at.replace(tzinfo=UTC).timestamp())
            interval.add_metric([state.job], state.interval_s)
            overdue.add_metric([state.job], 1 if state.overdue else 0)
        yield from (last_run, interval, overdue)


def periodic_job_exposition(states: Iterable[PeriodicJobState]) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(PeriodicJobsCollector(states))
    return generate_latest(registry)


class QueueDepthCollector(Collector):
    """The broker's queue depths as read at this scrape (`app.services.queue_depth`); every
    process asks the same broker, so there is nothing to sum across processes."""

    def __init__(self, depths: dict[str, int] | None) -> None:
        self.depths = depths

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "hub_queue_depth", "Messages ready in a Dramatiq queue of the hub, asked of the "
            "broker at this scrape (a delay queue's name ends in .DQ); absent when the broker "
            "did not answer", labels=["queue"])
        up = GaugeMetricFamily("hub_queue_depth_up",
                               "1 when the broker answered this scrape's queue-depth read, "
                               "0 when it did not (and hub_queue_depth is absent)")
        for queue, count in sorted((self.depths or {}).items()):
            depth.add_metric([queue], count)
        up.add_metric([], 0 if self.depths is None else 1)
        yield from (depth, up)


class BreakerCollector(Collector):
    """Each channel's circuit breaker as its store (Redis, or the embedded hub's memory) holds
    it at this scrape."""

    def __init__(self, readings: Iterable[tuple[str, str, bool]]) -> None:
        self.readings = list(readings)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "hub_channel_breaker_open", "1 while a channel's circuit breaker is open or "
            "half-open (calls refused but for one probe), 0 while closed; absent when the "
            "breaker store did not answer", labels=["provider", "channel"])
        for provider, channel, is_open in self.readings:
            family.add_metric([provider, channel], 1 if is_open else 0)
        yield family


def live_state_exposition(queue_depths: dict[str, int] | None,
                          breakers: Iterable[tuple[str, str, bool]]) -> bytes:
    """The state read at this scrape: queue depths (None: the broker did not answer) and
    (provider, channel, open) per breaker."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueDepthCollector(queue_depths))
    registry.register(BreakerCollector(breakers))
    return generate_latest(registry)
