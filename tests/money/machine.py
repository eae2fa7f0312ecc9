"""The state machine of the model-based tests: every way credits move, and the job lifecycle.

Rules drive the real services (the ledger, promo codes, admin adjustments, the job core:
`app.jobs` (api, runs, reaper), `app.jobs.store`, `api_keys`) and the in-memory model
(`tests.money.model`) side by side; invariants compare the database with the model and run the
ledger checker after every step. Each rule's work is a method of its own, so scripted
sequences (`tests.money.scenarios`) drive the same steps.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)
from peewee import fn

from app.chat.events import Usage
from app.extensions import db
from app.jobs import api as jobs
from app.jobs import store
from app.jobs.reaper import reap_stale_jobs
from app.jobs.runs import chat, ending, web, worker
from app.models.api_keys import ApiKey
from app.models.audit import AuditLogEntry
from app.models.base import utcnow
from app.models.jobs import ACTIVE_STATUSES, Job, UsageRecord
from app.models.ledger import CreditAccount, CreditHold, LedgerEntry
from app.models.promo import PromoCode
from app.services import api_keys, ledger, promo
from app.services.ledger.adjustments import ACTION as ADJUST_ACTION
from app.services.ledger.checker import check_ledger, report_lines
from app.services.runtime import current_settings
from tests.factories import create_user
from tests.money.model import (
    ApiKeyModel,
    HoldModel,
    JobModel,
    Keyed,
    Model,
    PromoModel,
    RunModel,
)

# A job's hold lives HUB_CHAT_TIME_LIMIT_S + 2 × HUB_JOB_LEASE_S + 300 s: 950 s here.
MODEL_SETTINGS: dict[str, Any] = {"HUB_JOB_LEASE_S": 30, "HUB_CHAT_TIME_LIMIT_S": 590,
                                  "HUB_JOB_MAX_ATTEMPTS": 3, "HUB_COMPAT_MIRROR_MS": 0}
# Time moves in these steps (every deadline in the database aged by as much). Each is a multiple
# of 100 s while every hold's lifetime is 50 more than one (950, 250, 10,000,050), so no
# deadline is ever within 50 s of "now": the model and the database agree on what expired
# however long an example really takes. A lease (30 s) lapses at the first step.
LEASE_LAPSE_S = 100
HOLDS_LAPSE_S = 100_000
MONTH_END = "a month ends"  # no deadline moves: the boundary may fall between any two steps
DIRECT_HOLD_TTLS_S = (250, 10_000_050)

USERS = st.sampled_from((0, 1))
AMOUNTS = st.integers(1, 40)
PROMPT = [{"role": "user", "content": "hello"}]
MAX_TOKENS = (100, 1_500, 4_096)  # holds of 2, 4 and 10 credits on local-echo
TEXTS = ("Hi", "hello there ", "x" * 40)
MOVES = ("purchase", "debit", "partial debit", "adjust up", "adjust down", "promo once",
         "promo twice")
HEARTBEAT = "heartbeat"
ENDINGS = ("under", "equal", "over", "failed", "canceled")
HOLD_ACTIONS = ("place again", "release", "settle nothing", "settle under", "settle equal",
                "settle over")
CAP_TOTAL, CAP_MONTHLY = 30, 14
PROMOS = (("MODEL-ONCE", 7, 1), ("MODEL-TWICE", 13, 2))  # "promo once", "promo twice"
REAPER = "reaper"  # the model's owner of a job the reaper took over to fail it

def move_a_month_back() -> None:
    """A calendar month ends, as the database sees it: every job's open (whose month its key's
    reservation counts in) and every key's month counter move one calendar month back."""
    for job_id, created_at in Job.select(Job.id, Job.created_at).tuples():
        Job.update(created_at=created_at - timedelta(days=created_at.day)) \
            .where(Job.id == job_id).execute()
    for key_id, month in ApiKey.select(ApiKey.id, ApiKey.spent_month).tuples():
        if month:
            year, number = (int(part) for part in month.split("-"))
            year, number = (year, number - 1) if number > 1 else (year - 1, 12)
            ApiKey.update(spent_month=f"{year:04d}-{number:02d}") \
                .where(ApiKey.id == key_id).execute()


