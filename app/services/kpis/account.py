"""One account's figures for its dashboard: balance, credits spent per day and per model, the
most recent jobs; and a version of them that is cheap to compute, for a page that asks whether
anything changed (an ETag).

Spent per day comes from the ledger's usage entries (`usage_per_day`, the same figures as
/credits), spent per model from the account's usage (`usage.usage_totals`): one usage entry per
settled job carries the job's charge, so the two add up to the same total.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from app.models.jobs import Job
from app.services.kpis.periods import Period, period
from app.services.kpis.usage import SpendTotals, usage_totals
from app.services.ledger import Balance, get_balance
from app.services.ledger.history import DailyUsage, usage_per_day

DASHBOARD_DAYS = (7, 30)
RECENT_JOBS = 5
TOP_MODELS = 5


@dataclass(frozen=True)
class JobLine:
    id: str
    type: str
    model: str
    status: str
    hold_credits: int
    cost_credits: int | None  # None until settled
    created_at: datetime


@dataclass(frozen=True)
class AccountSummary:
    period: Period
    balance: Balance
    per_day: list[DailyUsage]  # oldest first, days without usage included
    by_model: list[SpendTotals]  # most credits first
    recent_jobs: list[JobLine]  # newest first

    @property
    def spent_credits(self) -> int:
        return sum(day.usage_credits for day in self.per_day)

    @property
    def top_models(self) -> list[SpendTotals]:
        """The models used most (by requests) in the period."""
        return sorted(self.by_model, key=lambda row: (-row.requests, -row.cost_credits,
                                                      row.key))[:TOP_MODELS]


def account_summary(user_id: int, days: int, *, now: datetime | None = None) -> AccountSummary:
    if days not in DASHBOARD_DAYS:
        raise ValueError(f"days must be one of {DASHBOARD_DAYS}")
    span = period(days, now)
    return AccountSummary(period=span, balance=get_balance(user_id),
                          per_day=usage_per_day(user_id, days=days, today=span.now.date()),
                          by_model=usage_totals(span, user_id=user_id).by_model,
                          recent_jobs=recent_jobs(user_id))


def recent_jobs(user_id: int, limit: int = RECENT_JOBS) -> list[JobLine]:
    rows = (Job.select(Job.id, Job.type, Job.model, Job.status, Job.hold_credits,
                       Job.cost_credits, Job.created_at)
            .where(Job.user == user_id).order_by(Job.created_at.desc(), Job.id.desc())
            .limit(limit).tuples())
    return [JobLine(*row) for row in rows]


def account_version(user_id: int, days: int, *, now: datetime | None = None) -> str:
    """Changes whenever the summary may have: a hold placed or settled moves the balance or
    what is held, a new job or a new status shows in the newest job, and a new UTC day moves
    the period. Costs a cached balance read and one index lookup."""
    balance = get_balance(user_id)
    newest = (Job.select(Job.id, Job.status).where(Job.user == user_id)
              .order_by(Job.created_at.desc(), Job.id.desc()).limit(1).tuples().first())
    today = period(days, now).now.date()
    state = f"{user_id}|{days}|{today}|{balance.balance}|{balance.held}|{newest}"
    return hashlib.sha256(state.encode()).hexdigest()[:20]
