"""The price history in the database: read the current version, add a new one.

A model's first price is seeded from the catalog's default the first time it is needed. No
in-process cache: the operator CLI may change a price beside a running hub, and the next
request must see it (one indexed query per model).
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from peewee import IntegrityError, fn

from app.extensions import db
from app.models.pricing import ModelPrice
from app.providers.catalog import ModelSpec
from app.providers.errors import ProviderError
from app.providers.types import Price

log = structlog.get_logger(__name__)


class PriceNotFound(ProviderError):
    """No such price version."""

    http_status = 404
    code = "price_not_found"


def as_price(row: ModelPrice) -> Price:
    return Price(input_per_mtok_credits=row.input_per_mtok_credits,
                 output_per_mtok_credits=row.output_per_mtok_credits,
                 per_second_credits=row.per_second_credits, price_id=row.id)


def _latest_rows(model_ids: list[str]) -> dict[str, ModelPrice]:
    latest = (ModelPrice.select(ModelPrice.model_id, fn.MAX(ModelPrice.version).alias("v"))
              .where(ModelPrice.model_id.in_(model_ids)).group_by(ModelPrice.model_id))
    pairs = {(row.model_id, row.v) for row in latest}
    if not pairs:
        return {}
    rows = ModelPrice.select().where(ModelPrice.model_id.in_([m for m, _ in pairs]))
    return {row.model_id: row for row in rows if (row.model_id, row.version) in pairs}


def _seed(spec: ModelSpec) -> ModelPrice:
    """Insert version 1 from the catalog default; a concurrent seeder may win the race."""
    default = spec.default_price
    try:
        with db.atomic():  # a savepoint inside a caller's transaction
            row = ModelPrice.create(model_id=spec.id, version=1,
                                    input_per_mtok_credits=default.input_per_mtok_credits,
                                    output_per_mtok_credits=default.output_per_mtok_credits,
                                    per_second_credits=default.per_second_credits,
                                    reason="catalog default")
        log.info("price_seeded", model=spec.id, price_id=row.id)
        return row
    except IntegrityError:
        return _latest_rows([spec.id])[spec.id]


def current_prices(specs: Iterable[ModelSpec]) -> dict[str, Price]:
    """The current price of each model, seeding the ones never priced before."""
    specs = list(specs)
    rows = _latest_rows([s.id for s in specs]) if specs else {}
    for spec in specs:
        if spec.id not in rows:
            rows[spec.id] = _seed(spec)
    return {model_id: as_price(row) for model_id, row in rows.items()}


def price_by_id(price_id: int) -> ModelPrice:
    row = ModelPrice.get_or_none(ModelPrice.id == price_id)
    if row is None:
        raise PriceNotFound(f"price version {price_id} does not exist")
    return row


def set_price(spec: ModelSpec, *, input_per_mtok_credits: int | None = None,
              output_per_mtok_credits: int | None = None, per_second_credits: int | None = None,
              reason: str) -> ModelPrice:
    """Add a new price version; fields left out keep their current value."""
    current = current_prices([spec])[spec.id]
    for attempt in range(5):  # two operators at once: the loser takes the next version
        version = (ModelPrice.select(fn.MAX(ModelPrice.version))
                   .where(ModelPrice.model_id == spec.id).scalar() or 0) + 1
        try:
            with db.atomic():
                row = ModelPrice.create(
                    model_id=spec.id, version=version, reason=reason,
                    input_per_mtok_credits=_pick(input_per_mtok_credits,
                                                 current.input_per_mtok_credits),
                    output_per_mtok_credits=_pick(output_per_mtok_credits,
                                                  current.output_per_mtok_credits),
                    per_second_credits=_pick(per_second_credits, current.per_second_credits))
            log.info("price_set", model=spec.id, version=version, price_id=row.id, reason=reason)
            return row
        except IntegrityError:
            log.info("price_version_taken", model=spec.id, version=version, attempt=attempt)
    raise ProviderError(f"could not add a price version for {spec.id}; try again")


def _pick(value: int | None, current: int) -> int:
    return current if value is None else value


def price_history(model_id: str) -> list[ModelPrice]:
    return list(ModelPrice.select().where(ModelPrice.model_id == model_id)
                .order_by(ModelPrice.version))
