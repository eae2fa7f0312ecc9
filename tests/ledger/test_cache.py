"""The balance cache never serves a balance older than the last write that returned."""

from __future__ import annotations

import threading

from app.extensions import db
from app.services import ledger
from app.services.ledger.accounts import load_balance
from app.services.ledger.cache import (
    NoBalanceCache,
    RedisBalanceCache,
    build_balance_cache,
    current_balance_cache,
)
from tests.factories import create_user


def test_redis_is_the_cache_when_configured(ctx) -> None:
    assert isinstance(current_balance_cache(), RedisBalanceCache)
    assert isinstance(build_balance_cache(None, prefix="x:"), NoBalanceCache)


def test_a_read_after_each_write_shows_that_write(funded) -> None:
    user = funded(1_000)
    for i in range(30):
        before = ledger.get_balance(user.id)  # fills the cache
        ledger.debit(user.id, 7, kind="usage", idempotency_key=f"job:{i}")
        assert ledger.get_balance(user.id).balance == before.balance - 7
    hold = ledger.place_hold(user.id, 100, idempotency_key="h", purpose="chat")
    assert ledger.get_balance(user.id).held == 100
    ledger.release_hold(hold.hold_id)
    assert ledger.get_balance(user.id).held == 0


def test_a_reader_that_raced_a_write_cannot_leave_a_stale_value_behind(funded) -> None:
    """The race a plain delete-on-write cache loses: read old row, write + invalidate, then
    cache the old row."""
    user = funded(500)
    cache = current_balance_cache()
    observed = cache.version(user.id)  # the slow reader: version first…
    stale = load_balance(user.id)  # …then the row, before the write commits

    ledger.debit(user.id, 200, kind="usage", idempotency_key="job")  # write + bump
    cache.store(user.id, observed, stale)  # the slow reader caches what it read

    assert stale.balance == 500
    assert ledger.get_balance(user.id).balance == 300


def test_cache_hits_serve_the_cached_value(funded, redis_client) -> None:
    user = funded(500)
    ledger.get_balance(user.id)
    cache = current_balance_cache()
    key = f"{cache.prefix}{user.id}:val"
    version = cache.version(user.id)
    redis_client.set(key, f"{version}:123:4")  # what only a cache hit can return

    assert ledger.get_balance(user.id) == ledger.Balance(balance=123, held=4, available=119)


def test_readers_racing_writers_never_see_an_older_balance_after_a_write(threaded_app) -> None:
    user = create_user()
    ledger.credit(user.id, 10_000, kind="purchase", idempotency_key="buy")
    stop = threading.Event()
    stale_reads: list[tuple[int, int]] = []

    def reader() -> None:
        with threaded_app.app_context(), db.connection_context():
            while not stop.is_set():
                ledger.get_balance(user.id)

    def writer() -> None:
        with threaded_app.app_context(), db.connection_context():
            for i in range(150):
                moved = ledger.debit(user.id, 1, kind="usage", idempotency_key=f"w{i}")
                seen = ledger.get_balance(user.id).balance
                if seen != moved.balance:
                    stale_reads.append((moved.balance, seen))

    readers = [threading.Thread(target=reader) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        writer()
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert stale_reads == []
    assert ledger.get_balance(user.id).balance == 10_000 - 150


def test_an_unreachable_redis_falls_back_to_the_database(funded) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    user = funded(500)
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5,
                         retry=Retry(NoBackoff(), 0))
    dead = RedisBalanceCache(client, prefix="x:")
    assert dead.get(user.id, lambda: load_balance(user.id)).balance == 500
    dead.invalidate(user.id)  # logged, not raised: the write it follows is committed
    dead.store(user.id, "0", load_balance(user.id))
