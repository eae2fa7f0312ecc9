"""Following a job's stream: what each watcher receives (both twins), and on Redis, that one
reader per process follows every watched stream, so an idle watcher sends Redis nothing."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import redis

from app.events import EventStream, InvalidEventId, MemoryEventStream, RedisEventStream
from tests.conftest import REDIS_PREFIX, REDIS_URL
from tests.faults.services import OwnRedis, wait_for


@pytest.fixture
def own_redis_client(redis_client) -> redis.Redis:
    """A client of this test's own: the reader thread a watch starts may still be blocked on
    Redis (up to 2 s) after the test, holding one of its client's connections."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    yield client
    client.connection_pool.disconnect()


@pytest.fixture(params=["memory", "redis"])
def events(request, own_redis_client) -> EventStream:
    if request.param == "memory":
        return MemoryEventStream(ttl_s=60)
    return RedisEventStream(own_redis_client, prefix=REDIS_PREFIX, ttl_s=60)


@pytest.fixture
def stream() -> str:
    return f"job-{uuid.uuid4().hex}"


def texts(batch) -> list[str]:
    return [event.data["text"] for event in batch]


def drain(watch, until: str = "done", timeout_s: float = 10.0) -> list:
    got: list = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got += watch.next(0.2)
        if got and got[-1].type == until:
            return got
    raise AssertionError(f"no {until!r} within {timeout_s} s; got {got}")


def test_every_watcher_of_a_job_gets_every_event_once_in_order(events, stream) -> None:
    watches = [events.watch(stream) for _ in range(5)]
    for i in range(20):
        events.append(stream, "delta", {"text": str(i)})
    events.append(stream, "done", {"status": "succeeded"})
    for watch in watches:
        got = drain(watch)
        assert texts(got[:-1]) == [str(i) for i in range(20)]
        assert watch.next(0) == []
        watch.close()


def test_a_watcher_joining_late_gets_what_it_missed_then_what_follows(events, stream) -> None:
    early = events.watch(stream)
    ids = [events.append(stream, "delta", {"text": str(i)}) for i in range(3)]
    assert texts(drain_rest(early, 3)) == ["0", "1", "2"]
    from_start, from_middle = events.watch(stream, "0"), events.watch(stream, ids[0])
    events.append(stream, "delta", {"text": "3"})
    events.append(stream, "done", {})
    assert texts(drain(from_start)[:-1]) == ["0", "1", "2", "3"]
    assert texts(drain(from_middle)[:-1]) == ["1", "2", "3"]
    assert texts(drain(early)[:-1]) == ["3"]
    for watch in (early, from_start, from_middle):
        watch.close()


def test_a_quiet_stream_answers_empty_after_the_wait(events, stream) -> None:
    with events.watch(stream) as watch:
        started = time.monotonic()
        assert watch.next(0.2) == []
        assert time.monotonic() - started >= 0.19


def test_a_waiting_watcher_wakes_when_an_event_arrives(events, stream) -> None:
    with events.watch(stream) as watch:
        threading.Timer(0.2, lambda: events.append(stream, "delta", {"text": "x"})).start()
        got = watch.next(10)
        assert texts(got) == ["x"]


@pytest.mark.parametrize("bad", ["abc", "1-2-3", "-1", ""])
def test_an_id_never_issued_is_refused_when_watching_starts(events, stream, bad) -> None:
    with pytest.raises(InvalidEventId):
        events.watch(stream, bad)


def test_a_redis_id_past_what_redis_can_hold_is_refused_before_it_reaches_the_reader(
        own_redis_client, stream) -> None:
    events = RedisEventStream(own_redis_client, prefix=REDIS_PREFIX, ttl_s=60)
    with pytest.raises(InvalidEventId):
        events.watch(stream, "99999999999999999999999")
    with pytest.raises(InvalidEventId):
        events.watch(stream, "1-18446744073709551616")
    assert events._fanout.following() == 0


