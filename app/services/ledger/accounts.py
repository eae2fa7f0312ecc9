"""Accounts: created on a user's first movement, read through the balance cache."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

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


# The writer a caller chose for the bumps of the ledger writes it makes (`cache_writes_through`).
_bump_writer: ContextVar[CommandWriter | None] = ContextVar("ledger_bump_writer", default=None)


@contextmanager
def cache_writes_through(writer: CommandWriter | None) -> Iterator[None]:
    """The balance-cache bumps of the ledger writes made in this block go through `writer`
    (None: each at once). Set by the caller that was handed the writer (a job opened or
    settled for a request, `app.jobs`), around calls that reach the ledger several layers
    down; a parameter the ledger never looks anywhere else for."""
    token = _bump_writer.set(writer)
    try:
        yield
    finally:
        _bump_writer.reset(token)


def invalidate_after_commit(user_id: int) -> None:
    """Bump the account's cached balance version once the outermost transaction commits."""
    cache, writer = current_balance_cache(), _bump_writer.get()
    db.after_commit(lambda: cache.invalidate(user_id, writer=writer))
