"""One contract, two twins: the Redis and the in-process circuit breakers behave the same."""

from __future__ import annotations

import uuid

import pytest

from app.providers.breaker import BreakerPolicy, MemoryBreakerStore, RedisBreakerStore
from tests.conftest import REDIS_PREFIX

POLICY = BreakerPolicy(failure_threshold=3, cooldown_s=30, probe_lease_s=60)


@pytest.fixture(params=["memory", "redis"])
def store(request, redis_client):
    if request.param == "memory":
        return MemoryBreakerStore(POLICY)
    return RedisBreakerStore(POLICY, redis_client, prefix=f"{REDIS_PREFIX}{uuid.uuid4().hex}:")


def test_a_new_channel_is_closed(store) -> None:
    assert store.allow("a", 0.0)
    assert store.state("a") == ("closed", 0)


def test_it_opens_after_n_consecutive_failures(store) -> None:
    assert store.record_failure("a", 100.0) == "closed"
    assert store.record_failure("a", 101.0) == "closed"
    assert store.allow("a", 101.5)
    assert store.record_failure("a", 102.0) == "open"
    assert store.state("a") == ("open", 3)
    assert not store.allow("a", 102.0)
    assert not store.allow("a", 131.9)  # the cool-down runs from the opening failure
    assert store.allow("b", 102.0)  # channels are independent


def test_a_success_resets_the_count(store) -> None:
    store.record_failure("a", 1.0)
    store.record_failure("a", 2.0)
    store.record_success("a")
    assert store.record_failure("a", 3.0) == "closed"
    assert store.state("a") == ("closed", 1)


def _open(store, at: float) -> None:
    for _ in range(POLICY.failure_threshold):
        store.record_failure("a", at)


def test_after_the_cool_down_exactly_one_probe_goes_through(store) -> None:
    _open(store, 100.0)
    assert store.allow("a", 130.0)  # the probe
    assert store.state("a")[0] == "half_open"
    assert not store.allow("a", 130.0)
    assert not store.allow("a", 150.0)


def test_a_successful_probe_closes_the_breaker(store) -> None:
    _open(store, 100.0)
    assert store.allow("a", 130.0)
    store.record_success("a")
    assert store.state("a") == ("closed", 0)
    assert store.allow("a", 130.0) and store.allow("a", 130.0)


def test_a_failed_probe_opens_it_for_another_cool_down(store) -> None:
    _open(store, 100.0)
    assert store.allow("a", 130.0)
    assert store.record_failure("a", 131.0) == "open"
    assert not store.allow("a", 160.0)
    assert store.allow("a", 161.0)


def test_a_lost_probe_is_replaced_after_its_lease(store) -> None:
    _open(store, 100.0)
    assert store.allow("a", 130.0)
    assert not store.allow("a", 189.0)
    assert store.allow("a", 190.0)


def test_the_redis_breaker_is_shared_by_every_worker(redis_client) -> None:
    prefix = f"{REDIS_PREFIX}{uuid.uuid4().hex}:"
    worker_1 = RedisBreakerStore(POLICY, redis_client, prefix=prefix)
    worker_2 = RedisBreakerStore(POLICY, redis_client, prefix=prefix)
    for _ in range(POLICY.failure_threshold):
        worker_1.record_failure("a", 100.0)
    assert not worker_2.allow("a", 110.0)
    assert worker_2.allow("a", 130.0)  # worker 2 becomes the probe…
    assert not worker_1.allow("a", 130.0)  # …and worker 1 must wait for its verdict
    worker_2.record_success("a")
    assert worker_1.allow("a", 131.0)


def test_a_clean_channel_is_asked_about_again_after_a_second(redis_client) -> None:
    prefix = f"{REDIS_PREFIX}{uuid.uuid4().hex}:"
    web_1 = RedisBreakerStore(POLICY, redis_client, prefix=prefix)
    web_2 = RedisBreakerStore(POLICY, redis_client, prefix=prefix)
    assert web_1.allow("a", 100.0)  # clean: remembered for CLEAN_FOR_S
    _open(web_2, 100.1)
    assert web_1.allow("a", 100.5)  # another process's opening is not seen yet…
    web_1.record_success("a")  # …and a success then has nothing to reset
    assert web_2.state("a") == ("open", 3)
    assert not web_1.allow("a", 100.0 + RedisBreakerStore.CLEAN_FOR_S)  # …but within a second
    web_1.record_failure("a", 131.0)
    assert web_1.state("a")[1] == 4


def test_states_reads_every_channel_at_once_without_claiming_a_probe(store) -> None:
    _open(store, 100.0)  # channel a
    for _ in range(POLICY.failure_threshold):
        store.record_failure("b", 100.0)
    assert store.allow("b", 130.0)  # b's probe is out
    store.record_failure("c", 100.0)  # one failure: still closed
    assert store.states(["a", "b", "c", "d"]) == {"a": "open", "b": "half_open", "c": "closed",
                                                   "d": "closed"}
    assert store.allow("a", 130.0)  # reading a's state did not take its probe
