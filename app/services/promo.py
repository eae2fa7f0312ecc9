"""Promo codes: created by operators, redeemed once per user, atomically within their limit.

A redemption locks the code's row, checks it, credits the user through the ledger (key
`promo:<code id>:user:<user id>`), records the redemption and counts it, in one transaction:
the last slot cannot be taken twice and a user cannot redeem twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import structlog
from peewee import IntegrityError

from app.errors import Conflict, HubError, NotFound
from app.extensions import db
from app.models.base import INTEGER_MAX, utcnow
from app.models.promo import PromoCode, PromoRedemption
from app.services import audit
from app.services.ledger import Movement, credit
from app.services.ledger.movements import MAX_AMOUNT_CREDITS
from app.transactions import locked, write_transaction

log = structlog.get_logger(__name__)

CODE_PATTERN = re.compile(r"^[A-Z0-9][A-Z0-9_-]{2,63}$")


class PromoCodeNotFound(NotFound):
    """No such promo code."""

    code = "promo_code_not_found"


class PromoCodeExpired(HubError):
    """This promo code has expired."""

    http_status = 410
    code = "promo_code_expired"


class PromoCodeNotYetValid(HubError):
    """This promo code is not valid yet."""

    http_status = 409
    code = "promo_code_not_yet_valid"


class PromoCodeExhausted(HubError):
    """This promo code has been redeemed as many times as it allows."""

    http_status = 410
    code = "promo_code_exhausted"


class PromoCodeAlreadyRedeemed(Conflict):
    """You have already redeemed this promo code."""

    code = "promo_code_already_redeemed"


class PromoCodeInvalid(HubError):
    """The promo code's definition is not valid."""

    http_status = 422
    code = "promo_code_invalid"


class PromoCodeExists(Conflict):
    """A promo code with this name exists already."""

    code = "promo_code_exists"


@dataclass(frozen=True)
class Redemption:
    code: str
    amount_credits: int
    movement: Movement


def normalize(code: str) -> str:
    return code.strip().upper()


def create_promo_code(code: str, amount_credits: int, *, max_redemptions: int,
                      valid_from: datetime | None = None, valid_until: datetime | None = None,
                      created_by: int | None, actor_label: str) -> PromoCode:
    """Create a code (letters, digits, `-` and `_`; 3 to 64 characters; case-insensitive),
    audited as created by `created_by` (None: the operator CLI) named `actor_label`."""
    name = normalize(code)
    if not CODE_PATTERN.match(name):
        raise PromoCodeInvalid("code: 3 to 64 letters, digits, '-' or '_'")
    if not 0 < amount_credits <= MAX_AMOUNT_CREDITS:
        raise PromoCodeInvalid(f"amount_credits: must be between 1 and {MAX_AMOUNT_CREDITS}")
    if not 1 <= max_redemptions <= INTEGER_MAX:
        raise PromoCodeInvalid(f"max_redemptions: must be between 1 and {INTEGER_MAX}")
    if valid_from and valid_until and valid_until <= valid_from:
        raise PromoCodeInvalid("valid_until: must be after valid_from")
    definition = {"code": name, "amount_credits": amount_credits,
                  "max_redemptions": max_redemptions, "valid_from": valid_from,
                  "valid_until": valid_until}
    try:
        with db.atomic():
            promo = PromoCode.create(created_by=created_by, **definition)
            audit.record(actor_id=created_by, actor_label=actor_label, action="promo.create",
                         target_type="promo_code", target_id=promo.id, before={},
                         after=definition)
    except IntegrityError:
        raise PromoCodeExists(f"the promo code {name} exists already") from None
    log.info("promo_code_created", code=name, amount_credits=amount_credits,
             max_redemptions=max_redemptions, created_by=created_by)
    return promo


def redeem_promo_code(user_id: int, code: str) -> Redemption:
    """Credit the code's amount to the user, once per user, within the code's limit."""
    name = normalize(code)
    with write_transaction():
        promo = locked(PromoCode.select().where(PromoCode.code == name)).get_or_none()
        if promo is None:
            raise PromoCodeNotFound(f"there is no promo code {name}")
        _check_redeemable(promo, user_id)
        movement = credit(user_id, promo.amount_credits, kind="promo",
                          idempotency_key=f"promo:{promo.id}:user:{user_id}",
                          reference=f"promo:{promo.code}", memo=f"promo code {promo.code}")
        PromoRedemption.create(promo=promo.id, user=user_id, entry=movement.entry_id)
        (PromoCode.update(redemptions=PromoCode.redemptions + 1)
         .where(PromoCode.id == promo.id).execute())
    log.info("promo_code_redeemed", code=name, user_id=user_id,
             amount_credits=promo.amount_credits, entry_id=movement.entry_id)
    return Redemption(code=promo.code, amount_credits=promo.amount_credits, movement=movement)


def _check_redeemable(promo: PromoCode, user_id: int) -> None:
    now = utcnow()
    if not promo.is_active:
        raise PromoCodeExpired(f"the promo code {promo.code} is no longer active")
    if promo.valid_until is not None and now >= promo.valid_until:
        raise PromoCodeExpired(f"the promo code {promo.code} expired on "
                               f"{promo.valid_until.isoformat(timespec='seconds')}Z")
    if promo.valid_from is not None and now < promo.valid_from:
        raise PromoCodeNotYetValid(f"the promo code {promo.code} is valid from "
                                   f"{promo.valid_from.isoformat(timespec='seconds')}Z")
    redeemed = PromoRedemption.select().where((PromoRedemption.promo == promo.id) &
                                              (PromoRedemption.user == user_id)).exists()
    if redeemed:
        raise PromoCodeAlreadyRedeemed(f"you have already redeemed {promo.code}")
    if promo.redemptions >= promo.max_redemptions:
        raise PromoCodeExhausted(f"the promo code {promo.code} has been fully redeemed")


def deactivate_promo_code(promo_id: int, *, actor_id: int | None, actor_label: str) -> bool:
    """Stop a code being redeemed (redemptions made stay); audited. False if already inactive."""
    with write_transaction():
        promo = locked(PromoCode.select().where(PromoCode.id == promo_id)).get_or_none()
        if promo is None:
            raise PromoCodeNotFound(f"there is no promo code with id {promo_id}")
        if not promo.is_active:
            return False
        PromoCode.update(is_active=False).where(PromoCode.id == promo_id).execute()
        audit.record(actor_id=actor_id, actor_label=actor_label, action="promo.deactivate",
                     target_type="promo_code", target_id=promo_id, before={"is_active": True},
                     after={"is_active": False})
    log.info("promo_code_deactivated", code=promo.code, actor=actor_label)
    return True
