"""Ledger errors, named for the condition; `app.errors` maps them to HTTP once."""

from __future__ import annotations

from app.errors import Conflict, HubError, NotFound


class InsufficientCredits(HubError):
    """Not enough available credits for this."""

    http_status = 402
    code = "insufficient_credits"


class IdempotencyKeyReused(Conflict):
    """This idempotency key was already used for a different movement."""

    code = "idempotency_key_reused"


class InvalidMovement(HubError):
    """The amount or kind of a movement is not valid."""

    http_status = 422
    code = "invalid_movement"


class HoldNotFound(NotFound):
    """No such hold."""

    code = "hold_not_found"


class HoldAlreadySettled(Conflict):
    """The hold was settled; a settled hold cannot be released."""

    code = "hold_already_settled"


class AccountNotFound(NotFound):
    """No such user."""

    code = "user_not_found"
