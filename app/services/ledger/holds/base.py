"""The interface of the hold steps each database implements (`HoldStore`), and the steps on
hold rows both share (a replay's answer, the account's `held`, the hold locked through its
account)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from app.models.base import utcnow
from app.models.ledger import CreditAccount, CreditHold
from app.services.ledger.accounts import invalidate_after_commit
from app.services.ledger.cache import CommandWriter
from app.services.ledger.errors import HoldNotFound, IdempotencyKeyReused
from app.services.ledger.locking import lock_account
from app.services.ledger.results import HoldResult, Movement


class HoldStore(ABC):
    """Placing and settling a hold: every job's path. The arguments are validated already."""

    @abstractmethod
    def place_hold(self, user_id: int, amount_credits: int, *, idempotency_key: str,
                   purpose: str, reference: str, expires_in_s: int,
                   within: Callable[[], None] | None,
                   writer: CommandWriter | None) -> HoldResult:
        """Reserve `amount_credits` of the available credits (InsufficientCredits if short),
        with the account row locked; `within` runs once the hold is decided, before commit,
        in the same transaction (if it raises, nothing is held). A replay of the same key for
        the same account and amount returns the existing hold without calling `within`; for
        another, IdempotencyKeyReused. `writer`: what the balance cache's bump goes through."""

    @abstractmethod
    def settle_hold(self, hold_id: int, actual_credits: int, memo: str,
                    writer: CommandWriter | None) -> Movement:
        """Charge `actual_credits` as one `usage` entry and drop the hold, exactly once (a
        second call returns the first movement, replayed). Beyond the hold, the excess comes
        from the available balance as far as it goes, the rest is the shortfall; an expired
        (released) hold is charged wholly from the available balance. HoldNotFound if there is
        no such hold. `writer`: what the balance cache's bump goes through."""


def replay(key: str, hold_id: int, account_id: int, amount: int, status: str, user_id: int,
           amount_credits: int) -> HoldResult:
    """The answer to a hold placed again under `key`: the existing hold, if for the same
    account and amount."""
    if (account_id, amount) != (user_id, amount_credits):
        raise IdempotencyKeyReused(f"idempotency key {key!r} was already used for another hold")
    return HoldResult(hold_id=hold_id, user_id=user_id, amount_credits=amount, status=status,
                      replayed=True)


def hold_replay(hold: CreditHold, user_id: int, amount_credits: int) -> HoldResult:
    return replay(hold.idempotency_key, hold.id, hold.account_id, hold.amount_credits,
                  hold.status, user_id, amount_credits)


def set_held(account: CreditAccount, held: int, writer: CommandWriter | None = None) -> None:
    stamp = max(utcnow(), account.updated_at)
    (CreditAccount.update(held=held, updated_at=stamp)
     .where(CreditAccount.user == account.user_id).execute())
    account.held, account.updated_at = held, stamp
    invalidate_after_commit(account.user_id, writer)


def locked_hold(hold_id: int) -> tuple[CreditAccount, CreditHold]:
    """Lock the hold's account, then read the hold: every change to a hold holds that lock."""
    account_id = (CreditHold.select(CreditHold.account).where(CreditHold.id == hold_id)
                  .scalar())
    if account_id is None:
        raise HoldNotFound(f"no hold with id {hold_id}")
    account = lock_account(account_id)
    return account, CreditHold.get_by_id(hold_id)
