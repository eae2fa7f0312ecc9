"""Scripted sequences through the state machine: one for each path of the job lifecycle and of
a hold, so every path is walked on every run, whatever the random budget happens to draw.

Each step is a step of `tests.money.machine.LedgerAndJobs` (the same calls, the same model),
and every invariant is checked after it. The assertions here only say which path was taken;
what each step must do is the machine's business.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.money.machine import HOLDS_LAPSE_S, LEASE_LAPSE_S, MONTH_END, LedgerAndJobs


class Steps:
    """The machine's steps, each followed by every invariant."""

    def __init__(self, machine: LedgerAndJobs) -> None:
        self.machine = machine
        self.model = machine.model

    def __getattr__(self, name: str) -> Callable[..., Any]:
        action = getattr(self.machine, name)

        def step(*args: Any, **kwargs: Any) -> Any:
            result = action(*args, **kwargs)
            self.machine.check_all_invariants()
            return result

        return step


def a_worker_lost_before_any_output_is_requeued_and_the_next_run_settles(s: Steps) -> None:
    s.credit(0, 60)
    job = s.open(0, "capped", 1_500, "queue")
    first = s.claim(job)
    s.time_passes(LEASE_LAPSE_S, "reap, sweep")
    assert (job.status, job.token) == ("queued", None)
    s.heartbeat(first)  # the first run comes back: the job is no longer its
    assert first.run.lost
    second = s.claim(job)
    s.deliver(second, "hello there ")
    s.end_run(second, "over")  # the provider reported more than the hold covered
    assert (job.status, job.attempts) == ("succeeded", 2) and job.charged > job.hold_credits
    s.settle_job_again(job)
    assert s.claim(job) is None  # a late duplicate message


def a_worker_lost_after_output_fails_the_job_charging_what_was_delivered(s: Steps) -> None:
    s.credit(1, 60)
    job = s.open(1, None, 4_096, "queue")
    run = s.claim(job)
    s.deliver(run, "Hi")
    s.deliver(run, "x" * 40)
    s.heartbeat(run)
    s.time_passes(LEASE_LAPSE_S, "sweep, reap")
    assert job.status == "failed" and 0 < job.charged <= job.hold_credits
    s.end_run(run, "equal")  # the run that comes back too late moves nothing


def a_duplicate_message_takes_over_an_expired_lease(s: Steps) -> None:
    s.credit(0, 60)
    job = s.open(0, "uncapped", 100, "queue")
    first = s.claim(job)
    s.time_passes(LEASE_LAPSE_S, "nothing")  # its lease lapsed; the reaper has not run yet
    second = s.claim(job)
    assert (job.token, job.attempts) == (second.token, 2)
    s.deliver(first, "Hi")  # refused: the job is the second run's now
    assert first.run.lost
    s.deliver(second, "hello there ")
    s.end_run(second, "under")
    assert job.status == "succeeded"


def cancels_while_queued_and_while_running(s: Steps) -> None:
    s.credit(0, 60)
    queued = s.open(0, "capped", 100, "queue")
    s.cancel_job(queued)
    assert (queued.status, queued.charged) == ("canceled", 0)
    s.cancel_job(queued)  # already finished: 409
    s.cancel_job(queued, by_owner=False)  # another user's job: 404
    running = s.open(0, None, 1_500, "queue")
    run = s.claim(running)
    s.deliver(run, "hello there ")
    s.cancel_job(running)
    assert running.status == "running" and running.cancel_requested
    s.end_run(run, "over")  # the run sees the cancel at its next chunk
    assert running.status == "canceled" and running.charged > 0


def web_jobs_end_once_and_a_lost_one_is_never_retried(s: Steps) -> None:
    s.credit(1, 60)
    lost = s.open(1, "capped", 1_500, "web")
    s.deliver(lost.runs[0], "hello there ")
    s.time_passes(LEASE_LAPSE_S, "reap, sweep")
    assert lost.status == "failed" and lost.charged > 0
    s.end_run(lost.runs[0], "equal")
    done = s.open(1, None, 100, "web")
    s.heartbeat(done.runs[0])
    s.end_run(done.runs[0], "equal")
    assert done.charged == done.hold_credits


