"""Daemon threads kept for reuse by the provider-stream pumps."""

from __future__ import annotations

import contextvars
import threading

from app.jobs.streaming.threads import ReusedThreads

MARK: contextvars.ContextVar[str] = contextvars.ContextVar("mark", default="unset")


def run_and_wait(threads: ReusedThreads, call) -> None:
    done = threading.Event()

    def wrapped() -> None:
        try:
            call()
        finally:
            done.set()

    threads.run(wrapped)
    assert done.wait(5)


def wait_idle(threads: ReusedThreads, count: int) -> None:
    # the thread counts itself idle just after its call returns
    for _ in range(500):
        if threads.idle == count:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"idle threads: {threads.idle}, expected {count}")


def test_an_idle_thread_takes_the_next_call() -> None:
    threads = ReusedThreads("test-reuse")
    seen: list[threading.Thread] = []
    for _ in range(3):
        run_and_wait(threads, lambda: seen.append(threading.current_thread()))
        wait_idle(threads, 1)
    assert len(set(seen)) == 1
    assert seen[0].daemon and seen[0].name == "test-reuse"


def test_busy_threads_do_not_queue_a_call() -> None:
    """A call never waits behind another: with every thread busy, a new one starts."""
    threads = ReusedThreads("test-busy")
    release = threading.Event()
    started = [threading.Event() for _ in range(3)]
    names: list[int] = []

    def blocking(index: int):
        def call() -> None:
            names.append(threading.get_ident())
            started[index].set()
            release.wait(5)
        return call

    for index in range(3):
        threads.run(blocking(index))
    assert all(event.wait(5) for event in started)
    assert len(set(names)) == 3
    release.set()
    wait_idle(threads, 3)


def test_each_call_starts_from_a_clean_context() -> None:
    threads = ReusedThreads("test-context")
    seen: list[str] = []
    run_and_wait(threads, lambda: MARK.set("first call"))
    wait_idle(threads, 1)
    run_and_wait(threads, lambda: seen.append(MARK.get()))
    assert seen == ["unset"]


def test_an_idle_thread_exits_after_a_while() -> None:
    threads = ReusedThreads("test-exit", idle_exit_s=0.05)
    workers: list[threading.Thread] = []
    run_and_wait(threads, lambda: workers.append(threading.current_thread()))
    workers[0].join(5)
    assert not workers[0].is_alive() and threads.idle == 0
    run_and_wait(threads, lambda: workers.append(threading.current_thread()))  # a new one
    assert workers[1] is not workers[0]
