"""The usage summary page: per model and per day over the last 30 days."""

from __future__ import annotations

from typing import Any

from flask_admin import expose

from app.admin.base import StaffView
from app.services.usage_report import usage_summary


class UsageSummaryView(StaffView):
    @expose("/")
    def index(self) -> Any:
        return self.render("admin/backoffice/usage_summary.html", summary=usage_summary())
