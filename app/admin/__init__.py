"""The back office (Flask-Admin at /admin/). Every view inherits `StaffView`/`StaffModelView`,
which apply the same role rule as the API: `support` reads, `admin` also writes. Anonymous
visitors are sent to /login; signed-in users without the role get 403.

Areas add their views to `ADMIN_VIEWS` (factories: each app gets fresh view instances).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask_admin import Admin, BaseView

from app.admin import payments as pay
from app.admin.base import StaffIndexView
from app.admin.jobs import JobAdmin, UsageRecordAdmin
from app.admin.ledger import AuditLogAdmin, CreditHoldAdmin, LedgerEntryAdmin
from app.admin.periodic import PeriodicJobsView
from app.admin.prices import PriceHistoryAdmin, PricesView
from app.admin.promo import PromoCodeAdmin
from app.admin.usage import UsageSummaryView
from app.admin.users import UserAdmin
from app.models.audit import AuditLogEntry
from app.models.jobs import Job, UsageRecord
from app.models.ledger import CreditHold, LedgerEntry
from app.models.payments import CreditPackage, Payment, PaymentFlag, ReconciliationRun
from app.models.pricing import ModelPrice
from app.models.promo import PromoCode
from app.models.users import User
from app.security.headers import csp_nonce

ADMIN_VIEWS: list[Callable[[], BaseView]] = [
    lambda: UserAdmin(User, name="Users", endpoint="admin_users", url="users"),
    lambda: LedgerEntryAdmin(LedgerEntry, name="Ledger entries", category="Credits",
                             endpoint="admin_ledger", url="ledger"),
    lambda: CreditHoldAdmin(CreditHold, name="Holds", category="Credits",
                            endpoint="admin_holds", url="holds"),
    lambda: PromoCodeAdmin(PromoCode, name="Promo codes", category="Credits",
                           endpoint="admin_promo", url="promo-codes"),
    lambda: JobAdmin(Job, name="Jobs", category="Jobs", endpoint="admin_jobs", url="jobs"),
    lambda: UsageRecordAdmin(UsageRecord, name="Usage records", category="Jobs",
                             endpoint="admin_usage", url="usage"),
    lambda: UsageSummaryView(name="Usage summary", category="Jobs",
                             endpoint="admin_usage_summary", url="usage-summary"),
    lambda: PeriodicJobsView(name="Periodic jobs", category="Jobs",
                             endpoint="admin_periodic_jobs", url="periodic-jobs"),
    lambda: PricesView(name="Current prices", category="Prices", endpoint="admin_prices",
                       url="prices"),
    lambda: PriceHistoryAdmin(ModelPrice, name="Price history", category="Prices",
                              endpoint="admin_price_history", url="price-history"),
    lambda: AuditLogAdmin(AuditLogEntry, name="Audit log", endpoint="admin_audit",
                          url="audit"),
    lambda: pay.CreditPackageAdmin(CreditPackage, name="Packages", category="Payments",
                                   endpoint="admin_packages", url="packages"),
    lambda: pay.PaymentAdmin(Payment, name="Payments", category="Payments",
                             endpoint="admin_payments_list", url="payments"),
    lambda: pay.PaymentFlagAdmin(PaymentFlag, name="Flags", category="Payments",
                                 endpoint="admin_payment_flags", url="payment-flags"),
    lambda: pay.ReconciliationRunAdmin(ReconciliationRun, name="Reconciliation",
                                       category="Payments", endpoint="admin_reconciliation",
                                       url="reconciliation"),
]


def init_admin(app: Flask) -> Admin:
    admin = Admin(app, name="Smart AI Hub", url="/admin", index_view=StaffIndexView(),
                  csp_nonce_generator=csp_nonce)
    for make_view in ADMIN_VIEWS:
        admin.add_view(make_view())
    return admin
