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
# connections and context switches (gateway benchmark, 2 cores, 16 concurrent streams: 4
# processes added 47–53 ms to the first token and 7 ms of CPU per request, 2 processes 34–38 ms
# and 5–6 ms).
workers = 1 if _embedded else int(os.environ.get("WEB_CONCURRENCY", os.cpu_count() or 1))
threads = int(os.environ.get("HUB_WEB_THREADS", 128))
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
    """Move everything loaded so far (the app, its modules, the OpenAPI document: about 190,000
    objects) out of the garbage collector's reach. Without it, each full collection walked them
    all while holding the GIL: measured under the gateway benchmark, a 130–190 ms stall of every
    stream in the process (one in each process per round of 400 requests); after it, 1 ms."""
    import gc

    gc.freeze()
