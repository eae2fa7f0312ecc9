"""Stripe for tests: `localstripe` on 127.0.0.1, a fake for what it lacks, and signed events."""

from tests.fake_stripe.localstripe_server import LocalStripe
from tests.fake_stripe.server import FakeStripe
from tests.fake_stripe.webhooks import sign, signed_event

__all__ = ["FakeStripe", "LocalStripe", "sign", "signed_event"]
