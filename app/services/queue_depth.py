"""How many messages wait in the hub's Dramatiq queues, asked of the broker at each /metrics
scrape.

Counted per queue the hub's actors use, and per delay queue (`<queue>.DQ`: retries with backoff
and delayed sends wait there; a running worker takes them in and sends each back when due, so
one that keeps growing also means no worker consumes it). Only messages ready for delivery
count: those a worker has taken and not yet acknowledged do not. Each broker is asked its own
way: RabbitMQ a passive queue declaration (`message_count`; a queue not declared yet holds
nothing), the Redis broker the length of the list Dramatiq keeps per queue, the embedded broker
its in-process queues' sizes.

The read opens its own connection with short timeouts (`timeout_s`) rather than borrowing the
broker's, which has none and may be busy sending: a broker that is down or slow makes the read
raise `QueueDepthUnreadable` within about that time, never hangs the scrape.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dramatiq
import redis
from dramatiq.common import dq_name, q_name
from redis.backoff import NoBackoff
from redis.retry import Retry

if TYPE_CHECKING:
    import pika

DEFAULT_TIMEOUT_S = 1.0
_NOT_FOUND = 404  # AMQP reply code of a passive declaration of a queue that does not exist


class QueueDepthUnreadable(Exception):
    """The broker did not answer the depth read in time, or refused it."""


class _QuietPika(logging.Filter):
    """pika warns of every channel the broker closes, including the 404 that a passive
    declaration of a queue not declared yet gets (expected here), and logs a failed connection
    in eight lines and a traceback: during a depth read, in its own thread only, those records
    are dropped, and the read's outcome is logged once (`app.services.live_state`)."""

    reading = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.reading, "active", False)


_quiet = _QuietPika()


@contextmanager
def _quiet_pika() -> Iterator[None]:
    """(pika's modules each log on a logger of their own, and a filter is not inherited.)"""
    for name in [name for name in logging.root.manager.loggerDict if name.startswith("pika.")]:
        logger = logging.getLogger(name)
        if _quiet not in logger.filters:
            logger.addFilter(_quiet)
    _quiet.reading.active = True
    try:
        yield
    finally:
        _quiet.reading.active = False


def queue_names(broker: dramatiq.Broker) -> list[str]:
    """Every queue the broker's actors use, each followed by its delay queue."""
    canonical = sorted({q_name(name) for name in broker.get_declared_queues()})
    return [name for queue in canonical for name in (queue, dq_name(queue))]


def queue_depths(broker: dramatiq.Broker, *,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, int]:
    """{queue name: messages ready}, for every queue of `queue_names`."""
    reader = _READERS.get(type(broker).__name__)
    if reader is None:
        return {}
    return reader(broker, queue_names(broker), timeout_s)


def _rabbitmq_depths(broker: dramatiq.Broker, names: list[str], timeout_s: float) -> dict[str, int]:
    from pika.adapters.utils.connection_workflow import AMQPConnectorException
    from pika.exceptions import AMQPError

    configured = broker.parameters  # type: ignore[attr-defined]
    try:
        with _quiet_pika():
            return _declared_counts([_time_boxed(parameters, timeout_s) for parameters in
                                     (configured if isinstance(configured, list) else [configured])],
                                    names)
    except (AMQPError, AMQPConnectorException, OSError) as exc:
        raise QueueDepthUnreadable(f"RabbitMQ: {exc!r}") from exc


def _time_boxed(parameters: pika.connection.Parameters,
                timeout_s: float) -> pika.connection.Parameters:
    """The broker's own connection parameters (host, credentials, TLS, vhost) with one attempt
    and `timeout_s` to connect, to finish the AMQP handshake, and to wait while blocked."""
    parameters = copy.copy(parameters)
    parameters.connection_attempts = 1
    parameters.socket_timeout = timeout_s
    parameters.stack_timeout = timeout_s
    parameters.blocked_connection_timeout = timeout_s
    return parameters


def _declared_counts(parameters: list[pika.connection.Parameters],
                     names: list[str]) -> dict[str, int]:
    import pika
    from pika.exceptions import ChannelClosedByBroker

    connection = pika.BlockingConnection(parameters)  # the first node that answers
    try:
        channel, depths = connection.channel(), {}
        for name in names:
            try:
                depths[name] = channel.queue_declare(name, passive=True).method.message_count
            except ChannelClosedByBroker as exc:  # it closed the channel: open another
                if exc.reply_code != _NOT_FOUND:
                    raise
                depths[name] = 0
                channel = connection.channel()
        return depths
    finally:
        if connection.is_open:
            connection.close()


def _redis_depths(broker: dramatiq.Broker, names: list[str], timeout_s: float) -> dict[str, int]:
    configured = broker.client.connection_pool  # type: ignore[attr-defined]
    pool = redis.ConnectionPool(connection_class=configured.connection_class,
                                **(configured.connection_kwargs |
                                   {"socket_timeout": timeout_s,
                                    "socket_connect_timeout": timeout_s,
                                    "retry": Retry(NoBackoff(), 0)}))
    namespace = broker.namespace  # type: ignore[attr-defined]
    try:
        pipe = redis.Redis(connection_pool=pool).pipeline(transaction=False)
        for name in names:
            pipe.llen(f"{namespace}:{name}")  # the list of message ids Dramatiq pops from
        return dict(zip(names, pipe.execute(), strict=True))
    except redis.RedisError as exc:
        raise QueueDepthUnreadable(f"Redis: {type(exc).__name__}: {exc}") from exc
    finally:
        pool.disconnect()


def _stub_depths(broker: dramatiq.Broker, names: list[str], timeout_s: float) -> dict[str, int]:
    queues = broker.queues  # type: ignore[attr-defined]
    return {name: queues[name].qsize() for name in names if name in queues}


_READERS: dict[str, Callable[[dramatiq.Broker, list[str], float], dict[str, int]]] = {
    "RabbitmqBroker": _rabbitmq_depths,
    "RedisBroker": _redis_depths,
    "StubBroker": _stub_depths,
}
