"""Jobs and usage in the back office: read-only lists and details for staff; admins may cancel
a job (through `jobs.cancel_job`, which releases or settles its hold)."""

from __future__ import annotations

from flask import flash
from flask_admin.actions import action
from flask_admin.contrib.peewee.filters import DateTimeBetweenFilter, FilterEqual
from flask_login import current_user

from app.admin.base import ReadOnlyModelView
from app.admin.columns import DATETIME_FORMATTERS, EmailFilter, UserEmailColumn, format_user
from app.errors import HubError
from app.jobs.api import cancel_job
from app.models.jobs import ACTIVE_STATUSES, TERMINAL_STATUSES, Job, UsageRecord

STATUS_OPTIONS = [(s, s) for s in (*ACTIVE_STATUSES, *TERMINAL_STATUSES)]


class JobAdmin(UserEmailColumn, ReadOnlyModelView):
    column_list = ("id", "created_at", "user", "type", "status", "model", "provider",
                   "hold_credits", "cost_credits", "input_tokens", "output_tokens",
                   "video_seconds", "error_code")
    column_details_list = ("id", "user", "type", "status", "model", "provider", "channel",
                           "source", "executor", "hold_id", "hold_credits", "cost_credits",
                           "input_tokens",
                           "output_tokens", "prompt_tokens_estimate", "video_seconds",
                           "finish_reason", "error_code", "error_message", "attempts",
                           "upstream_ms", "created_at", "started_at", "first_token_at",
                           "finished_at", "content_bytes")
    column_formatters = {"user": format_user}
    column_filters = (FilterEqual(Job.status, "Status", options=STATUS_OPTIONS),
                      EmailFilter(Job.user, "User e-mail"),
                      FilterEqual(Job.model, "Model"),
                      FilterEqual(Job.type, "Type", options=[("chat", "chat"),
                                                             ("video", "video"),
                                                             ("embedding", "embedding")]),
                      DateTimeBetweenFilter(Job.created_at, "Created"),
                      FilterEqual(Job.provider, "Provider"))
    column_sortable_list = ("created_at", "cost_credits")
    column_default_sort = ("created_at", True)
    column_type_formatters = DATETIME_FORMATTERS
    details_template = "admin/backoffice/job_details.html"

    @action("cancel", "Cancel", "Cancel the selected jobs? A running job stops at its next "
            "chunk and is charged for what it generated.")
    def action_cancel(self, ids: list[str]) -> None:
        staff = current_user._get_current_object()
        canceled = 0
        for job_id in ids:
            try:
                cancel_job(job_id, user=staff)
            except HubError as exc:
                flash(f"job {job_id}: {exc.message}", "error")
            else:
                canceled += 1
        if canceled:
            flash(f"Cancel requested for {canceled} job(s).", "success")


class UsageRecordAdmin(UserEmailColumn, ReadOnlyModelView):
    column_list = ("created_at", "user", "job", "model", "provider", "status", "input_tokens",
                   "output_tokens", "video_seconds", "cost_credits", "latency_ms", "ttft_ms")
    column_formatters = {"user": format_user,
                         "job": lambda view, context, row, name: row.job_id}
    column_filters = (EmailFilter(UsageRecord.user, "User e-mail"),
                      FilterEqual(UsageRecord.model, "Model"),
                      FilterEqual(UsageRecord.status, "Status",
                                  options=[(s, s) for s in TERMINAL_STATUSES]),
                      DateTimeBetweenFilter(UsageRecord.created_at, "Date"),
                      FilterEqual(UsageRecord.provider, "Provider"))
    column_sortable_list = ("created_at", "cost_credits")
    column_default_sort = ("created_at", True)
    column_type_formatters = DATETIME_FORMATTERS