@pytest.fixture
def fanned(own_redis_client) -> RedisEventStream:
    return RedisEventStream(own_redis_client, prefix=REDIS_PREFIX, ttl_s=60)


class CommandLog:
    """Every command Redis runs that names `marker`, read with MONITOR (a real server's view)."""

    def __init__(self, marker: str) -> None:
        self.marker, self.lines, self._client = marker, [], redis.Redis.from_url(REDIS_URL)
        self._monitor = self._client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._collect, daemon=True)
        self._thread.start()

    def _collect(self) -> None:
        try:
            for command in self._monitor.listen():
                if self.marker in command["command"]:
                    self.lines.append(command["command"].split()[0].upper())
        except (redis.ConnectionError, ValueError, AttributeError):
            return

    def count(self, name: str) -> int:
        return self.lines.count(name)

    def close(self) -> None:
        self._client.connection_pool.disconnect()


def test_idle_watchers_send_redis_nothing_and_a_job_is_read_once_per_process(
        fanned, stream) -> None:
    log = CommandLog(stream)
    try:
        watches = [fanned.watch(stream) for _ in range(50)]
        started = time.monotonic()
        while time.monotonic() - started < 1.0:  # 50 sockets checking their clients 10 times a second
            for watch in watches:
                assert watch.next(0.002) == []
        for i in range(5):
            fanned.append(stream, "delta", {"text": str(i)})
        for watch in watches:
            assert texts(drain_rest(watch, 5)) == ["0", "1", "2", "3", "4"]
        reads = log.count("XREAD")
        # a read per 2 s block, per wake, per event batch: not one per watcher per check
        assert 1 <= reads <= 12, log.lines
        assert fanned._fanout.following() == 1
        for watch in watches:
            watch.close()
        assert fanned._fanout.following() == 0
    finally:
        log.close()


def drain_rest(watch, n: int) -> list:
    got: list = []
    deadline = time.monotonic() + 10
    while len(got) < n and time.monotonic() < deadline:
        got += watch.next(0.2)
    return got


def test_the_reader_stops_when_nothing_is_followed_and_starts_again(fanned, stream) -> None:
    with fanned.watch(stream) as watch:
        fanned.append(stream, "delta", {"text": "a"})
        assert texts(drain_rest(watch, 1)) == ["a"]
    wait_for(lambda: fanned._fanout._thread is None, timeout_s=5, what="the reader to stop")
    with fanned.watch(stream, "0") as again:
        fanned.append(stream, "delta", {"text": "b"})
        assert texts(drain_rest(again, 2)) == ["a", "b"]


def test_a_redis_that_goes_away_reaches_every_watcher_as_an_error() -> None:
    server = OwnRedis().start()
    client = redis.Redis.from_url(server.url, socket_timeout=5, socket_connect_timeout=1)
    try:
        events = RedisEventStream(client, prefix="t:", ttl_s=60)
        watches = [events.watch("a"), events.watch("a"), events.watch("b")]
        events.append("a", "delta", {"text": "1"})
        assert texts(drain_rest(watches[0], 1)) == ["1"]
        server.kill()
        for watch in watches:
            with pytest.raises(redis.ConnectionError):
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    watch.next(0.2)
            watch.close()
        assert events._fanout.following() == 0
    finally:
        client.connection_pool.disconnect()
        server.kill()


def test_the_callers_event_wakes_a_waiting_watch_and_new_events_set_it(events, stream) -> None:
    wake = threading.Event()
    with events.watch(stream, wake=wake) as watch:
        threading.Timer(0.1, wake.set).start()  # the other thing the caller waits for
        started = time.monotonic()
        assert watch.next(30) == []
        assert time.monotonic() - started < 10  # woken, not timed out
        events.append(stream, "delta", {"text": "x"})
        wait_for(wake.is_set, timeout_s=10, what="the watch to set the caller's event")
        assert texts(watch.next(0)) == ["x"]
