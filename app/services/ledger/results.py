"""What the ledger service returns: plain frozen values, safe to log, cache and compare."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Balance:
    balance: int
    held: int
    available: int

    @classmethod
    def of(cls, balance: int, held: int) -> Balance:
        return cls(balance=balance, held=held, available=balance - held)


@dataclass(frozen=True)
class Movement:
    """The result of credit/debit/settle; a replay returns the first result with replayed=True."""

    entry_id: int | None
    user_id: int
    amount_credits: int  # signed amount actually moved
    balance: int
    held: int
    available: int
    replayed: bool
    shortfall_credits: int = 0  # what could not be taken (partial debit, settle beyond balance)


@dataclass(frozen=True)
class HoldResult:
    hold_id: int
    user_id: int
    amount_credits: int
    status: str
    replayed: bool
