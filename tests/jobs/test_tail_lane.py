"""First tokens first (`app.jobs.runs.tail_lane`): a web stream's later work takes turns, one step
at a time per process, and never waits longer than HUB_STREAM_TAIL_WAIT_MS for its turn."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from app.jobs.runs.tail_lane import TailLane, current_tail_lane
from app.jobs.runs.web import adopt
from app.models.jobs import Job
from tests.jobs.conftest import assert_settled_once, job_settings, token_of

BODY = {"model": "gpt-4o-mini", "stream": True, "max_tokens": 50,
        "messages": [{"role": "user", "content": "Say hello"}]}


def _hold(lane: TailLane) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """A thread that takes the lane's turn and keeps it until released: (taken, release)."""
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lane.turn() as had:
            assert had
            taken.set()
            release.wait(30)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert taken.wait(10)
    return taken, release, thread


def _enter(lane: TailLane) -> tuple[threading.Event, dict, threading.Thread]:
    inside, result = threading.Event(), {}

    def enter() -> None:
        with lane.turn() as had:
            result["had"] = had
            inside.set()

    thread = threading.Thread(target=enter, daemon=True)
    thread.start()
    return inside, result, thread


def _wait_until(condition, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_a_step_waits_for_the_step_ahead_of_it() -> None:
    lane = TailLane(wait_s=30)
    _taken, release, holder = _hold(lane)
    inside, result, waiter = _enter(lane)
    _wait_until(lambda: lane.waiting == 1)  # the turn is taken: it waits (up to 30 s)
    assert not inside.is_set()
    release.set()
    assert inside.wait(10)  # and goes the moment the step ahead is done
    waiter.join(10)
    holder.join(10)
    assert result["had"] is True


def test_a_turn_that_does_not_come_in_time_is_not_waited_for() -> None:
    lane = TailLane(wait_s=0.05)
    _taken, release, holder = _hold(lane)  # never released until the end
    inside, result, waiter = _enter(lane)
    assert inside.wait(10)  # went ahead anyway, without the turn
    waiter.join(10)
    assert result["had"] is False
    release.set()
    holder.join(10)


def test_with_no_wait_there_are_no_turns() -> None:
    lane = TailLane(wait_s=0)
    inside_first, _, first = _enter(lane)
    assert inside_first.wait(10)
    inside, result, second = _enter(lane)
    assert inside.wait(10)
    first.join(10)
    second.join(10)
    assert result["had"] is False


@pytest.mark.parametrize(("streamed", "delivered", "takes_turn"), [
    (True, 0, False),   # the work up to a caller's first token never waits
    (True, 12, True),   # a web stream's later batches and its settle take turns
    (False, 12, False),  # a caller waiting for the whole reply (or a worker's run): no turns
])
def test_which_steps_take_a_turn(app, streamed: bool, delivered: int, takes_turn: bool) -> None:
    with app.app_context():
        lane = current_tail_lane()
        run = adopt(Job(executor="web", worker_token="t"), takes_turns=streamed)
        run.delivered_chars = delivered
        with run.delivery.turn(run):
            assert lane._turn.locked() is takes_turn
        assert not lane._turn.locked()


@pytest.fixture
def settings(migrated_database, fake_upstream_server):
    return job_settings(HUB_COMPAT_EXECUTOR="web", HUB_STREAM_TAIL_WAIT_MS=10000)


def test_a_web_stream_waits_for_its_turn_after_its_first_token(app, hub, upstream, funded_user,
                                                               user_headers) -> None:
    """While another stream's step holds the turn, a new stream still gets its first token;
    its later work waits for the turn (here: until the test gives it back), then the stream
    ends whole, settled once."""
    with app.app_context():
        lane = current_tail_lane()
    _taken, release, holder = _hold(lane)
    headers = {"Authorization": f"Bearer {token_of(user_headers)}"}
    text, done = [], False
    with httpx.stream("POST", f"{hub}/v1/chat/completions", json=BODY, headers=headers,
                      timeout=30) as response:
        assert response.status_code == 200
        job_id = response.headers["x-hub-job-id"]
        for line in response.iter_lines():
            if line == "data: [DONE]":
                done = True
                break
            if not line.startswith("data: {"):
                continue
            choices = json.loads(line[6:]).get("choices") or [{}]
            content = choices[0].get("delta", {}).get("content")
            if content:
                text.append(content)
                if not release.is_set():  # the first token came while the turn was taken
                    _wait_until(lambda: lane.waiting == 1)  # its next step waits for it
                    with app.app_context():
                        assert Job.get_by_id(job_id).status == "running"
                    release.set()
    holder.join(10)
    assert done and "".join(text) == upstream.reply_text()
    with app.app_context():
        job = Job.get_by_id(job_id)
        assert job.status == "succeeded"
        assert_settled_once(app, job, funded_user)


def test_a_caller_waiting_for_the_whole_reply_takes_no_turns(app, hub, upstream, funded_user,
                                                              user_headers) -> None:
    """A non-streamed reply is all first token: with the turn taken all along, it never waits."""
    with app.app_context():
        lane = current_tail_lane()
    _taken, release, holder = _hold(lane)
    seen_waiting, answered = [], threading.Event()

    def watch() -> None:
        while not answered.is_set():
            seen_waiting.append(lane.waiting)
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    response = httpx.post(f"{hub}/v1/chat/completions", json={**BODY, "stream": False},
                          headers={"Authorization": f"Bearer {token_of(user_headers)}"},
                          timeout=30)
    answered.set()
    watcher.join(10)
    release.set()
    holder.join(10)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == upstream.reply_text()
    assert max(seen_waiting) == 0
