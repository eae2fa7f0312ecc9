"""Accounts: created on a user's first movement, read through the balance cache."""

from __future__ import annotations

from peewee import IntegrityError

from app.extensions import db
from app.models.base import utcnow
from app.models.ledger import CreditAccount
from app.services.ledger.cache import CommandWriter, current_balance_cache
from app.services.ledger.errors import AccountNotFound
from app.services.ledger.locking import lock_account
from app.services.ledger.results import Balance


def get_balance(user_id: int) -> Balance:
    """Balance, held and available; never older than the last ledger write that returned."""
    return current_balance_cache().get(user_id, lambda: load_balance(user_id))


def load_balance(user_id: int) -> Balance:
    row = (CreditAccount.select(CreditAccount.balance, CreditAccount.held)
           .where(CreditAccount.user == user_id).tuples().first())
    return Balance.of(*row) if row else Balance.of(0, 0)


def create_account(user_id: int) -> None:
    """Create the user's account if it does not exist yet.

    Race-free: concurrent first movements all run `INSERT … ON CONFLICT DO NOTHING` on the
    primary key (the user id), so exactly one row results.
    """
    try:
        (CreditAccount.insert(user=user_id, balance=0, held=0, updated_at=utcnow())
         .on_conflict(conflict_target=[CreditAccount.user], action="NOTHING").execute())
    except IntegrityError:
        raise AccountNotFound(f"no user with id {user_id}") from None


def open_account(user_id: int) -> CreditAccount:
    """Lock the user's account (see `lock_account`), creating it on the first movement."""
    account = lock_account(user_id)
    if account is None:
        create_account(user_id)
        account = lock_account(user_id)
    if account is None:  # created above, or by a concurrent first movement
        raise RuntimeError(f"the credit account of user {user_id} vanished while opening it")
    return account


def invalidate_after_commit(user_id: int, writer: CommandWriter | None = None) -> None:
    """Bump the account's cached balance version once the outermost transaction commits,
    through `writer` if the caller was handed one (a request's pending writes), else at once."""
    cache = current_balance_cache()
    db.after_commit(lambda: cache.invalidate(user_id, writer=writer))
