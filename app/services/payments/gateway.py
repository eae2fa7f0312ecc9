"""The Stripe adapter: the hub's payment questions translated into official `stripe` SDK calls.

It translates and decides nothing: every answer is returned as a plain dict in Stripe's JSON
shape, and every Stripe failure becomes `PaymentProviderError` (a 5xx, so a webhook that needed
Stripe is retried by Stripe later). It refuses to be called inside a database transaction:
whatever the transaction had locked would stay locked while Stripe answers (or times out).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import stripe
import structlog

from app.extensions import db
from app.services.payments.errors import PaymentProviderError, PaymentsNotConfigured
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)

DEFAULT_NETWORK_RETRIES = 2  # the SDK retries POSTs with their idempotency key, so it is safe
PAGE_SIZE = 100  # Stripe's largest page

T = TypeVar("T")


@functools.lru_cache(maxsize=8)
def _client(api_key: str, api_base: str) -> stripe.StripeClient:
    base = {"api": api_base} if api_base else None
    return stripe.StripeClient(api_key, base_addresses=base,  # type: ignore[arg-type]
                               max_network_retries=DEFAULT_NETWORK_RETRIES)


class StripeCallInTransaction(RuntimeError):
    """A programming error: Stripe was about to be called with a database transaction open."""


def stripe_client() -> stripe.StripeClient:
    """The SDK client for the configured key and API base; 503 when no key is configured."""
    if db.in_transaction():
        raise StripeCallInTransaction(
            "Stripe must be asked before the transaction, not while it holds its locks")
    settings = current_settings()
    if not settings.STRIPE_SECRET_KEY:
        raise PaymentsNotConfigured()
    return _client(settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE)


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if isinstance(obj, stripe.StripeObject) else dict(obj)


def _call(what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except stripe.StripeError as exc:
        log.warning("stripe_call_failed", call=what, error=type(exc).__name__,
                    status=exc.http_status, message=exc.user_message or str(exc))
        raise PaymentProviderError(
            f"Stripe could not {what}: {exc.user_message or type(exc).__name__}") from exc


def create_checkout_session(params: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
    client = stripe_client()
    return _plain(_call("create the checkout session", lambda: client.v1.checkout.sessions.create(
        params=params, options={"idempotency_key": idempotency_key})))  # type: ignore[arg-type]


def retrieve_checkout_session(session_id: str) -> dict[str, Any]:
    client = stripe_client()
    return _plain(_call("retrieve the checkout session",
                        lambda: client.v1.checkout.sessions.retrieve(session_id)))


def iter_checkout_sessions(*, created_gte: int) -> Iterator[dict[str, Any]]:
    """Every Checkout Session created at or after `created_gte` (unix seconds), all pages."""
    client = stripe_client()
    params: dict[str, Any] = {"created": {"gte": created_gte}, "limit": PAGE_SIZE}
    while True:
        page = _call("list checkout sessions",
                     lambda p=dict(params): client.v1.checkout.sessions.list(params=p))
        yield from (_plain(session) for session in page.data)
        if not page.has_more or not page.data:
            return
        params["starting_after"] = page.data[-1].id


def find_checkout_session_for_payment_intent(payment_intent_id: str) -> dict[str, Any] | None:
    client = stripe_client()
    page = _call("find the checkout session", lambda: client.v1.checkout.sessions.list(
        params={"payment_intent": payment_intent_id, "limit": 1}))
    return _plain(page.data[0]) if page.data else None


def list_refunds(charge_id: str) -> list[dict[str, Any]]:
    """Every refund of a charge, oldest first (ties broken by id, so the order is stable)."""
    client = stripe_client()
    refunds: list[dict[str, Any]] = []
    params: dict[str, Any] = {"charge": charge_id, "limit": PAGE_SIZE}
    while True:
        page = _call("list the refunds", lambda p=dict(params): client.v1.refunds.list(params=p))
        refunds.extend(_plain(refund) for refund in page.data)
        if not page.has_more or not page.data:
            break
        params["starting_after"] = page.data[-1].id
    return sorted(refunds, key=lambda r: (r.get("created") or 0, r["id"]))


def retrieve_receipt(payment_intent_id: str) -> tuple[str | None, str | None]:
    """(charge id, receipt URL) of a payment intent's latest charge, either may be None."""
    client = stripe_client()
    intent = _plain(_call("retrieve the payment", lambda: client.v1.payment_intents.retrieve(
        payment_intent_id, params={"expand": ["latest_charge"]})))
    charge = intent.get("latest_charge")
    if isinstance(charge, dict):
        return charge.get("id"), charge.get("receipt_url")
    return charge, None


def upsert_product(product_id: str, *, name: str, active: bool,
                   metadata: dict[str, str]) -> dict[str, Any]:
    """Create the Product with our own id, or update its name and state if it exists."""
    client = stripe_client()
    params = {"name": name, "active": active, "metadata": metadata}
    try:
        client.v1.products.retrieve(product_id)
    except stripe.InvalidRequestError as exc:
        if exc.http_status != 404:
            raise PaymentProviderError(f"Stripe refused the product {product_id}: {exc}") from exc
        return _plain(_call("create the product", lambda: client.v1.products.create(
            params={"id": product_id, **params})))  # type: ignore[arg-type]
    except stripe.StripeError as exc:
        raise PaymentProviderError(f"Stripe could not retrieve the product: {exc}") from exc
    return _plain(_call("update the product", lambda: client.v1.products.update(
        product_id, params=params)))  # type: ignore[arg-type]


def create_price(*, product_id: str, unit_amount: int, currency: str,
                 metadata: dict[str, str]) -> dict[str, Any]:
    client = stripe_client()
    return _plain(_call("create the price", lambda: client.v1.prices.create(params={
        "product": product_id, "unit_amount": unit_amount, "currency": currency,
        "metadata": metadata})))  # type: ignore[arg-type]


def deactivate_price(price_id: str) -> None:
    client = stripe_client()
    _call("deactivate the old price",
          lambda: client.v1.prices.update(price_id, params={"active": False}))