def a_job_fails_for_nothing_once_its_attempts_are_spent(s: Steps) -> None:
    s.credit(0, 10)
    job = s.open(0, None, 100, "queue")
    for _ in range(3):
        s.claim(job)
        s.time_passes(LEASE_LAPSE_S, "reap, sweep")
    assert (job.status, job.attempts, job.charged) == ("failed", 3, 0)


def a_capped_key_stops_at_its_monthly_then_its_total_cap(s: Steps) -> None:
    s.credit(0, 100)
    for _ in range(3):  # 10 credits a month, of the month's 14 and the total's 30
        job = s.open(0, "capped", 4_096, "web")
        s.end_run(job.runs[0], "equal")
        assert s.open(0, "capped", 4_096, "web") is None  # over the month's (or the total) cap
        s.time_passes(MONTH_END, "nothing")
    assert s.open(0, "capped", 100, "web") is None  # the total cap
    s.adjust(0, -s.model.accounts[0].available)
    assert s.open(0, "capped", 100, "web") is None  # for the key's cap, as for the credits
    assert s.open(0, None, 100, "web") is None  # for the credits


def holds_settle_release_expire_and_replay(s: Steps) -> None:
    s.credit(0, 30)
    short = s.place_hold(0, 10, 250)
    long = s.place_hold(0, 10, 10_000_050)
    s.debit(0, 10)  # all that is available
    assert s.debit(0, 1) is None
    s.use_hold(long, "settle over", 15)  # 10 from the hold, 10 more available, 15 short
    assert long.first_settle.shortfall_credits == 15
    s.use_hold(long, "settle equal", 1)  # once per hold: the first settlement
    s.use_hold(long, "release", 1)  # settled: 409
    s.time_passes(HOLDS_LAPSE_S, "sweep, reap")
    assert short.status == "released"
    s.use_hold(short, "release", 1)
    s.use_hold(short, "settle under", 1)  # an expired hold still settles, from what is available
    s.use_hold(short, "place again", 1)
    partial = s.debit_partial(0, 50)
    for how in ("same", "another amount", "another user"):
        s.replay_movement(partial, how, 2)
    up = s.adjust(1, 25)
    s.replay_movement(up, "same", 1)
    s.redeem_promo_code(0, s.model.promos[0])
    s.redeem_promo_code(0, s.model.promos[0])  # already redeemed
    s.redeem_promo_code(1, s.model.promos[0])  # exhausted


def a_job_waiting_in_the_queue_keeps_its_hold(s: Steps) -> None:
    """The queue is backed up for a day; the sweep runs meanwhile (defect
    `hold-expires-under-active-job`, fixed in issue 17)."""
    s.credit(0, 20)
    job = s.open(0, "uncapped", 4_096, "queue")
    s.time_passes(HOLDS_LAPSE_S, "sweep, reap")
    if s.model.accounts[0].available:
        s.debit(0, s.model.accounts[0].available)
    run = s.claim(job)
    s.end_run(run, "equal")
    assert job.status == "succeeded"


def a_month_ending_between_a_jobs_open_and_its_settle_keeps_the_monthly_cap(s: Steps) -> None:
    """Defect `monthly-cap-at-month-boundary`, fixed in issue 17."""
    s.credit(0, 60)
    last_month = s.open(0, "capped", 4_096, "queue")  # 10 of the month's 14
    s.time_passes(MONTH_END, "nothing")
    s.open(0, "capped", 4_096, "queue")  # 10 of this month's 14
    s.cancel_job(last_month)  # gives its 10 back: to last month, not to this one
    s.open(0, "capped", 4_096, "queue")  # would be 20 of this month's 14


ALL = (
    a_worker_lost_before_any_output_is_requeued_and_the_next_run_settles,
    a_worker_lost_after_output_fails_the_job_charging_what_was_delivered,
    a_duplicate_message_takes_over_an_expired_lease,
    cancels_while_queued_and_while_running,
    web_jobs_end_once_and_a_lost_one_is_never_retried,
    a_job_fails_for_nothing_once_its_attempts_are_spent,
    a_capped_key_stops_at_its_monthly_then_its_total_cap,
    holds_settle_release_expire_and_replay,
    a_job_waiting_in_the_queue_keeps_its_hold,
    a_month_ending_between_a_jobs_open_and_its_settle_keeps_the_monthly_cap,
)
