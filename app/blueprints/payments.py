"""Payments API: credit packages, Stripe Checkout, the Stripe webhook, and payment history."""

from __future__ import annotations

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Integer, List, Nested, String
from apiflask.validators import Length, Range, Regexp
from flask import request

from app.blueprints.fields import UtcDateTime
from app.models.payments import CreditPackage, LowBalanceAlert, Payment
from app.security import current_principal, public, require_auth
from app.services.payments.checkout import start_checkout
from app.services.payments.history import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, list_payments
from app.services.payments.notifications import low_balance_alert, set_low_balance_threshold
from app.services.payments.packages import active_packages
from app.services.payments.webhooks import handle_webhook

bp = APIBlueprint("payments", __name__, tag="Payments", url_prefix="/api/payments")


class PackageOut(Schema):
    id = String(required=True, metadata={"description": "the package's id, e.g. `starter`"})
    name = String(required=True)
    credits = Integer(required=True, metadata={"description": "credits bought (1 credit = "
                                                              "US$0.00001)"})
    price_cents = Integer(required=True)
    currency = String(required=True)


class PackagesOut(Schema):
    items = List(Nested(PackageOut), required=True)


class CheckoutIn(Schema):
    package = String(required=True, validate=Length(min=1, max=40))
    success_url = String(required=True, validate=Length(min=1, max=2048))
    cancel_url = String(required=True, validate=Length(min=1, max=2048))


class CheckoutOut(Schema):
    checkout_url = String(required=True)
    session_id = String(required=True)


class PaymentOut(Schema):
    id = Integer(required=True)
    package = String(required=True)
    status = String(required=True, metadata={
        "description": "pending, paid, failed, expired, partially_refunded, refunded or disputed"})
    amount_cents = Integer(required=True)
    currency = String(required=True)
    credits = Integer(required=True)
    created_at = UtcDateTime(required=True)
    receipt_url = String(metadata={"description": "Stripe's receipt, when there is one"})


class PaymentsQuery(Schema):
    cursor = String(validate=Regexp(r"^\d{1,18}$", error="not a cursor from next_cursor"))
    limit = Integer(load_default=DEFAULT_PAGE_SIZE, validate=Range(min=1, max=MAX_PAGE_SIZE))


class PaymentsOut(Schema):
    items = List(Nested(PaymentOut), required=True)
    next_cursor = String(allow_none=True, required=True)


class LowBalanceIn(Schema):
    threshold_credits = Integer(required=True, validate=Range(min=0, max=10**12), metadata={
        "description": "e-mail me when my available credits fall below this; 0 turns it off"})


class LowBalanceOut(Schema):
    threshold_credits = Integer(required=True)
    armed = Boolean(required=True, metadata={
        "description": "true when the next fall below the threshold will send an e-mail "
                       "(false while already below it and told, or when turned off)"})


class WebhookOut(Schema):
    received = Boolean(required=True)
    duplicate = Boolean(required=True)


def _package(package: CreditPackage) -> dict:
    return {"id": package.slug, "name": package.name, "credits": package.amount_credits,
            "price_cents": package.price_cents, "currency": package.currency}


def _payment(payment: Payment) -> dict:
    shaped = {"id": payment.id, "package": payment.package_slug, "status": payment.status,
              "amount_cents": payment.amount_cents, "currency": payment.currency,
              "credits": payment.amount_credits, "created_at": payment.created_at}
    if payment.receipt_url:
        shaped["receipt_url"] = payment.receipt_url
    return shaped


@bp.get("/packages")
@public
@bp.output(PackagesOut)
@bp.doc(summary="Credit packages for sale")
def packages() -> dict:
    return {"items": [_package(p) for p in active_packages()]}


@bp.post("/checkout")
@require_auth(api_key=False, verified=True)
@bp.input(CheckoutIn, arg_name="body")
@bp.output(CheckoutOut)
@bp.doc(summary="Start buying a package: a Stripe Checkout Session to redirect the user to",
        responses=[200, 401, 403, 422, 502, 503])
def checkout(body: dict) -> dict:
    started = start_checkout(current_principal().user, body["package"],
                             success_url=body["success_url"], cancel_url=body["cancel_url"])
    return {"checkout_url": started.checkout_url, "session_id": started.session_id}


@bp.post("/webhook")
@public
@bp.output(WebhookOut)
@bp.doc(summary="Stripe webhook (verified with the Stripe-Signature header)",
        description="Answers 2xx once the event's work is committed (or for a duplicate or an "
                    "ignored event type); 400 for a bad signature; 5xx makes Stripe retry.",
        responses=[200, 400, 500, 502, 503])
def webhook() -> dict:
    outcome = handle_webhook(request.get_data(cache=False),
                             request.headers.get("Stripe-Signature"))
    return {"received": True, "duplicate": outcome.duplicate}


@bp.get("")
@require_auth(api_key=False)
@bp.input(PaymentsQuery, location="query", arg_name="query")
@bp.output(PaymentsOut)
@bp.doc(summary="Your payments, newest first")
def history(query: dict) -> dict:
    page = list_payments(current_principal().user.id, cursor=query.get("cursor"),
                         limit=query["limit"])
    return {"items": [_payment(p) for p in page.items], "next_cursor": page.next_cursor}


def _alert(alert: LowBalanceAlert | None) -> dict:
    threshold = alert.threshold_credits if alert else 0
    return {"threshold_credits": threshold,
            "armed": bool(threshold) and alert is not None and alert.notified_at is None}


@bp.get("/low-balance-alert")
@require_auth(api_key=False)
@bp.output(LowBalanceOut)
@bp.doc(summary="Your low-balance e-mail threshold")
def get_low_balance_alert() -> dict:
    return _alert(low_balance_alert(current_principal().user.id))


@bp.put("/low-balance-alert")
@require_auth(api_key=False)
@bp.input(LowBalanceIn, arg_name="body")
@bp.output(LowBalanceOut)
@bp.doc(summary="Set your low-balance e-mail threshold (sent once each time credits fall "
                "below it)")
def put_low_balance_alert(body: dict) -> dict:
    return _alert(set_low_balance_threshold(current_principal().user.id,
                                            body["threshold_credits"]))
