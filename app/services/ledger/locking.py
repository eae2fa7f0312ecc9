"""The ledger's row lock: an account's row is locked before anything about it is decided, so
concurrent movements of one account queue while other accounts proceed in parallel (holds,
settles, releases, partial debits, promo redemptions, adjustments; plain credits and debits run
as one statement instead: see `statements`). How each database locks: `app.transactions`.
"""

from __future__ import annotations

from app.models.ledger import CreditAccount
from app.transactions import locked


def lock_account(user_id: int) -> CreditAccount | None:
    return locked(CreditAccount.select().where(CreditAccount.user == user_id)).get_or_none()
