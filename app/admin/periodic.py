"""The periodic jobs page: when each one last ran, and which are overdue (a missing scheduler,
or no worker on its queue)."""

from __future__ import annotations

from typing import Any

from flask_admin import expose

from app.admin.base import StaffView
from app.scheduler import PERIODIC_JOBS
from app.services.periodic_jobs import OVERDUE_AFTER_INTERVALS, job_states


class PeriodicJobsView(StaffView):
    @expose("/")
    def index(self) -> Any:
        return self.render("admin/backoffice/periodic_jobs.html",
                           states=job_states(PERIODIC_JOBS), factor=OVERDUE_AFTER_INTERVALS)
