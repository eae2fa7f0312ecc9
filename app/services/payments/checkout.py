"""Starting a purchase: a Stripe Checkout Session in payment mode and a `pending` payment."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog

from app.models.payments import CreditPackage, Payment
from app.models.users import User
from app.security.redirects import url_origin
from app.services.payments import gateway
from app.services.payments.errors import PaymentsNotConfigured, RedirectNotAllowed
from app.services.payments.packages import active_package, price_spec
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CheckoutStarted:
    checkout_url: str
    session_id: str
    payment_id: int


def check_redirect(field: str, url: str) -> None:
    """Refuse a redirect that leaves the hub's allowed origins (an open-redirect guard)."""
    allowed = current_settings().allowed_redirect_origins
    if url_origin(url) not in allowed:
        raise RedirectNotAllowed(f"{field}: must start with an allowed origin "
                                 f"({', '.join(allowed)})")


def session_metadata(user: User, package: CreditPackage) -> dict[str, str]:
    """What the session carries so a webhook or reconciliation can credit it without our row."""
    return {"hub_user_id": str(user.id), "package": package.slug,
            "credits": str(package.amount_credits)}


def _line_item(package: CreditPackage) -> dict:
    if package.stripe_price_id and package.stripe_price_spec == price_spec(package):
        return {"price": package.stripe_price_id, "quantity": 1}
    # Not synced yet (or edited since): charge the package's current price inline.
    product = {"product": package.stripe_product_id} if package.stripe_product_id else \
        {"product_data": {"name": f"{package.name} credits"}}
    return {"price_data": {"currency": package.currency, "unit_amount": package.price_cents,
                           **product}, "quantity": 1}


def start_checkout(user: User, package_slug: str, *, success_url: str,
                   cancel_url: str) -> CheckoutStarted:
    if not current_settings().payments_enabled:
        raise PaymentsNotConfigured()
    package = active_package(package_slug)
    check_redirect("success_url", success_url)
    check_redirect("cancel_url", cancel_url)
    metadata = session_metadata(user, package)
    session = gateway.create_checkout_session({
        "mode": "payment",
        "line_items": [_line_item(package)],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(user.id),
        "customer_email": user.email,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
    }, idempotency_key=f"hub-checkout-{user.id}-{uuid.uuid4().hex}")
    # A racing webhook or reconciliation may already have made the row from the metadata.
    Payment.insert(
        user=user, package_slug=package.slug, package_name=package.name,
        amount_cents=session.get("amount_total") or package.price_cents,
        currency=session.get("currency") or package.currency,
        amount_credits=package.amount_credits, stripe_session_id=session["id"],
    ).on_conflict_ignore().execute()
    payment = Payment.get(Payment.stripe_session_id == session["id"])
    log.info("checkout_started", user_id=user.id, package=package.slug, payment_id=payment.id,
             session_id=session["id"])
    return CheckoutStarted(session["url"], session["id"], payment.id)
