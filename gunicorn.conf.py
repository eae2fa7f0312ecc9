"""gunicorn settings for the web process.

Worker class gthread (with a kept-alive connection's next request served by the thread that
answered its last one, when it arrives within HUB_WEB_LINGER_MS: app/web_worker.py): each
WebSocket or SSE stream holds one thread while it waits on blocking Redis reads, so many
threads per process (HUB_WEB_THREADS, default 128) let one process hold hundreds of live
streams without monkey-patching psycopg2, redis and the provider SDKs as gevent would need.
"""

import os

from app.config import load_settings

_settings = load_settings()
_embedded = _settings.broker_kind == "embedded"

# Production listens on every interface (behind a proxy); embedded demos stay on loopback.
bind = f"{os.environ.get('HOST', '127.0.0.1' if _embedded else '0.0.0.0')}:{_settings.PORT}"  # noqa: S104
worker_class = "app.web_worker.LingeringThreadWorker"  # gthread, see app/web_worker.py
# The embedded queue and its events live in one process's memory: exactly one worker then.
# One process per core: each runs many threads, so more processes only add PostgreSQL
# connections and context switches, and both the time to first token and the CPU per request
# grow (docs/benchmarks/2026-12-02-gateway-earlier-rounds.md).
workers = 1 if _embedded else int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))
threads = int(os.environ.get("HUB_WEB_THREADS", 128))
# gthread stops accepting once a process holds worker_connections connections (gunicorn's
# default, 1000), kept-alive idle ones included: with threads for more WebSockets than that, the
# rest would wait in the listen backlog. Room for every thread, and 1000 idle connections beside.
worker_connections = threads + 1000
timeout = 120
graceful_timeout = 30
keepalive = 5
accesslog = "-"
logger_class = "app.access_log.RedactingLogger"  # secrets in URLs (old reset links) redacted
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def child_exit(server, worker) -> None:  # noqa: ARG001 — gunicorn's hook signature
    """A dead worker's metrics stop counting as live (PROMETHEUS_MULTIPROC_DIR; see app.metrics)."""
    from app.metrics import mark_process_dead

    mark_process_dead(worker.pid)


def post_worker_init(worker) -> None:  # noqa: ARG001 — gunicorn's hook signature
    """Move everything loaded so far (the app, its modules, the OpenAPI document: a great
    many objects) out of the garbage collector's reach. Without it, each full collection walked them
    all while holding the GIL, stalling every stream in the process (measured:
    docs/benchmarks/2026-12-02-gateway-earlier-rounds.md)."""
    import gc

    gc.freeze()