def fresh_key(kind: str) -> str:
    return f"model:{kind}:{uuid.uuid4().hex}"


class LedgerAndJobs(RuleBasedStateMachine):
    """Two users, each with a capped and an uncapped API key; two promo codes; one admin."""

    movements = Bundle("movements")
    holds = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.model = Model(users=2, lease_s=current_settings().HUB_JOB_LEASE_S)
        self.users = [create_user() for _ in range(2)]
        self.admin = create_user(role="admin")
        for index, user in enumerate(self.users):
            capped = api_keys.create_key(user, "capped", cap_total_credits=CAP_TOTAL,
                                         cap_monthly_credits=CAP_MONTHLY).key
            free = api_keys.create_key(user, "uncapped").key
            self.model.keys += [ApiKeyModel(capped.id, index, CAP_TOTAL, CAP_MONTHLY),
                                ApiKeyModel(free.id, index, None, None)]
        for code, amount, limit in PROMOS:
            promo.create_promo_code(code, amount, max_redemptions=limit, created_by=None,
                                   actor_label="cli:model")
            self.model.promos.append(PromoModel(code, amount, limit))

    @initialize(target=movements, funds=st.tuples(st.integers(0, 60), st.integers(0, 60)))
    def fund(self, funds: tuple[int, int]):
        """Each user starts with a purchase (or nothing)."""
        return multiple(*(self.credit(user, amount) for user, amount in enumerate(funds)
                          if amount))

    def teardown(self) -> None:
        reset_tables()

    # --- helpers -----------------------------------------------------------------------------
    def uid(self, user: int) -> int:
        return self.users[user].id

    def account(self, user: int):
        return self.model.accounts[user]

    def refused_for_credits(self, call: Callable[[], Any], user: int, amount: int) -> None:
        with pytest.raises(ledger.InsufficientCredits) as refused:
            call()
        assert refused.value.details == {"available": self.account(user).available,
                                         "required_credits": amount}

    def move(self, kind: str, user: int, amount: int, key: str) -> Any:
        uid = self.uid(user)
        if kind == "credit":
            return ledger.credit(uid, amount, kind="purchase", idempotency_key=key)
        if kind == "debit":
            return ledger.debit(uid, amount, kind="usage", idempotency_key=key)
        if kind == "partial":
            return ledger.debit(uid, amount, kind="reversal", idempotency_key=key,
                                allow_partial=True)
        return ledger.adjust_credits(uid, amount, reason="model test", idempotency_key=key,
                                     actor_id=self.admin.id, actor_label=self.admin.email)

    def expect_movement(self, moved: ledger.Movement, user: int, amount: int,
                        shortfall: int = 0) -> None:
        account = self.account(user)
        assert moved == ledger.Movement(
            entry_id=moved.entry_id, user_id=self.uid(user), amount_credits=amount,
            balance=account.balance, held=account.held, available=account.available,
            replayed=False, shortfall_credits=shortfall)

    def hold_model(self, user: int, amount: int, key: str, hold_id: int) -> HoldModel:
        """The model of a hold just placed; its lifetime as the database recorded it."""
        row = CreditHold.get_by_id(hold_id)
        ttl_s = (row.expires_at - row.created_at).total_seconds()
        return HoldModel(user=user, amount=amount, key=key, hold_id=hold_id,
                         expires_at_s=self.model.now_s + ttl_s)

    @staticmethod
    def observe(defect: str, ok: bool, message: str) -> None:
        """A check named for the defect it guards against (fixed in issue 17)."""
        if not ok:
            raise AssertionError(f"{defect}: {message}")

    # --- credits, debits, adjustments, promo codes --------------------------------------------
    @rule(target=movements, user=USERS, how=st.sampled_from(MOVES), amount=AMOUNTS)
    def move_credits(self, user: int, how: str, amount: int):
        """One movement of credits: a purchase, a debit (whole, or partial as a refund
        reversal takes it), an admin adjustment up or down, a promo code redeemed."""
        if how == "purchase":
            keyed = self.credit(user, amount)
        elif how == "debit":
            keyed = self.debit(user, amount)
        elif how == "partial debit":
            keyed = self.debit_partial(user, amount)
        elif how.startswith("adjust"):
            keyed = self.adjust(user, amount if how == "adjust up" else -amount)
        else:
            keyed = self.redeem_promo_code(user, self.model.promos[how == "promo twice"])
        return multiple() if keyed is None else keyed

    def credit(self, user: int, amount: int) -> Keyed:
        key = fresh_key("credit")
        moved = self.move("credit", user, amount, key)
        self.model.credit(user, amount)
        self.expect_movement(moved, user, amount)
        return Keyed("credit", user, amount, key, moved)

    def debit(self, user: int, amount: int) -> Keyed | None:
        key = fresh_key("debit")
        if not self.model.can_take(user, amount):
            self.refused_for_credits(lambda: self.move("debit", user, amount, key), user, amount)
            return None
        moved = self.move("debit", user, amount, key)
        self.model.debit(user, amount)
        self.expect_movement(moved, user, -amount)
        return Keyed("debit", user, amount, key, moved)

    def debit_partial(self, user: int, amount: int) -> Keyed:
        """Takes what is available and records the rest as the shortfall."""
        key = fresh_key("partial")
        moved = self.move("partial", user, amount, key)
        taken = self.model.debit_partial(user, amount)
        self.expect_movement(moved, user, -taken.taken, taken.shortfall)
        return Keyed("partial", user, amount, key, moved)

    def adjust(self, user: int, amount: int) -> Keyed | None:
        key = fresh_key("adjust")
        if amount < 0 and not self.model.can_take(user, -amount):
            self.refused_for_credits(lambda: self.move("adjust", user, amount, key), user,
                                     -amount)
            return None
        before = ledger.Balance.of(self.account(user).balance, self.account(user).held)
        done = self.move("adjust", user, amount, key)
        if amount > 0:
            self.model.credit(user, amount)
        else:
            self.model.debit(user, -amount)
        self.model.adjustments += 1
        self.expect_movement(done.movement, user, amount)
        assert (done.before, done.after) == (
            before, ledger.Balance.of(self.account(user).balance, self.account(user).held))
        return Keyed("adjust", user, amount, key, done)

    def redeem_promo_code(self, user: int, code: PromoModel) -> None:
        """Once per user, within the code's limit (a refusal moves nothing)."""

        def call():
            return promo.redeem_promo_code(self.uid(user), code.code.lower())

        if user in code.redeemed_by:
            with pytest.raises(promo.PromoCodeAlreadyRedeemed):
                call()
        elif len(code.redeemed_by) >= code.max_redemptions:
            with pytest.raises(promo.PromoCodeExhausted):
                call()
        else:
            redeemed = call()
            self.model.credit(user, code.amount)
            code.redeemed_by.add(user)
            assert redeemed.amount_credits == code.amount
            self.expect_movement(redeemed.movement, user, code.amount)

    @rule(keyed=movements, how=st.sampled_from(("same", "another amount", "another user")),
          more=st.integers(1, 5))
    def replay_movement(self, keyed: Keyed, how: str, more: int) -> None:
        """The same key again. For the same request: the first result, replayed; for another
        amount or user: 409. Either way nothing moves."""
        if how == "same":
            again = self.move(keyed.kind, keyed.user, keyed.amount, keyed.key)
            first = keyed.first
            if keyed.kind == "adjust":
                first = dataclasses.replace(
                    first, movement=dataclasses.replace(first.movement, replayed=True))
            else:
                first = dataclasses.replace(first, replayed=True)
            assert again == first
            return
        user, amount = keyed.user, keyed.amount
        if how == "another user":
            user = 1 - user
        else:
            amount += more if amount > 0 else -more
        with pytest.raises(ledger.IdempotencyKeyReused):
            self.move(keyed.kind, user, amount, keyed.key)

    # --- holds placed directly ---------------------------------------------------------------
    @rule(target=holds, user=USERS, amount=st.integers(1, 30),
          ttl_s=st.sampled_from(DIRECT_HOLD_TTLS_S))
    def place_hold(self, user: int, amount: int, ttl_s: int):
        key = fresh_key("hold")

        def call():
            return ledger.place_hold(self.uid(user), amount, idempotency_key=key,
                                     purpose="model", expires_in_s=ttl_s)

        if not self.model.can_take(user, amount):
            self.refused_for_credits(call, user, amount)
            return multiple()
        placed = call()
        hold = self.hold_model(user, amount, key, placed.hold_id)
        assert hold.expires_at_s == self.model.now_s + ttl_s
        self.model.place_hold(hold)
        assert placed == ledger.HoldResult(hold_id=hold.hold_id, user_id=self.uid(user),
                                           amount_credits=amount, status="active",
                                           replayed=False)
        return hold

    @rule(hold=holds, how=st.sampled_from(HOLD_ACTIONS), extra=st.integers(1, 30))
    def use_hold(self, hold: HoldModel, how: str, extra: int) -> None:
        """Place it again (a replay), release it, or settle it for nothing, less than, as
        much as or more than it holds."""
        if how == "place again":
            again = ledger.place_hold(self.uid(hold.user), hold.amount, idempotency_key=hold.key,
                                      purpose="model", expires_in_s=DIRECT_HOLD_TTLS_S[0])
            assert again == ledger.HoldResult(
                hold_id=hold.hold_id, user_id=self.uid(hold.user), amount_credits=hold.amount,
                status=hold.status, replayed=True)
        elif how == "release":
            self.release_hold(hold)
        else:
            self.settle_hold(hold, {"settle nothing": 0, "settle under": hold.amount // 2,
                                    "settle equal": hold.amount,
                                    "settle over": hold.amount + extra}[how])

    def settle_hold(self, hold: HoldModel, actual: int) -> None:
        moved = ledger.settle_hold(hold.hold_id, actual, memo="model")
        if hold.status == "settled":  # once per hold: the first settlement, replayed
            assert moved == dataclasses.replace(hold.first_settle, replayed=True)
            return
        settled = self.model.settle(hold, actual)
        self.expect_movement(moved, hold.user, -settled.taken, settled.shortfall)
        hold.first_settle = moved

    def release_hold(self, hold: HoldModel) -> None:
        if hold.status == "settled":
            with pytest.raises(ledger.HoldAlreadySettled):
                ledger.release_hold(hold.hold_id)
            return
        replayed = hold.status == "released"
        released = ledger.release_hold(hold.hold_id)
        if not replayed:
            self.model.release(hold)
        assert released == ledger.HoldResult(hold_id=hold.hold_id, user_id=self.uid(hold.user),
                                             amount_credits=hold.amount, status="released",
                                             replayed=replayed)

    # --- time ----------------------------------------------------------------------------------
    @rule(period=st.sampled_from((LEASE_LAPSE_S, HOLDS_LAPSE_S, MONTH_END)),
          then=st.sampled_from(("sweep, reap", "reap, sweep", "nothing")))
    def time_passes(self, period: int | str, then: str) -> None:
        """Time passes (every lease lapses, or every job's hold could), or a calendar month
        ends; then the scheduler's periodic jobs run, in either order, or not yet."""
        if period == MONTH_END:  # what happened this month now happened last month
            move_a_month_back()
            self.model.month += 1
        else:
            age_deadlines(period)
            self.model.now_s += period
        for periodic in then.split(", ") if then != "nothing" else ():
            if periodic == "sweep":
                self.release_expired_holds()
            else:
                self.reap()

    def release_expired_holds(self) -> None:
        due = self.model.expired_holds()
        released = ledger.release_expired_holds()
        statuses = hold_statuses()
        expected = 0
        for hold in due:
            # A direct hold expires. A job's hold should not while its job is active (see
            # `an_active_job_keeps_its_hold`); if it did, the model follows the database.
            if hold.job is None or statuses[hold.hold_id] == "released":
                self.model.release(hold)
                expected += 1
        assert released == expected

    def reap(self) -> None:
        """The reaper: requeue a job whose lease ran out with nothing delivered (within its
        attempts), fail one that delivered and charge what its event stream shows."""
        stale = {job.id: job for job in self.model.stale_jobs()}
        order = stale_job_ids()  # the reaper's order: it matters when two charge one account
        assert sorted(order) == sorted(stale)
        assert reap_stale_jobs() == len(stale)
        max_attempts = current_settings().HUB_JOB_MAX_ATTEMPTS
        for job_id in order:
            job = stale[job_id]
            if job.db_delivered == 0 and job.executor == "queue" \
                    and job.attempts < max_attempts:
                self.model.requeue(job)
                continue
            *_, cost = ending.chat_charge(job.row, job.stream, None, "failed")
            self.model.finish(job, "failed", cost)
            job.token = REAPER

    # --- jobs ----------------------------------------------------------------------------------
    def queue_jobs(self) -> list[JobModel]:
        return [job for job in self.model.jobs if job.executor == "queue"]

    def live_runs(self) -> list[RunModel]:
        return [run for job in self.model.jobs for run in job.runs if run.live]

    def finished_jobs(self) -> list[JobModel]:
        return [job for job in self.model.jobs if not job.active]

    def open_refusal(self, user: int, api_key: ApiKey | None, hold: int) -> tuple | None:
        """Why opening a job holding `hold` must be refused, in the order `job_open` checks:
        the key's caps (on its counters as they are), then the available credits."""
        if api_key is not None:
            if api_key.cap_total_credits is not None \
                    and api_key.spent_total_credits + hold > api_key.cap_total_credits:
                return api_keys.KeyCreditCapReached, "total"
            if api_key.cap_monthly_credits is not None \
                    and api_keys.month_spent(api_key) + hold > api_key.cap_monthly_credits:
                return api_keys.KeyCreditCapReached, "monthly"
        if not self.model.can_take(user, hold):
            return ledger.InsufficientCredits, None
        return None

    @rule(user=USERS, key=st.sampled_from(("capped", None, "uncapped")),
          max_tokens=st.sampled_from(MAX_TOKENS), executor=st.sampled_from(("queue", "web")))
    def open_job(self, user: int, key: str | None, max_tokens: int, executor: str) -> None:
        self.open(user, key, max_tokens, executor)

    def open(self, user: int, key: str | None, max_tokens: int,
             executor: str) -> JobModel | None:
        """A job request: `queue` (a worker will claim it), or `web` (a `/v1` request whose
        web thread runs it: opened claimed by that thread's run). None if refused."""
        spec = jobs.ChatSpec(model="local-echo", messages=PROMPT, max_tokens=max_tokens)
        hold = jobs.quote(spec).hold_credits
        key_model = None if key is None else \
            self.model.keys[2 * user + (0 if key == "capped" else 1)]
        api_key = ApiKey.get_by_id(key_model.id) if key_model is not None else None

        def call():
            return jobs.create_job(self.users[user], spec, api_key=api_key, executor=executor)

        refusal = self.open_refusal(user, api_key, hold)
        if refusal is not None:
            error, limit = refusal
            if error is ledger.InsufficientCredits:
                self.refused_for_credits(call, user, hold)
            else:
                with pytest.raises(error) as refused:
                    call()
                assert refused.value.details["limit"] == limit
            return None
        row = call()
        job = JobModel(id=row.id, user=user, row=row, executor=executor,
                       hold=self.hold_model(user, hold, f"job:{row.id}:hold", row.hold_id),
                       key=key_model, month=self.model.month)
        job.hold.job = job
        self.model.open_job(job)
        job.token = row.worker_token
        assert (row.status, row.hold_credits) == (job.status, hold)
        if executor == "web":
            job.runs.append(RunModel(job=job, run=web.adopt(row)))
        return job

    @precondition(lambda self: self.queue_jobs())
    @rule(data=st.data())
    def worker_claims(self, data: st.DataObject) -> None:
        self.claim(data.draw(st.sampled_from(self.queue_jobs()), label="job"))

    def claim(self, job: JobModel) -> RunModel | None:
        """A worker gets a job's message (the first, a resend, a duplicate, a late one)."""
        claimable = self.model.claimable(job)
        run = worker.claim(job.id)
        if not claimable:
            assert run is None
            return None
        assert run is not None
        self.model.claim(job, run.token)
        assert run.job.attempts == job.attempts
        job.runs.append(RunModel(job=job, run=run))
        return job.runs[-1]

    @precondition(lambda self: self.live_runs())
    @rule(data=st.data(), work=st.sampled_from((*TEXTS, HEARTBEAT)))
    def run_works(self, data: st.DataObject, work: str) -> None:
        """A run delivers output, or renews its lease."""
        run = data.draw(st.sampled_from(self.live_runs()), label="run")
        if work == HEARTBEAT:
            self.heartbeat(run)
        else:
            self.deliver(run, work)

    def deliver(self, run: RunModel, text: str) -> None:
        """A worker's run records its first delivery before showing it; a web run does not."""
        job, first = run.job, run.delivered == 0
        recorded_first = first and job.executor == "queue"
        event = run.run.deliver(text)
        run.run.confirm_mirror()
        if recorded_first and job.token != run.token:  # the job is no longer this run's
            assert event is None and run.run.lost
            return
        assert event is not None and event.type == "delta"
        run.delivered += len(text)
        job.stream += text
        if recorded_first:
            job.db_delivered = len(text)

    def heartbeat(self, run: RunModel) -> None:
        run.run.heartbeat(force=True)
        job = run.job
        owned = job.token == run.token
        assert run.run.lost == (not owned)
        if owned:
            job.lease_until_s = self.model.now_s + self.model.lease_s
            job.db_delivered = run.delivered

    def ending(self, job: JobModel, name: str) -> tuple[str, Usage | None, dict | None]:
        if job.cancel_requested:  # the run sees the cancel flag between two chunks
            return "canceled", None, None
        estimate, max_tokens = job.row.prompt_tokens_estimate, \
            json.loads(job.row.request_json)["max_tokens"]
        if name == "under":
            return "succeeded", Usage(estimate, max_tokens // 4, "stop"), None
        if name == "equal":
            return "succeeded", Usage(estimate, max_tokens, "length"), None
        if name == "over":  # the provider reported more than the hold covered
            return "succeeded", Usage(estimate, max_tokens + 5_000, "length"), None
        if name == "failed":
            return "failed", None, {"code": "provider_error", "message": "the provider failed"}
        return "canceled", None, None

    @precondition(lambda self: self.live_runs())
    @rule(data=st.data(), name=st.sampled_from(ENDINGS))
    def finish(self, data: st.DataObject, name: str) -> None:
        self.end_run(data.draw(st.sampled_from(self.live_runs()), label="run"), name)

    def end_run(self, run: RunModel, name: str) -> None:
        """A run ends its job: every ending settles through `finish_chat`, once."""
        run.finished = True
        job = run.job
        outcome, usage, error = self.ending(job, name)
        *_, cost = ending.chat_charge(run.run.job, "".join(run.run.text), usage, outcome)
        if name == "equal" and outcome == "succeeded":
            assert cost == job.hold_credits  # the hold is exactly the worst case
        closing = chat.finish_chat(run.run, outcome, usage=usage, error=error)
        if job.token != run.token or not job.active:
            assert closing == []  # not this run's to finish: nothing moves
            return
        settled = self.model.finish(job, outcome, cost)
        assert [e.type for e in closing] == ["usage", *(["error"] if error else []), "done"]
        assert closing[0].data["cost_credits"] == settled.taken
        assert closing[-1].data == {"status": outcome}

    @precondition(lambda self: self.model.jobs)
    @rule(data=st.data(), by_owner=st.booleans())
    def cancel(self, data: st.DataObject, by_owner: bool) -> None:
        """The owner cancels (an active job if there is one), or another user tries to."""
        active = [job for job in self.model.jobs if job.active]
        self.cancel_job(data.draw(st.sampled_from(active or self.model.jobs), label="job"),
                        by_owner=by_owner)

    def cancel_job(self, job: JobModel, *, by_owner: bool = True) -> None:
        actor = self.users[job.user if by_owner else 1 - job.user]

        def call():
            return jobs.cancel_job(job.id, user=actor)

        if not by_owner:
            with pytest.raises(jobs.JobNotFound):
                call()
            return
        if not job.active:
            with pytest.raises(jobs.JobAlreadyFinished):
                call()
            return
        after = call()
        if job.status == "queued":  # ends at once, costs nothing
            self.model.finish(job, "canceled", 0)
            job.token = ending.CANCELED_WHILE_QUEUED
        else:  # the run stops at its next chunk
            job.cancel_requested = True
        assert after.status == job.status

    @precondition(lambda self: self.finished_jobs())
    @rule(data=st.data())
    def settle_again(self, data: st.DataObject) -> None:
        self.settle_job_again(data.draw(st.sampled_from(self.finished_jobs()), label="job"))

    def settle_job_again(self, job: JobModel) -> None:
        """Settling a finished job again (the reaper, a redelivery) moves nothing."""
        assert store.settle_job(Job.get_by_id(job.id)) is None

    # --- invariants ----------------------------------------------------------------------------
    def check_all_invariants(self) -> None:
        """Every invariant, as hypothesis runs them after each step."""
        for name in INVARIANTS:
            getattr(self, name)()

    @invariant()
    def the_ledger_checker_finds_nothing(self) -> None:
        report = check_ledger()
        assert report.ok, "\n".join(report_lines(report))

    @invariant()
    def every_account_is_as_the_model_says(self) -> None:
        uids = [user.id for user in self.users]
        rows = {uid: (balance, held) for uid, balance, held in
                CreditAccount.select(CreditAccount.user, CreditAccount.balance,
                                     CreditAccount.held)
                .where(CreditAccount.user.in_(uids)).tuples()}
        entries = dict(LedgerEntry.select(LedgerEntry.account, fn.COUNT(LedgerEntry.id))
                       .where(LedgerEntry.account.in_(uids)).group_by(LedgerEntry.account)
                       .tuples())
        for index, uid in enumerate(uids):
            account = self.account(index)
            assert account.held >= 0 and account.available >= 0
            assert rows.get(uid, (0, 0)) == (account.balance, account.held), f"user {index}"
            assert entries.get(uid, 0) == account.entries, f"user {index}: one entry a movement"
            assert ledger.get_balance(uid) == ledger.Balance.of(account.balance, account.held)

    @invariant()
    def every_hold_is_as_the_model_says(self) -> None:
        assert hold_statuses() == {hold.hold_id: hold.status for hold in self.model.holds}

    @invariant()
    def every_job_is_settled_once_as_the_model_says(self) -> None:
        rows = {row.id: row for row in Job.select()}
        assert set(rows) == {job.id for job in self.model.jobs}  # a refused open left none
        usage = {record.job_id: record for record in UsageRecord.select()}
        settles = {entry.idempotency_key: entry for entry in
                   LedgerEntry.select().where(LedgerEntry.kind == "usage")}
        for job in self.model.jobs:
            row = rows[job.id]
            assert (row.status, row.attempts) == (job.status, job.attempts), job.id
            if job.active:
                assert job.id not in usage and row.cost_credits is None
                assert row.delivered_chars == job.db_delivered
                assert row.worker_token == job.token
                continue
            entry = settles[f"hold:{job.hold.hold_id}:settle"]
            assert (row.cost_credits, usage[job.id].cost_credits, -entry.amount_credits) == \
                (job.charged, job.charged, job.charged), job.id
            assert usage[job.id].status == job.status
        assert len(usage) == sum(not job.active for job in self.model.jobs)

    @invariant()
    def api_keys_count_their_spend_within_their_caps(self) -> None:
        """A key's total counter is what its jobs hold or were charged; its caps are never
        passed, except by charges beyond a job's hold (usage the hold did not cover)."""
        rows = {row.id: row for row in ApiKey.select()}
        for key in self.model.keys:
            row = rows[key.id]
            spend, excess = self.model.key_spend(key)
            assert row.spent_total_credits == spend, f"key {key.id}"
            if key.cap_total is not None:
                assert spend <= key.cap_total + excess, f"key {key.id}"
            if key.cap_monthly is not None:
                month_spend, month_excess = self.model.key_spend(key, this_month=True)
                counted = api_keys.month_spent(row)
                self.observe("monthly-cap-at-month-boundary",
                             counted >= month_spend
                             and month_spend <= key.cap_monthly + month_excess,
                             f"key {key.id}: jobs opened this month hold or cost {month_spend} "
                             f"(cap {key.cap_monthly}), its month counter says {counted}")

    @invariant()
    def promo_codes_and_the_audit_trail_are_as_the_model_says(self) -> None:
        counts = dict(PromoCode.select(PromoCode.code, PromoCode.redemptions).tuples())
        assert counts == {code.code: len(code.redeemed_by) for code in self.model.promos}
        audited = AuditLogEntry.select().where(AuditLogEntry.action == ADJUST_ACTION).count()
        assert audited == self.model.adjustments

    @invariant()
    def an_active_job_keeps_its_hold(self) -> None:
        for job in self.model.jobs:
            self.observe("hold-expires-under-active-job",
                         not job.active or job.hold.status == "active",
                         f"job {job.id} is {job.status} but its hold {job.hold.hold_id} "
                         f"was {job.hold.status} by the expiry sweep")


# --- the database side of the machine ------------------------------------------------------------
# Child tables first: they are emptied in this order.
EXAMPLE_TABLES = ("usage_records", "jobs", "promo_redemptions", "promo_codes", "audit_log",
                  "api_keys", "credit_holds", "ledger_entries", "credit_accounts", "users")


def reset_tables() -> None:
    """Empty what an example wrote (prices stay: they are seeded once and reused). Ids are not
    restarted, so a cached balance of an earlier example's user can never be served. (DELETE,
    not TRUNCATE: on these few rows it is ten times faster.)"""
    with db.atomic():
        for table in EXAMPLE_TABLES:
            db.execute_sql(f'DELETE FROM "{table}"')  # noqa: S608 — names from this module


def age_deadlines(seconds: int) -> None:
    """Time passes: every active hold's expiry and every active job's lease and last send move
    `seconds` into the past, as the hub's clock moving forward would see them."""
    shift = timedelta(seconds=seconds)
    with db.atomic():
        for hold_id, expires_at in (CreditHold.select(CreditHold.id, CreditHold.expires_at)
                                    .where(CreditHold.status == "active").tuples()):
            (CreditHold.update(expires_at=expires_at - shift)
             .where(CreditHold.id == hold_id).execute())
        for job_id, lease, enqueued in (Job.select(Job.id, Job.lease_expires_at, Job.enqueued_at)
                                        .where(Job.status.in_(ACTIVE_STATUSES)).tuples()):
            (Job.update(lease_expires_at=lease - shift if lease else None,
                        enqueued_at=enqueued - shift)
             .where(Job.id == job_id).execute())


def hold_statuses() -> dict[int, str]:
    return dict(CreditHold.select(CreditHold.id, CreditHold.status).tuples())


def stale_job_ids() -> list[str]:
    """The jobs `reap_stale_jobs` handles, in the order it reads them."""
    return [job_id for (job_id,) in Job.select(Job.id).where(
        (Job.status == "running") & (Job.lease_expires_at < utcnow())).tuples()]


INVARIANTS = tuple(name for name, member in vars(LedgerAndJobs).items()
                   if hasattr(member, "hypothesis_stateful_invariant"))
