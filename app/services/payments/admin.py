"""Back-office operations on payments: editing packages, reading reports, resolving flags."""

from __future__ import annotations

from typing import Any

import structlog

from app.errors import Conflict, NotFound
from app.models.base import utcnow
from app.models.payments import CreditPackage, PaymentFlag, ReconciliationRun

log = structlog.get_logger(__name__)

PACKAGE_FIELDS = {"name": "name", "credits": "amount_credits", "price_cents": "price_cents",
                  "currency": "currency", "active": "active"}


class PackageNotFound(NotFound):
    """No credit package has this id."""

    code = "package_not_found"


class PackageExists(Conflict):
    """A credit package with this id already exists."""

    code = "package_exists"


class FlagNotFound(NotFound):
    """No such payment flag."""

    code = "flag_not_found"


def all_packages() -> list[CreditPackage]:
    return list(CreditPackage.select().order_by(CreditPackage.sort_order, CreditPackage.id))


def create_package(slug: str, changes: dict[str, Any], *, actor_id: int) -> CreditPackage:
    """A new package (inactive until `active` is set); sync it to Stripe afterwards."""
    columns = {PACKAGE_FIELDS[name]: value for name, value in changes.items()}
    last = CreditPackage.select(CreditPackage.sort_order).order_by(
        CreditPackage.sort_order.desc()).first()
    inserted = CreditPackage.insert(slug=slug, sort_order=(last.sort_order + 1) if last else 0,
                                    **columns).on_conflict_ignore().as_rowcount().execute()
    if not inserted:
        raise PackageExists(f"id: a package {slug!r} already exists")
    log.info("package_created", package=slug, actor_id=actor_id, **columns)
    return CreditPackage.get(CreditPackage.slug == slug)


def update_package(slug: str, changes: dict[str, Any], *, actor_id: int) -> CreditPackage:
    """Change a package. Past payments keep what they bought; a new price is charged inline
    until `flask payments sync-products` creates the matching Stripe Price."""
    package = CreditPackage.get_or_none(CreditPackage.slug == slug)
    if package is None:
        raise PackageNotFound(f"no credit package {slug!r}")
    for name, value in changes.items():
        setattr(package, PACKAGE_FIELDS[name], value)
    package.updated_at = utcnow()
    package.save()
    log.info("package_updated", package=slug, actor_id=actor_id,
             **{PACKAGE_FIELDS[n]: v for n, v in changes.items()})
    return package


def list_flags(*, include_resolved: bool, limit: int) -> list[PaymentFlag]:
    query = PaymentFlag.select()
    if not include_resolved:
        query = query.where(PaymentFlag.resolved_at.is_null())
    return list(query.order_by(PaymentFlag.id.desc()).limit(limit))


def resolve_flag(flag_id: int, *, actor_id: int) -> PaymentFlag:
    flag = PaymentFlag.get_or_none(PaymentFlag.id == flag_id)
    if flag is None:
        raise FlagNotFound()
    if flag.resolved_at is None:
        flag.resolved_at = utcnow()
        flag.save()
        log.info("payment_flag_resolved", flag_id=flag_id, actor_id=actor_id)
    return flag


def recent_reconciliations(limit: int) -> list[ReconciliationRun]:
    return list(ReconciliationRun.select().order_by(ReconciliationRun.id.desc()).limit(limit))
