"""What a benchmark run leaves behind, removed at its end: its Redis keys and its RabbitMQ
queues (both under the run's own prefixes). The test suite runs every benchmark (`--smoke`), so
a leftover would pile up with each run."""

from __future__ import annotations

import importlib


def delete_redis_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)


def delete_rabbitmq_queues(url: str, queue_prefix: str) -> None:
    """The hub's queues under `queue_prefix`, with Dramatiq's delay and dead-letter twins."""
    import pika

    importlib.import_module("app.tasks")  # declares the actors
    from app.queue import _actors

    names = {queue_prefix + actor.base_queue_name for actor in _actors}
    conn = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = conn.channel()
        for name in sorted(names):
            for queue in (name, f"{name}.DQ", f"{name}.XQ"):
                channel.queue_delete(queue)
    finally:
        conn.close()
