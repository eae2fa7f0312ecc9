"""The ledger in the back office, read-only for everyone: journal entries, holds, audit log.

Only `app.services.ledger` writes these tables; nothing here can create, edit or delete a row.
"""

from __future__ import annotations

from flask_admin.contrib.peewee.filters import DateTimeBetweenFilter, FilterEqual

from app.admin.base import ReadOnlyModelView
from app.admin.columns import DATETIME_FORMATTERS, EmailFilter, UserEmailColumn, format_user
from app.models.audit import AuditLogEntry
from app.models.ledger import HOLD_STATUSES, KINDS, CreditHold, LedgerEntry


class LedgerEntryAdmin(UserEmailColumn, ReadOnlyModelView):
    user_column = "account"  # the account's primary key is its user's id
    column_list = ("id", "created_at", "account", "kind", "amount_credits", "balance_after",
                   "held_after", "shortfall_credits", "reference", "memo")
    column_labels = {"account": "User", "amount_credits": "Amount (credits)"}
    column_formatters = {"account": format_user, "actor": format_user}
    column_details_list = (*column_list, "idempotency_key", "actor")
    column_filters = (EmailFilter(LedgerEntry.account, "User e-mail"),
                      FilterEqual(LedgerEntry.kind, "Kind", options=[(k, k) for k in KINDS]),
                      DateTimeBetweenFilter(LedgerEntry.created_at, "Date"))
    column_sortable_list = ("id", "created_at", "amount_credits")
    column_default_sort = ("id", True)
    column_type_formatters = DATETIME_FORMATTERS


class CreditHoldAdmin(UserEmailColumn, ReadOnlyModelView):
    user_column = "account"
    column_list = ("id", "created_at", "account", "amount_credits", "status", "purpose",
                   "reference", "expires_at", "finished_at")
    column_labels = {"account": "User", "amount_credits": "Amount (credits)"}
    column_formatters = {"account": format_user}
    column_filters = (FilterEqual(CreditHold.status, "Status",
                                  options=[(s, s) for s in HOLD_STATUSES]),
                      EmailFilter(CreditHold.account, "User e-mail"),
                      DateTimeBetweenFilter(CreditHold.created_at, "Created"))
    column_sortable_list = ("id", "created_at", "expires_at", "amount_credits")
    column_default_sort = ("id", True)
    column_type_formatters = DATETIME_FORMATTERS


class AuditLogAdmin(ReadOnlyModelView):
    column_list = ("id", "created_at", "actor_label", "action", "target_type", "target_id",
                   "before", "after", "reason")
    column_labels = {"actor_label": "Actor"}
    column_details_exclude_list = ("actor",)
    column_searchable_list = ("actor_label", "reason")
    column_filters = ("action", "target_type", "target_id",
                      DateTimeBetweenFilter(AuditLogEntry.created_at, "Date"))
    column_sortable_list = ("id", "created_at")
    column_default_sort = ("id", True)
    column_type_formatters = DATETIME_FORMATTERS

    def search_placeholder(self) -> str:
        return "Actor or reason"
