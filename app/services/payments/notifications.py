"""E-mails about money: a receipt once a purchase is credited, a notice when a refund or dispute
takes credits back, and the user's low-balance alert (once per downward crossing).

Every mail goes through the accounts area's `send_mail` actor, and only after the transaction
that moved the credits has committed (`db.after_commit`), so rolled-back work mails nothing.
"""

from __future__ import annotations

import structlog

from app import dispatch
from app.extensions import db
from app.models.base import utcnow
from app.models.payments import LowBalanceAlert, Payment
from app.models.users import User
from app.services import ledger
from app.transactions import locked, write_transaction

log = structlog.get_logger(__name__)


def money(cents: int, currency: str) -> str:
    """`2000, "usd"` → `20.00 USD` (integers only; display, never arithmetic)."""
    return f"{cents // 100}.{cents % 100:02d} {currency.upper()}"


def _send(to: str, template: str, context: dict) -> None:
    dispatch.send("mail.send_mail", to, template, context)


def send_receipt(payment_id: int) -> None:
    payment = Payment.get_by_id(payment_id)
    user = User.get_by_id(payment.user_id)
    _send(user.email, "payment_receipt", {
        "name": user.name, "package": payment.package_name,
        "credits": f"{payment.amount_credits:,}",
        "amount": money(payment.amount_cents, payment.currency),
        "receipt_url": payment.receipt_url or "",
        "balance": f"{ledger.get_balance(user.id).balance:,}"})
    log.info("payment_receipt_queued", payment_id=payment_id, user_id=user.id)


def send_reversal_notice(payment_id: int, *, kind: str, reversed_credits: int,
                         shortfall_credits: int) -> None:
    payment = Payment.get_by_id(payment_id)
    user = User.get_by_id(payment.user_id)
    _send(user.email, "credits_reversed", {
        "name": user.name, "kind": kind, "package": payment.package_name,
        "amount": money(payment.amount_cents, payment.currency),
        "reversed_credits": f"{reversed_credits:,}",
        "taken_credits": f"{reversed_credits - shortfall_credits:,}",
        "shortfall_credits": f"{shortfall_credits:,}" if shortfall_credits else "",
        "balance": f"{ledger.get_balance(user.id).balance:,}"})
    log.info("reversal_notice_queued", payment_id=payment_id, user_id=user.id, kind=kind)


def set_low_balance_threshold(user_id: int, threshold_credits: int) -> LowBalanceAlert:
    """Set (0: turn off) the threshold. Mail goes out when the balance *falls* below it, so a
    balance already below the new threshold counts as told until it rises back."""
    with write_transaction():
        LowBalanceAlert.insert(user=user_id).on_conflict_ignore().execute()
        alert = locked(LowBalanceAlert.select().where(LowBalanceAlert.user == user_id)).get()
        available = ledger.get_balance(user_id).available
        alert.threshold_credits = threshold_credits
        alert.notified_at = utcnow() if threshold_credits and available < threshold_credits \
            else None
        alert.updated_at = utcnow()
        alert.save()
    return alert


def low_balance_alert(user_id: int) -> LowBalanceAlert | None:
    return LowBalanceAlert.get_or_none(LowBalanceAlert.user == user_id)


def check_low_balance(user_id: int) -> bool:
    """Mail the user if available credits fell below their threshold since the last mail;
    re-arm the alert once they are back at or above it. True if a mail was queued."""
    with write_transaction():
        alert = locked(LowBalanceAlert.select().where(LowBalanceAlert.user == user_id)).first()
        if alert is None or alert.threshold_credits <= 0:
            return False
        available = ledger.get_balance(user_id).available
        if available >= alert.threshold_credits:
            if alert.notified_at is not None:
                alert.notified_at = None
                alert.save()
            return False
        if alert.notified_at is not None:
            return False
        alert.notified_at = utcnow()
        alert.save()
        user = User.get_by_id(user_id)
        context = {"name": user.name, "available": f"{available:,}",
                   "threshold": f"{alert.threshold_credits:,}"}
        db.after_commit(lambda: _send(user.email, "low_balance", context))
    log.info("low_balance_alert_queued", user_id=user_id, available=available,
             threshold_credits=alert.threshold_credits)
    return True


def check_all_low_balances(batch_size: int = 500) -> int:
    """The periodic sweep (balances also fall through usage, which this area does not see)."""
    sent, last_id = 0, 0
    while True:
        user_ids = [row.user_id for row in LowBalanceAlert.select(LowBalanceAlert.user)
                    .where((LowBalanceAlert.threshold_credits > 0)
                           & (LowBalanceAlert.user > last_id))
                    .order_by(LowBalanceAlert.user).limit(batch_size)]
        if not user_ids:
            return sent
        for user_id in user_ids:
            sent += check_low_balance(user_id)
        last_id = user_ids[-1]
