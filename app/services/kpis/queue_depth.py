"""How many messages wait in each of the hub's queues, asked of the broker itself.

One reader per broker, behind one interface, chosen from the broker the app installed (which
the settings chose): RabbitMQ answers a passive `queue.declare` with the queue's message count
(on a connection of its own, so a missing queue, which closes the channel, never disturbs the
broker's publishing channel); Redis holds each queue as a list (`LLEN`), its delayed messages
as another and its dead letters as a sorted set (Dramatiq's layout); the embedded broker's
queues are in-process. Ready messages are those no worker has taken yet.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass

import dramatiq
import redis
from dramatiq.brokers.stub import StubBroker
from dramatiq.common import dq_name, q_name, xq_name

from app.errors import ServiceUnavailable
from app.services.runtime import current_runtime


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    ready: int  # waiting for a worker
    delayed: int  # retries and delayed messages, not yet due
    dead: int  # dead-lettered (kept for a while by the broker)


class QueueDepthUnavailable(ServiceUnavailable):
    """The broker could not be asked how many messages wait."""

    code = "queue_depth_unavailable"


class QueueDepthReader(ABC):
    @abstractmethod
    def depths(self, queues: list[str]) -> list[QueueDepth]:
        """The depth of each queue (canonical names), in the order given."""


class RabbitmqDepthReader(QueueDepthReader):
    def __init__(self, parameters: object) -> None:
        self.parameters = parameters

    def depths(self, queues: list[str]) -> list[QueueDepth]:
        import pika
        from pika.exceptions import AMQPError, ChannelClosedByBroker

        try:
            connection = pika.BlockingConnection(self.parameters)
        except AMQPError as exc:
            raise QueueDepthUnavailable(f"RabbitMQ did not answer: {exc!r}") from None
        try:
            channel = connection.channel()

            def count(name: str) -> int:
                nonlocal channel
                try:
                    return channel.queue_declare(queue=name, passive=True).method.message_count
                except ChannelClosedByBroker:  # no such queue yet: nothing waits in it
                    channel = connection.channel()
                    return 0

            return [QueueDepth(name, count(name), count(dq_name(name)), count(xq_name(name)))
                    for name in queues]
        except AMQPError as exc:
            raise QueueDepthUnavailable(f"RabbitMQ did not answer: {exc!r}") from None
        finally:
            if connection.is_open:
                connection.close()


class RedisDepthReader(QueueDepthReader):
    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client, self.namespace = client, namespace

    def depths(self, queues: list[str]) -> list[QueueDepth]:
        pipe = self.client.pipeline(transaction=False)
        for name in queues:
            pipe.llen(f"{self.namespace}:{name}")
            pipe.llen(f"{self.namespace}:{dq_name(name)}")
            pipe.zcard(f"{self.namespace}:{xq_name(name)}")
        try:
            counts = pipe.execute()
        except redis.RedisError as exc:
            raise QueueDepthUnavailable(f"Redis did not answer: {exc!r}") from None
        return [QueueDepth(name, *(int(c) for c in counts[3 * i:3 * i + 3]))
                for i, name in enumerate(queues)]


class StubDepthReader(QueueDepthReader):
    def __init__(self, broker: StubBroker) -> None:
        self.broker = broker

    def depths(self, queues: list[str]) -> list[QueueDepth]:
        def size(name: str) -> int:
            queue = self.broker.queues.get(name)
            return queue.qsize() if queue is not None else 0

        return [QueueDepth(name, size(name), size(dq_name(name)),
                           len(self.broker.dead_letters_by_queue.get(name, ())))
                for name in queues]


def reader_for(broker: dramatiq.Broker) -> QueueDepthReader:
    if isinstance(broker, StubBroker):
        return StubDepthReader(broker)
    from dramatiq.brokers.redis import RedisBroker

    if isinstance(broker, RedisBroker):
        return RedisDepthReader(broker.client, broker.namespace)
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    if isinstance(broker, RabbitmqBroker):
        return RabbitmqDepthReader(broker.parameters)
    raise QueueDepthUnavailable(f"no queue depth reader for {type(broker).__name__}")


def canonical_queues(names: Iterable[str]) -> list[str]:
    return sorted({q_name(name) for name in names})


def queue_depths(broker: dramatiq.Broker | None = None) -> list[QueueDepth]:
    """The depth of every queue the app's broker declared (its actors' queues)."""
    broker = broker or current_runtime().broker
    return reader_for(broker).depths(canonical_queues(broker.get_declared_queues()))
