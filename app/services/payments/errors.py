"""Errors of the payments area, named for the condition."""

from __future__ import annotations

from app.errors import HubError


class PaymentsNotConfigured(HubError):
    """Payments are not configured on this hub: the operator has not set STRIPE_SECRET_KEY."""

    http_status = 503
    code = "payments_not_configured"


class WebhookNotConfigured(HubError):
    """Stripe webhooks are not configured on this hub: set STRIPE_WEBHOOK_SECRET."""

    http_status = 503
    code = "payments_not_configured"


class WebhookSignatureInvalid(HubError):
    """The Stripe-Signature header is missing, wrong, or too old."""

    http_status = 400
    code = "invalid_signature"


class WebhookPayloadInvalid(HubError):
    """The webhook body is not a Stripe event (a JSON object with an id, a type and a
    data.object)."""

    http_status = 400
    code = "invalid_payload"


class UnknownPackage(HubError):
    """No active credit package has this id."""

    http_status = 422
    code = "unknown_package"


class RedirectNotAllowed(HubError):
    """The URL does not belong to an allowed origin."""

    http_status = 422
    code = "redirect_not_allowed"


class PaymentProviderError(HubError):
    """Stripe could not be reached or refused the request; try again shortly."""

    http_status = 502
    code = "payment_provider_error"
