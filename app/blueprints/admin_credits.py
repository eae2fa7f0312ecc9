"""Admin JSON API for credits: adjustments (audited) and promo codes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Boolean, Integer, Nested, String
from apiflask.validators import Length, NoneOf, Range

from app.blueprints.fields import BalanceOut, UtcDateTime
from app.models.base import INTEGER_MAX
from app.security import current_principal, require_auth
from app.services import promo
from app.services.ledger import adjust_credits
from app.services.ledger.movements import MAX_AMOUNT_CREDITS

bp = APIBlueprint("admin_credits", __name__, tag="Admin: credits", url_prefix="/api/admin")


class AdjustIn(Schema):
    amount = Integer(required=True, strict=True,
                     validate=[Range(min=-MAX_AMOUNT_CREDITS, max=MAX_AMOUNT_CREDITS),
                               NoneOf([0], error="must not be zero")],
                     metadata={"description": "credits to add (positive) or remove (negative)"})
    reason = String(required=True, validate=Length(min=1, max=500))
    idempotency_key = String(required=True, validate=Length(min=1, max=150),
                             metadata={"description": "a retry with the same key changes "
                                                      "nothing and returns the first result"})


class AdjustOut(Schema):
    entry_id = Integer(required=True)
    user_id = Integer(required=True)
    amount_credits = Integer(required=True)
    before = Nested(BalanceOut, required=True)
    after = Nested(BalanceOut, required=True)
    replayed = Boolean(required=True)


class PromoIn(Schema):
    code = String(required=True, validate=Length(min=3, max=64))
    amount_credits = Integer(required=True, strict=True,
                             validate=Range(min=1, max=MAX_AMOUNT_CREDITS))
    max_redemptions = Integer(required=True, strict=True, validate=Range(min=1, max=INTEGER_MAX))
    valid_from = UtcDateTime(load_default=None)
    valid_until = UtcDateTime(load_default=None)


class PromoOut(Schema):
    id = Integer(required=True)
    code = String(required=True)
    amount_credits = Integer(required=True)
    max_redemptions = Integer(required=True)
    redemptions = Integer(required=True)
    valid_from = UtcDateTime(allow_none=True)
    valid_until = UtcDateTime(allow_none=True)
    is_active = Boolean(required=True)


@bp.post("/users/<int:user_id>/credits")
@require_auth("admin", api_key=False)
@bp.input(AdjustIn, arg_name="body")
@bp.output(AdjustOut)
@bp.doc(summary="Add or remove a user's credits, with a reason; audited",
        responses=[200, 402, 404, 409, 422])
def adjust(user_id: int, body: dict[str, Any]) -> dict[str, Any]:
    admin = current_principal().user
    result = adjust_credits(user_id, body["amount"], reason=body["reason"],
                            idempotency_key=body["idempotency_key"], actor_id=admin.id,
                            actor_label=admin.email)
    return {"entry_id": result.movement.entry_id, "user_id": user_id,
            "amount_credits": result.movement.amount_credits, "before": asdict(result.before),
            "after": asdict(result.after), "replayed": result.movement.replayed}


@bp.post("/promo-codes")
@require_auth("admin", api_key=False)
@bp.input(PromoIn, arg_name="body")
@bp.output(PromoOut, status_code=201)
@bp.doc(summary="Create a promo code", responses=[201, 409, 422])
def create_promo(body: dict[str, Any]) -> dict[str, Any]:
    admin = current_principal().user
    code = promo.create_promo_code(body["code"], body["amount_credits"],
                                   max_redemptions=body["max_redemptions"],
                                   valid_from=body["valid_from"],
                                   valid_until=body["valid_until"],
                                   created_by=admin.id, actor_label=admin.email)
    return {"id": code.id, "code": code.code, "amount_credits": code.amount_credits,
            "max_redemptions": code.max_redemptions, "redemptions": code.redemptions,
            "valid_from": code.valid_from, "valid_until": code.valid_until,
            "is_active": code.is_active}
