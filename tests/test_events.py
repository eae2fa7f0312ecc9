"""One contract, two twins: the Redis and the in-process job event streams behave the same."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis

from app.events import EventStream, InvalidEventId, MemoryEventStream, RedisEventStream
from tests.conftest import REDIS_PREFIX


@pytest.fixture(params=["memory", "redis"])
def make_stream(request, redis_client):
    def factory(ttl_s: int = 60) -> EventStream:
        if request.param == "memory":
            return MemoryEventStream(ttl_s=ttl_s)
        return RedisEventStream(redis_client, prefix=REDIS_PREFIX, ttl_s=ttl_s)

    return factory


@pytest.fixture
def stream_name() -> str:
    return f"job-{uuid.uuid4().hex}"


def test_order_is_kept_and_ids_increase(make_stream, stream_name) -> None:
    events = make_stream()
    ids = [events.append(stream_name, "delta", {"text": str(i)}) for i in range(50)]
    read = events.read(stream_name)
    assert [e.data["text"] for e in read] == [str(i) for i in range(50)]
    assert [e.id for e in read] == ids
    assert len(set(ids)) == 50


def test_late_reader_gets_everything_from_the_beginning(make_stream, stream_name) -> None:
    events = make_stream()
    events.append(stream_name, "status", {"status": "running"})
    events.append(stream_name, "delta", {"text": "hi"})
    events.append(stream_name, "done", {"status": "succeeded"})
    assert [e.type for e in events.read(stream_name, "0")] == ["status", "delta", "done"]


def test_reconnecting_reader_resumes_after_its_last_id(make_stream, stream_name) -> None:
    events = make_stream()
    for i in range(5):
        events.append(stream_name, "delta", {"text": str(i)})
    first = events.read(stream_name, count=2)
    rest = events.read(stream_name, first[-1].id)
    assert [e.data["text"] for e in first + rest] == ["0", "1", "2", "3", "4"]
    assert events.read(stream_name, rest[-1].id) == []


def test_blocking_read_wakes_on_append(make_stream, stream_name) -> None:
    events = make_stream()
    got: list = []
    started = threading.Event()

    def reader() -> None:
        started.set()
        got.extend(events.read(stream_name, "0", timeout_s=10))

    thread = threading.Thread(target=reader)
    thread.start()
    started.wait()
    events.append(stream_name, "delta", {"text": "late"})
    thread.join(timeout=10)
    assert [e.data for e in got] == [{"text": "late"}]


def test_empty_read_returns_after_timeout(make_stream, stream_name) -> None:
    assert make_stream().read(stream_name, "0", timeout_s=0.05) == []


def test_unknown_event_type_is_refused(make_stream, stream_name) -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        make_stream().append(stream_name, "bogus", {})


def test_malformed_last_event_id_is_refused(make_stream, stream_name) -> None:
    with pytest.raises(InvalidEventId):
        make_stream().read(stream_name, "not-an-id")


def test_finished_stream_expires(make_stream, stream_name) -> None:
    events = make_stream(ttl_s=1)
    events.append(stream_name, "done", {"status": "succeeded"})
    events.finish(stream_name)
    assert events.exists(stream_name)
    deadline = time.monotonic() + 10
    while events.exists(stream_name) and time.monotonic() < deadline:
        events.read(stream_name, "0", timeout_s=0.1)  # waits on the backend, not a sleep
    assert not events.exists(stream_name)
    assert events.read(stream_name, "0") == []


def test_unfinished_stream_keeps_a_safety_expiry(redis_client, stream_name) -> None:
    events = RedisEventStream(redis_client, prefix=REDIS_PREFIX, ttl_s=60, max_ttl_s=3600)
    events.append(stream_name, "status", {"status": "queued"})
    ttl = redis_client.ttl(f"{REDIS_PREFIX}events:{stream_name}")
    assert 3500 < ttl <= 3600
    events.finish(stream_name)
    assert redis_client.ttl(f"{REDIS_PREFIX}events:{stream_name}") <= 60


def test_every_process_appending_keeps_the_safety_expiry(redis_client, stream_name) -> None:
    key = f"{REDIS_PREFIX}events:{stream_name}"
    web, worker = (RedisEventStream(redis_client, prefix=REDIS_PREFIX, ttl_s=60,
                                    max_ttl_s=3600) for _ in range(2))
    web.append(stream_name, "status", {"status": "running"})
    redis_client.persist(key)  # as if the expiry were lost: the next append restores it
    ids = [worker.append(stream_name, "delta", {"text": str(i)}) for i in range(3)]
    assert 3500 < redis_client.ttl(key) <= 3600
    ids += [web.append(stream_name, "delta", {"text": "3"})]
    assert 3500 < redis_client.ttl(key) <= 3600
    assert [e.data["text"] for e in web.read(stream_name)[1:]] == ["0", "1", "2", "3"]
    assert [e.id for e in web.read(stream_name)[1:]] == ids


def test_memory_stream_expiry_follows_its_clock(stream_name) -> None:
    now = [1000.0]
    events = MemoryEventStream(ttl_s=30, max_ttl_s=100, clock=lambda: now[0])
    events.append(stream_name, "status", {"status": "running"})
    now[0] += 99
    assert events.exists(stream_name)
    now[0] += 2
    assert not events.exists(stream_name)


def test_append_many_keeps_order_and_finishing_sets_the_short_expiry(
        make_stream, stream_name) -> None:
    events = make_stream(ttl_s=60)
    first = events.append(stream_name, "delta", {"text": "hi"})
    ids = events.append_many(stream_name, [("usage", {"cost_credits": 3}),
                                           ("done", {"status": "succeeded"})], finish=True)
    read = events.read(stream_name)
    assert [e.type for e in read] == ["delta", "usage", "done"]
    assert [e.id for e in read] == [first, *ids]
    assert read[1].data == {"cost_credits": 3}
    with pytest.raises(ValueError):
        events.append_many(stream_name, [("delta", {}), ("bogus", {})])
    assert len(events.read(stream_name)) == 3  # a bad type writes nothing


def test_append_many_on_redis_finishes_with_the_stream_ttl(redis_client, stream_name) -> None:
    events = RedisEventStream(redis_client, prefix=REDIS_PREFIX, ttl_s=60, max_ttl_s=3600)
    events.append_many(stream_name, [("status", {"status": "queued"})])
    assert 3500 < redis_client.ttl(f"{REDIS_PREFIX}events:{stream_name}") <= 3600
    events.append_many(stream_name, [("done", {"status": "succeeded"})], finish=True)
    assert redis_client.ttl(f"{REDIS_PREFIX}events:{stream_name}") <= 60


def test_sent_events_are_appended_in_order_and_confirmed_with_their_ids(make_stream,
                                                                        stream_name) -> None:
    events = make_stream()
    first = events.send_many(stream_name, [("status", {"status": "running"}),
                                           ("delta", {"text": "a"})])
    first_ids = first.confirm()
    second_ids = events.send_many(stream_name, [("delta", {"text": "b"})]).confirm()
    read = events.read(stream_name)
    assert [(e.type, e.data) for e in read] == [("status", {"status": "running"}),
                                                ("delta", {"text": "a"}), ("delta", {"text": "b"})]
    assert [e.id for e in read] == first_ids + second_ids
    assert first.confirm() == first_ids  # confirming again answers the same


def test_sent_events_keep_the_safety_expiry_and_free_their_connection(redis_client,
                                                                       stream_name) -> None:
    events = RedisEventStream(redis_client, prefix=REDIS_PREFIX, ttl_s=60, max_ttl_s=3600)
    events.send_many(stream_name, [("delta", {"text": "a"})]).confirm()
    assert 3500 < redis_client.ttl(f"{REDIS_PREFIX}events:{stream_name}") <= 3600
    assert not redis_client.connection_pool._in_use_connections


def test_a_refused_send_raises_at_confirm_and_frees_its_connection(redis_client,
                                                                   stream_name) -> None:
    redis_client.set(f"{REDIS_PREFIX}events:{stream_name}", "not a stream")
    events = RedisEventStream(redis_client, prefix=REDIS_PREFIX, ttl_s=60)
    sent = events.send_many(stream_name, [("delta", {"text": "a"})])
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        sent.confirm()
    assert not redis_client.connection_pool._in_use_connections
    assert redis_client.ping()  # the pool's connections still work


def test_the_hubs_redis_client_holds_more_blocked_readers_than_redis_pys_default(
        app, stream_name) -> None:
    """Each WebSocket watcher blocks on its job's stream holding one connection of the hub's
    pool; redis-py's default pool (100) refused the 101st with "Too many connections"."""
    from app.services.runtime import current_events

    with app.app_context():
        events = current_events()
    readers, results, errors = 150, [], []

    def read() -> None:
        try:  # a quiet stream: every reader holds its connection for the whole wait
            results.append(events.read(stream_name, "0", timeout_s=2.0))
        except Exception as exc:  # noqa: BLE001 — any refusal is the failure reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=read) for _ in range(readers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == [] and results == [[]] * readers, errors[:3]
