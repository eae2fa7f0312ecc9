"""The back-office home: the business at a glance over the last 1, 7 or 30 days
(`app.services.kpis.overview`), as figures and charts, each linked to the view behind it (a
list filtered to the rows the figure counts, where the view has the filters)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import url_for
from flask_admin import Admin

from app.charts import bar_chart, column_chart
from app.scheduler import PERIODIC_JOBS
from app.services.kpis import PERIOD_DAYS, Overview, overview
from app.services.periodic_jobs import job_states
from app.tasks.payments import reconcile_payments

PERIOD_LABELS = {1: "24 hours", 7: "7 days", 30: "30 days"}
NO_PROVIDER = "(none)"


def list_url(admin: Admin, endpoint: str, **filters: str) -> str:
    """The list of the view at `endpoint`, filtered by `filters` (a filter's name as the view
    shows it, with spaces as underscores → its value)."""
    view = next(v for v in admin._views if v.endpoint == endpoint)
    args = {}
    for position, (name, value) in enumerate(filters.items()):
        label = name.replace("_", " ")
        arg = next(arg for arg, (_, flt) in view._filter_args.items() if str(flt.name) == label)
        args[f"flt{position}_{arg}"] = value
    return url_for(f"{endpoint}.index_view", **args)


def home_context(admin: Admin, days: int) -> dict[str, Any]:
    states = job_states(PERIODIC_JOBS)
    reconcile = next((s for s in states if s.job == reconcile_payments.actor_name), None)
    figures = overview(days, reconcile_job=reconcile)
    span = figures.period
    until = span.now.replace(microsecond=0) + timedelta(seconds=1)  # the filter has no fractions
    between = f"{span.since:%Y-%m-%d %H:%M:%S} to {until:%Y-%m-%d %H:%M:%S}"

    def jobs(**filters: str) -> str:
        return list_url(admin, "admin_jobs", Created=between, **filters)

    def usage(**filters: str) -> str:
        return list_url(admin, "admin_usage", Date=between, **filters)

    return {
        "o": figures, "days": days, "period_days": PERIOD_DAYS, "period_labels": PERIOD_LABELS,
        "overdue_jobs": [s for s in states if s.overdue],
        "revenue": [f"{r.amount_cents / 100:,.2f} {r.currency.upper()}" for r in
                    figures.sales.revenue],
        "payments": sum(r.payments for r in figures.sales.revenue),
        "chart": _charts(figures, jobs, usage),
        "time_heading": "Hour (UTC)" if span.bucket == "hour" else "Day (UTC)",
        "links": {
            "revenue": url_for("admin_payments_list.index_view"),
            "sold": list_url(admin, "admin_ledger", Kind="purchase", Date=between),
            "spent": usage(), "summary": url_for("admin_usage_summary.index"),
            "users": url_for("admin_users.index_view"), "jobs": jobs(),
            "failed": jobs(Status="failed"), "queued": jobs(Status="queued"),
            "reconciliation": url_for("admin_reconciliation.index_view"),
            "flags": url_for("admin_payment_flags.index_view"),
            "periodic": url_for("admin_periodic_jobs.index"),
            "failed_by": {p.provider: jobs(Status="failed", Provider=p.provider)
                          for p in figures.jobs.by_provider if p.provider},
        },
    }


def _charts(figures: Overview, jobs: Any, usage: Any) -> dict[str, Any]:
    span = figures.period
    per = "hour" if span.bucket == "hour" else "day"
    models, providers = figures.by_model, figures.by_provider
    statuses = list(figures.jobs.by_status.items())
    return {
        "sold": column_chart("credits-sold", f"Credits sold per {per}",
                             [(span.label(t), v) for t, v in figures.sales.sold_per_bucket]),
        "spent": column_chart("credits-spent", f"Credits spent per {per}",
                              [(span.label(t), v) for t, v in figures.spent_per_bucket]),
        "models": bar_chart("spend-by-model", "Credits spent per model",
                            [(m.key, m.cost_credits) for m in models],
                            links=[usage(Model=m.key) for m in models],
                            notes=[_requests(m.requests) for m in models]),
        "providers": bar_chart("spend-by-provider", "Credits spent per provider",
                               [(p.key or NO_PROVIDER, p.cost_credits) for p in providers],
                               links=[usage(Provider=p.key) if p.key else None
                                      for p in providers],
                               notes=[_requests(p.requests) for p in providers]),
        "statuses": bar_chart("jobs-by-status", "Jobs by status", statuses, unit="jobs",
                              links=[jobs(Status=status) for status, _ in statuses]),
    }


def _requests(count: int) -> str:
    return f"{count:,} job{'' if count == 1 else 's'}"
