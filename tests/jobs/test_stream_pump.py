"""The provider-stream pump: the first delta goes out at once, a burst is coalesced."""

from __future__ import annotations

import threading

import pytest

from app.jobs.streaming.coalescer import pump


def gated_source(gates: list[threading.Event], fail: bool = False):
    """Yields "a", then one item per opened gate; optionally raises at the end."""
    def source():
        yield "a"
        for index, gate in enumerate(gates):
            assert gate.wait(10), "the test never opened the gate"
            yield f"item{index}"
        if fail:
            raise RuntimeError("upstream broke")
    return source


def test_first_item_is_handed_over_alone_and_a_burst_becomes_one_batch() -> None:
    gates = [threading.Event(), threading.Event(), threading.Event()]
    batches = pump(gated_source(gates), stop=threading.Event(), coalesce_s=30.0)
    assert next(batches) == ["a"]  # not held back, though more is coming
    for gate in gates:
        gate.set()
    # inside the window everything up to the end of the stream is one batch
    assert list(batches) == [["item0", "item1", "item2"]]


def test_without_a_window_items_are_handed_over_as_they_arrive() -> None:
    gates = [threading.Event(), threading.Event()]
    batches = pump(gated_source(gates), stop=threading.Event(), coalesce_s=0.0)
    assert next(batches) == ["a"]
    gates[0].set()
    assert next(batches) == ["item0"]
    gates[1].set()
    assert list(batches) == [["item1"]]


def test_an_error_closes_the_batch_and_is_raised_after_the_items_before_it() -> None:
    gate = threading.Event()
    stop = threading.Event()
    batches = pump(gated_source([gate], fail=True), stop=stop, coalesce_s=30.0)
    assert next(batches) == ["a"]
    gate.set()
    assert next(batches) == ["item0"]
    with pytest.raises(RuntimeError, match="upstream broke"):
        next(batches)
    assert stop.is_set()
