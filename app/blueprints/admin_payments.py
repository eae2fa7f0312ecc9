"""Back-office payments API: packages (edit), payment flags (read, resolve), reconciliation
reports (read). Support staff may read; changes need the admin role."""

from __future__ import annotations

import json

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Dict, Integer, List, Nested, String
from apiflask.validators import Length, Range, Regexp
from marshmallow import ValidationError, validates_schema

from app.blueprints.fields import UtcDateTime
from app.models.payments import CreditPackage, PaymentFlag, ReconciliationRun
from app.security import current_principal, require_auth
from app.services.payments import admin
from app.services.payments.packages import price_spec

bp = APIBlueprint("admin_payments", __name__, tag="Admin: payments",
                  url_prefix="/api/admin/payments")

SLUG = Regexp(r"^[a-z0-9][a-z0-9_-]{0,39}$", error="lower-case letters, digits, - and _")
CURRENCY = Regexp(r"^[a-z]{3}$", error="a lower-case ISO currency code such as usd")


class AdminPackageOut(Schema):
    id = String(required=True)
    name = String(required=True)
    credits = Integer(required=True)
    price_cents = Integer(required=True)
    currency = String(required=True)
    active = Boolean(required=True)
    stripe_product_id = String(allow_none=True)
    stripe_price_id = String(allow_none=True)
    stripe_synced = Boolean(required=True, metadata={
        "description": "the recorded Stripe Price charges the current price"})


class AdminPackageChanged(AdminPackageOut):
    """The package after the change."""


class AdminPackagesOut(Schema):
    items = List(Nested(AdminPackageOut), required=True)


class PackageUpdateIn(Schema):
    name = String(validate=Length(min=1, max=80))
    credits = Integer(validate=Range(min=1, max=10**12))
    price_cents = Integer(validate=Range(min=50, max=10**8))  # Stripe's minimum charge
    currency = String(validate=CURRENCY)
    active = Boolean()

    @validates_schema
    def _not_empty(self, data: dict, **_: object) -> None:
        if not data:
            raise ValidationError("send at least one of name, credits, price_cents, currency, "
                                  "active", field_name="name")


class PackageCreateIn(Schema):
    id = String(required=True, validate=SLUG)
    name = String(required=True, validate=Length(min=1, max=80))
    credits = Integer(required=True, validate=Range(min=1, max=10**12))
    price_cents = Integer(required=True, validate=Range(min=50, max=10**8))
    currency = String(load_default="usd", validate=CURRENCY)
    active = Boolean(load_default=False)


class FlagOut(Schema):
    id = Integer(required=True)
    user_id = Integer(required=True)
    payment_id = Integer(required=True)
    kind = String(required=True, metadata={
        "description": "dispute, dispute_shortfall or refund_shortfall"})
    reference = String(required=True)
    shortfall_credits = Integer(required=True)
    details = String(required=True)
    created_at = UtcDateTime(required=True)
    resolved_at = UtcDateTime(allow_none=True)


class FlagResolved(FlagOut):
    """The flag, with the time it was resolved."""


class FlagsQuery(Schema):
    include_resolved = Boolean(load_default=False)
    limit = Integer(load_default=50, validate=Range(min=1, max=200))


class FlagsOut(Schema):
    items = List(Nested(FlagOut), required=True)


class RunOut(Schema):
    id = Integer(required=True)
    trigger = String(required=True)
    status = String(required=True)
    lookback_hours = Integer(required=True)
    started_at = UtcDateTime(required=True)
    finished_at = UtcDateTime(allow_none=True)
    sessions_seen = Integer(required=True)
    fixed = Integer(required=True)
    expired = Integer(required=True)
    mismatches = List(Dict(), required=True)
    error = String(required=True)


class RunsQuery(Schema):
    limit = Integer(load_default=20, validate=Range(min=1, max=200))


class RunsOut(Schema):
    items = List(Nested(RunOut), required=True)


def _actor() -> dict:
    """The signed-in admin, as the services' audit entries name them."""
    user = current_principal().user
    return {"actor_id": user.id, "actor_label": user.email}


def _package(package: CreditPackage) -> dict:
    return {"id": package.slug, "name": package.name, "credits": package.amount_credits,
            "price_cents": package.price_cents, "currency": package.currency,
            "active": package.active, "stripe_product_id": package.stripe_product_id,
            "stripe_price_id": package.stripe_price_id,
            "stripe_synced": bool(package.stripe_price_id)
            and package.stripe_price_spec == price_spec(package)}


def _flag(flag: PaymentFlag) -> dict:
    return {"id": flag.id, "user_id": flag.user_id, "payment_id": flag.payment_id,
            "kind": flag.kind, "reference": flag.reference,
            "shortfall_credits": flag.shortfall_credits, "details": flag.details,
            "created_at": flag.created_at, "resolved_at": flag.resolved_at}


def _run(run: ReconciliationRun) -> dict:
    return {"id": run.id, "trigger": run.trigger, "status": run.status,
            "lookback_hours": run.lookback_hours, "started_at": run.started_at,
            "finished_at": run.finished_at, "sessions_seen": run.sessions_seen,
            "fixed": run.fixed, "expired": run.expired, "mismatches": json.loads(run.mismatches),
            "error": run.error}


@bp.get("/packages")
@require_auth("support", api_key=False)
@bp.output(AdminPackagesOut)
@bp.doc(summary="Every credit package, active or not, with its Stripe ids")
def packages() -> dict:
    return {"items": [_package(p) for p in admin.all_packages()]}


@bp.post("/packages")
@require_auth("admin", api_key=False)
@bp.input(PackageCreateIn, arg_name="body")
@bp.output(AdminPackageChanged, status_code=201)
@bp.doc(summary="Add a credit package", responses=[201, 409, 422])
def create_package(body: dict) -> dict:
    slug = body.pop("id")
    return _package(admin.create_package(slug, body, **_actor()))


@bp.patch("/packages/<slug>")
@require_auth("admin", api_key=False)
@bp.input(PackageUpdateIn, arg_name="body")
@bp.output(AdminPackageChanged)
@bp.doc(summary="Edit a credit package (past payments keep what they bought)",
        responses=[200, 404, 422])
def update_package(slug: str, body: dict) -> dict:
    return _package(admin.update_package(slug, body, **_actor()))


@bp.get("/flags")
@require_auth("support", api_key=False)
@bp.input(FlagsQuery, location="query", arg_name="query")
@bp.output(FlagsOut)
@bp.doc(summary="Disputes and refunds the user had already spent, newest first")
def flags(query: dict) -> dict:
    return {"items": [_flag(f) for f in admin.list_flags(
        include_resolved=query["include_resolved"], limit=query["limit"])]}


@bp.post("/flags/<int:flag_id>/resolve")
@require_auth("admin", api_key=False)
@bp.output(FlagResolved)
@bp.doc(summary="Mark a flag as dealt with", responses=[200, 404])
def resolve_flag(flag_id: int) -> dict:
    return _flag(admin.resolve_flag(flag_id, **_actor()))


@bp.get("/reconciliations")
@require_auth("support", api_key=False)
@bp.input(RunsQuery, location="query", arg_name="query")
@bp.output(RunsOut)
@bp.doc(summary="Reconciliation reports, newest first")
def reconciliations(query: dict) -> dict:
    return {"items": [_run(r) for r in admin.recent_reconciliations(query["limit"])]}
