"""Back-office operations on payments: editing packages, reading reports, resolving flags.

Every change (package created or edited, flag resolved) writes its audit entry in its own
transaction; the back office and the admin API both call these."""

from __future__ import annotations

import re
from typing import Any

import structlog

from app.errors import Conflict, HubError, NotFound
from app.models.base import INTEGER_MAX, utcnow
from app.models.payments import CreditPackage, PaymentFlag, ReconciliationRun
from app.services import audit
from app.transactions import locked, write_transaction

log = structlog.get_logger(__name__)

# API field -> column. `sort_order` is the back office's only (the API appends new packages).
PACKAGE_FIELDS = {"name": "name", "credits": "amount_credits", "price_cents": "price_cents",
                  "currency": "currency", "active": "active", "sort_order": "sort_order"}
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
CURRENCY = re.compile(r"^[a-z]{3}$")


def _int_between(low: int, high: int) -> Any:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


# the same bounds as the admin API's schema (price: Stripe's minimum charge is 50)
LIMITS: dict[str, tuple[Any, str]] = {
    "name": (lambda v: isinstance(v, str) and 1 <= len(v) <= 80, "1 to 80 characters"),
    "credits": (_int_between(1, 10**12), "between 1 and 1000000000000"),
    "price_cents": (_int_between(50, 10**8), "between 50 and 100000000"),
    "currency": (lambda v: isinstance(v, str) and bool(CURRENCY.match(v)),
                 "a lower-case ISO currency code such as usd"),
    "active": (lambda v: isinstance(v, bool), "true or false"),
    "sort_order": (_int_between(-INTEGER_MAX, INTEGER_MAX), "an integer"),
}


class PackageNotFound(NotFound):
    """No credit package has this id."""

    code = "package_not_found"


class PackageExists(Conflict):
    """A credit package with this id already exists."""

    code = "package_exists"


class InvalidPackage(HubError):
    """The package's values are not valid."""

    http_status = 422
    code = "invalid_package"


class FlagNotFound(NotFound):
    """No such payment flag."""

    code = "flag_not_found"


def all_packages() -> list[CreditPackage]:
    return list(CreditPackage.select().order_by(CreditPackage.sort_order, CreditPackage.id))


def _checked(changes: dict[str, Any]) -> dict[str, Any]:
    """The changes as column values; refused (422, naming the field) if out of bounds. The
    admin API's schema checks the same bounds first; the back office's form relies on these."""
    columns = {}
    for name, value in changes.items():
        if name not in PACKAGE_FIELDS:
            raise InvalidPackage(f"{name}: not a package field")
        valid, rule = LIMITS[name]
        if not valid(value):
            raise InvalidPackage(f"{name}: {rule}")
        columns[PACKAGE_FIELDS[name]] = value
    return columns


def _state(package: CreditPackage, names: Any) -> dict[str, Any]:
    """The package's values of the given API fields, for the audit log."""
    return {name: getattr(package, PACKAGE_FIELDS[name]) for name in names}


def create_package(slug: str, changes: dict[str, Any], *, actor_id: int | None,
                   actor_label: str) -> CreditPackage:
    """A new package (inactive until `active` is set); sync it to Stripe afterwards."""
    if not isinstance(slug, str) or not SLUG.match(slug):
        raise InvalidPackage("id: lower-case letters, digits, - and _ (at most 40)")
    columns = _checked(changes)
    with write_transaction():
        if "sort_order" not in columns:
            last = CreditPackage.select(CreditPackage.sort_order).order_by(
                CreditPackage.sort_order.desc()).first()
            columns["sort_order"] = (last.sort_order + 1) if last else 0
        inserted = CreditPackage.insert(slug=slug, **columns).on_conflict_ignore() \
            .as_rowcount().execute()
        if not inserted:
            raise PackageExists(f"id: a package {slug!r} already exists")
        package = CreditPackage.get(CreditPackage.slug == slug)
        audit.record(actor_id=actor_id, actor_label=actor_label, action="package.create",
                     target_type="credit_package", target_id=slug, before={},
                     after={"id": slug, **_state(package, PACKAGE_FIELDS)})
    log.info("package_created", package=slug, actor=actor_label, **columns)
    return package


def update_package(slug: str, changes: dict[str, Any], *, actor_id: int | None,
                   actor_label: str) -> CreditPackage:
    """Change a package; the audit entry holds the fields that changed, before and after.
    Past payments keep what they bought; a new price is charged inline until
    `flask payments sync-products` creates the matching Stripe Price."""
    _checked(changes)
    with write_transaction():
        package = locked(CreditPackage.select().where(CreditPackage.slug == slug)).get_or_none()
        if package is None:
            raise PackageNotFound(f"no credit package {slug!r}")
        before, after = audit.changed(_state(package, changes), changes)
        if not after:
            return package
        (CreditPackage.update(updated_at=utcnow(), **_checked(after))
         .where(CreditPackage.id == package.id).execute())
        audit.record(actor_id=actor_id, actor_label=actor_label, action="package.update",
                     target_type="credit_package", target_id=slug, before=before, after=after)
    log.info("package_updated", package=slug, actor=actor_label, fields=sorted(after))
    return CreditPackage.get_by_id(package.id)


def list_flags(*, include_resolved: bool, limit: int) -> list[PaymentFlag]:
    query = PaymentFlag.select()
    if not include_resolved:
        query = query.where(PaymentFlag.resolved_at.is_null())
    return list(query.order_by(PaymentFlag.id.desc()).limit(limit))


def resolve_flag(flag_id: int, *, actor_id: int | None, actor_label: str) -> PaymentFlag:
    """Mark a flag as dealt with (audited) and return it; a resolved flag stays as it was."""
    mark_flag_resolved(flag_id, actor_id=actor_id, actor_label=actor_label)
    return PaymentFlag.get_by_id(flag_id)


def mark_flag_resolved(flag_id: int, *, actor_id: int | None, actor_label: str) -> bool:
    """True if this call resolved the flag (and audited it); False if it was resolved already."""
    with write_transaction():
        flag = locked(PaymentFlag.select().where(PaymentFlag.id == flag_id)).get_or_none()
        if flag is None:
            raise FlagNotFound(f"no payment flag with id {flag_id}")
        if flag.resolved_at is not None:
            return False
        resolved_at = utcnow()
        PaymentFlag.update(resolved_at=resolved_at).where(PaymentFlag.id == flag_id).execute()
        audit.record(actor_id=actor_id, actor_label=actor_label, action="payment_flag.resolve",
                     target_type="payment_flag", target_id=flag_id, before={"resolved_at": None},
                     after={"resolved_at": resolved_at})
    log.info("payment_flag_resolved", flag_id=flag_id, actor=actor_label)
    return True


def recent_reconciliations(limit: int) -> list[ReconciliationRun]:
    return list(ReconciliationRun.select().order_by(ReconciliationRun.id.desc()).limit(limit))
