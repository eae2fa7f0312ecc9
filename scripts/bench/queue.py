"""Queue hop benchmark: `python -m scripts.bench.queue`.

Enqueue → actor start latency through real `dramatiq` worker processes, for the RabbitMQ broker
and the Redis broker, measured the same way in one run: the `ops.worker_check` actor reports how
long its message waited (`queue_wait_ms`). Messages are sent one at a time with a gap between
them (idle queue) and back to back (busy queue). Everything on 127.0.0.1; own key/queue prefixes.
`--smoke`: three messages per broker and mode.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BROKERS = {"rabbitmq": "amqp://guest:guest@127.0.0.1:5672/", "redis": REDIS_URL}


def forget(overrides: dict[str, str]) -> None:
    """Remove the run's Redis keys, RabbitMQ queues and SQLite files."""
    from scripts.bench.cleanup import delete_rabbitmq_queues, delete_redis_keys

    delete_redis_keys(REDIS_URL, overrides["HUB_REDIS_PREFIX"])
    if overrides["BROKER_URL"].startswith("amqp"):
        delete_rabbitmq_queues(overrides["BROKER_URL"], overrides["HUB_QUEUE_PREFIX"])
    database = Path(overrides["DATABASE_URL"].removeprefix("sqlite:///"))
    for path in (database, database.with_name(database.name + "-shm"),
                 database.with_name(database.name + "-wal")):
        path.unlink(missing_ok=True)


def measure(broker: str, url: str, count: int, gap_s: float) -> dict:
    from app import create_app
    from app.config import load_settings
    from app.services.runtime import current_events
    from app.tasks.ops import worker_check

    run = uuid.uuid4().hex[:8]
    overrides = {"HUB_ENV": "test", "SECRET_KEY": "q" * 40, "REDIS_URL": REDIS_URL,
                 "BROKER_URL": url, "HUB_REDIS_PREFIX": f"benchq{run}:",
                 "HUB_QUEUE_PREFIX": f"benchq{run}.", "HUB_LOG_LEVEL": "WARNING",
                 "DATABASE_URL": f"sqlite:////tmp/benchq{run}.db"}
    app = create_app(load_settings(**overrides))
    env = dict(os.environ) | {k: str(v) for k, v in overrides.items()}
    proc = subprocess.Popen([sys.executable, "-m", "dramatiq", "workers", "--processes", "1",
                             "--threads", "4"], cwd=PROJECT_ROOT, env=env,
                            start_new_session=True, stderr=subprocess.DEVNULL)
    results: dict[str, list[float]] = {"idle": [], "busy": []}
    try:
        with app.app_context():
            events = current_events()
            for mode, gap in (("idle", gap_s), ("busy", 0.0)):
                for i in range(count + 3):  # the first three warm the worker up
                    stream = f"q-{run}-{mode}-{i}"
                    worker_check.send(stream, time.time())
                    waited, deadline = None, time.monotonic() + 60
                    while waited is None:
                        if time.monotonic() > deadline:
                            raise SystemExit(f"{broker}: the worker did not answer in 60 s")
                        # blocks for less than the client's socket timeout (app.services.runtime)
                        for event in events.read(stream, "0", timeout_s=1):
                            if event.type == "status":
                                waited = event.data["queue_wait_ms"]
                    if i >= 3:
                        results[mode].append(waited)
                    if gap:
                        time.sleep(gap)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        forget(overrides)
    row = {"broker": broker}
    for mode, values in results.items():
        ordered = sorted(values)
        row[mode] = {"p50_ms": round(statistics.median(ordered), 2),
                     "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2)}
    return row


def main() -> None:
    from scripts.bench.sizes import parse_sizes

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    args = parse_sizes(parser, {
        "count": (40, 3, "messages measured per broker and mode, after three warm-up ones"),
        "gap-ms": (200.0, 20.0, "gap between messages on the idle queue"),
    })
    for broker, url in BROKERS.items():
        print(json.dumps(measure(broker, url, args.count, args.gap_ms / 1000)), flush=True)


if __name__ == "__main__":
    main()
