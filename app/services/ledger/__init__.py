"""The credit ledger: the only code that changes a balance.

Every movement is one journal entry with a unique idempotency key, written in one transaction
with the account row locked; a replay returns the first result and moves nothing; nothing
takes the balance or the available amount (balance − held) below zero. See
docs/credits.md for the unit and the invariants.
"""

from app.services.ledger.accounts import get_balance
from app.services.ledger.adjustments import Adjustment, adjust_credits
from app.services.ledger.errors import (
    AccountNotFound,
    HoldAlreadySettled,
    HoldNotFound,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidMovement,
)
from app.services.ledger.holds import (
    place_hold,
    release_expired_holds,
    release_hold,
    settle_hold,
)
from app.services.ledger.movements import credit, debit
from app.services.ledger.results import Balance, HoldResult, Movement
from app.services.ledger.units import CREDITS_PER_USD, charge_credits, credits_for_cents
from app.transactions import write_transaction as transaction

__all__ = [
    "CREDITS_PER_USD", "charge_credits", "credits_for_cents",
    "AccountNotFound", "Adjustment", "Balance", "HoldAlreadySettled", "HoldNotFound",
    "HoldResult", "IdempotencyKeyReused", "InsufficientCredits", "InvalidMovement", "Movement",
    "adjust_credits", "credit", "debit", "get_balance", "place_hold", "release_expired_holds",
    "release_hold", "settle_hold", "transaction",
]
