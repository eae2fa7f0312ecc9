"""The in-memory model the model-based tests hold the ledger and the job lifecycle to.

Plain Python, no database: what every account, hold, job and API key should look like after a
sequence of operations, written from the rules in the docs (docs/credits.md: the ledger and holds;
docs/jobs.md: the billing policy and reliability) rather than from the code. `test_model_based` runs the same
operations on the real services and compares after every step.

Time is the model's own clock (`now_s`, in seconds since the example began): the test moves it
forward by ageing the database's deadlines (hold expiries, job leases) by the same amount, so
"expired" means the same thing on both sides without mocking the hub's clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Account:
    balance: int = 0
    held: int = 0
    entries: int = 0  # journal entries: one per movement, none for a refusal or a replay

    @property
    def available(self) -> int:
        return self.balance - self.held


@dataclass
class Keyed:
    """A movement made under an idempotency key, kept to replay it."""

    kind: str  # "credit", "debit", "partial" (allow_partial debit) or "adjust"
    user: int
    amount: int  # as asked: signed for "adjust", positive otherwise
    key: str
    first: Any  # what the first call returned (a ledger.Movement, or an Adjustment)


@dataclass
class ApiKeyModel:
    id: int
    user: int
    cap_total: int | None
    cap_monthly: int | None
    jobs: list[JobModel] = field(default_factory=list)


@dataclass(repr=False)
class HoldModel:
    user: int
    amount: int
    key: str
    hold_id: int
    expires_at_s: float
    status: str = "active"  # active, settled, released
    first_settle: Any = None  # the ledger.Movement of its settle (replays return it)
    job: JobModel | None = None  # the job it reserves for (None: a hold placed directly)

    def __repr__(self) -> str:
        return f"<hold {self.hold_id}: {self.amount} of user {self.user}, {self.status}>"


@dataclass(repr=False)
class JobModel:
    id: str
    user: int
    row: Any  # the Job as opened (price, prompt estimate: what the billing policy reads)
    executor: str  # "queue" or "web"
    hold: HoldModel
    key: ApiKeyModel | None
    month: int  # the model month it was opened in (see `Model.month`)
    status: str = "queued"
    token: str | None = None  # the run that owns it
    lease_until_s: float | None = None
    attempts: int = 0
    db_delivered: int = 0  # delivered_chars as the database has it (what the reaper reads)
    stream: str = ""  # the delta text on its event stream (what the reaper charges)
    charged: int | None = None
    cancel_requested: bool = False  # a cancel asked while it ran (the flag outlives a requeue)
    runs: list[RunModel] = field(default_factory=list)  # every run that claimed it, oldest first

    def __repr__(self) -> str:
        return (f"<{self.executor} job {self.id[:8]} of user {self.user}, {self.status}, "
                f"hold {self.hold_credits}>")

    @property
    def active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def spend(self) -> int:
        """What the job counts against its key: the hold while active, then the charge."""
        return self.hold_credits if self.active else (self.charged or 0)

    @property
    def excess(self) -> int:
        """What it was charged beyond its hold (usage the hold did not cover)."""
        return max(0, (self.charged or 0) - self.hold_credits) if not self.active else 0

    @property
    def hold_credits(self) -> int:
        return self.hold.amount


@dataclass(repr=False)
class RunModel:
    job: JobModel
    run: Any  # the real app.jobs.runs.base.Run
    delivered: int = 0  # characters this run delivered
    finished: bool = False  # it ended the job (or tried to): a run ends once

    @property
    def token(self) -> str:
        return self.run.token

    @property
    def live(self) -> bool:
        """Still running as far as it knows (it may have lost the job without noticing)."""
        return not self.finished and not self.run.lost

    def __repr__(self) -> str:
        return f"<run {self.job.runs.index(self) + 1} of {self.job!r}>"


@dataclass
class PromoModel:
    code: str
    amount: int
    max_redemptions: int
    redeemed_by: set[int] = field(default_factory=set)


@dataclass
class Settlement:
    taken: int
    shortfall: int


class Model:
    """Balances, holds, jobs and keys as the rules say they should be."""

    def __init__(self, users: int, lease_s: int) -> None:
        self.accounts = [Account() for _ in range(users)]
        self.lease_s = lease_s
        self.now_s = 0.0
        self.month = 0  # bumped when a calendar month ends (`month_turns`)
        self.holds: list[HoldModel] = []  # every hold, direct and jobs'
        self.jobs: list[JobModel] = []
        self.keys: list[ApiKeyModel] = []
        self.promos: list[PromoModel] = []
        self.adjustments = 0  # audited admin adjustments

    # --- movements ---------------------------------------------------------------------------
    def credit(self, user: int, amount: int) -> Account:
        account = self.accounts[user]
        account.balance += amount
        account.entries += 1
        return account

    def can_take(self, user: int, amount: int) -> bool:
        return amount <= self.accounts[user].available

    def debit(self, user: int, amount: int) -> Account:
        account = self.accounts[user]
        assert amount <= account.available, "the test asked the model for a refused debit"
        account.balance -= amount
        account.entries += 1
        return account

    def debit_partial(self, user: int, amount: int) -> Settlement:
        """Take what is available (even nothing: the entry is journalled all the same)."""
        account = self.accounts[user]
        taken = min(amount, account.available)
        account.balance -= taken
        account.entries += 1
        return Settlement(taken=taken, shortfall=amount - taken)

    # --- holds -------------------------------------------------------------------------------
    def place_hold(self, hold: HoldModel) -> None:
        assert self.can_take(hold.user, hold.amount), "the test asked for a refused hold"
        self.accounts[hold.user].held += hold.amount
        self.holds.append(hold)

    def settle(self, hold: HoldModel, actual: int) -> Settlement:
        """Charge `actual`: from the hold (if still active) then the available credits, never
        below zero; the rest is the shortfall. The hold is settled either way."""
        assert hold.status != "settled"
        account = self.accounts[hold.user]
        reserved = hold.amount if hold.status == "active" else 0
        taken = min(actual, account.balance - (account.held - reserved))
        account.balance -= taken
        account.held -= reserved
        account.entries += 1
        hold.status = "settled"
        return Settlement(taken=taken, shortfall=actual - taken)

    def release(self, hold: HoldModel) -> None:
        assert hold.status == "active"
        self.accounts[hold.user].held -= hold.amount
        hold.status = "released"

    def expired_holds(self) -> list[HoldModel]:
        return [h for h in self.holds if h.status == "active" and h.expires_at_s <= self.now_s]

    # --- jobs --------------------------------------------------------------------------------
    def open_job(self, job: JobModel) -> None:
        self.place_hold(job.hold)
        self.jobs.append(job)
        if job.key is not None:
            job.key.jobs.append(job)
        if job.executor == "web":  # inserted already claimed by the web thread
            job.status, job.attempts = "running", 1
            job.lease_until_s = self.now_s + self.lease_s

    def claimable(self, job: JobModel) -> bool:
        """Queued, or running under an expired lease with nothing delivered (a duplicate
        message after its worker died)."""
        return job.status == "queued" or (
            job.status == "running" and self.lease_expired(job) and job.db_delivered == 0)

    def claim(self, job: JobModel, token: str) -> None:
        job.status, job.token, job.attempts = "running", token, job.attempts + 1
        job.lease_until_s = self.now_s + self.lease_s

    def lease_expired(self, job: JobModel) -> bool:
        return job.lease_until_s is not None and job.lease_until_s <= self.now_s

    def finish(self, job: JobModel, outcome: str, cost: int) -> Settlement:
        """The job ends: its hold is settled for `cost`, once."""
        assert job.active
        settled = self.settle(job.hold, cost)
        job.status, job.charged, job.lease_until_s = outcome, settled.taken, None
        return settled

    def requeue(self, job: JobModel) -> None:
        job.status, job.token, job.lease_until_s = "queued", None, None

    def stale_jobs(self) -> list[JobModel]:
        return [j for j in self.jobs if j.status == "running" and self.lease_expired(j)]

    # --- keys --------------------------------------------------------------------------------
    def key_spend(self, key: ApiKeyModel, *, this_month: bool = False) -> tuple[int, int]:
        """(spend, excess) of the key's jobs (opened this month only, if asked)."""
        jobs = [j for j in key.jobs if not this_month or j.month == self.month]
        return sum(j.spend for j in jobs), sum(j.excess for j in jobs)
