"""Payments with Stripe Checkout: packages, checkout, webhook handling, refunds and disputes.

Money in becomes credits exactly once: every credit and reversal goes through the ledger with
an idempotency key derived from the Stripe object (`stripe:checkout:<session_id>`,
`stripe:refund:<refund_or_charge_id>`), under a row lock on the payment, so duplicated,
reordered or missing webhooks and the reconciliation job can all race safely.
"""
