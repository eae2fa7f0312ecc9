"""The price history in the database: read the current version, add a new one.

A model's first price is seeded from the catalog's default the first time it is needed. The
operator CLI may change a price beside a running hub, and the next job must be held at it: the
current price is read from the database each time, except that a job request reuses what this
process read lately (`reuse`), since its job open refuses a price that is no longer the newest
(`StalePrice`; see `app.services.recent_reads`). A price version never changes once written:
the versions a job request read are kept with those reads, so the charge of a job quoted and
run in this process (a `/v1` request run by the web executor) reads no price again.
"""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from flask import has_app_context
from peewee import JOIN, IntegrityError

from app.extensions import db
from app.models.hot_sql import select_one
from app.models.pricing import ModelPrice
from app.providers.catalog import ModelSpec
from app.providers.errors import ProviderError
from app.providers.types import Price
from app.services import audit
from app.services.recent_reads import recent_reads

log = structlog.get_logger(__name__)


class StalePrice(Exception):
    """A job's hold was computed at a price that is no longer the model's newest."""


class PriceNotFound(ProviderError):
    """No such price version."""

    http_status = 404
    code = "price_not_found"


def as_price(row: ModelPrice) -> Price:
    return Price(input_per_mtok_credits=row.input_per_mtok_credits,
                 output_per_mtok_credits=row.output_per_mtok_credits,
                 per_second_credits=row.per_second_credits, price_id=row.id,
                 cached_input_per_mtok_credits=row.cached_input_per_mtok_credits,
                 cache_write_per_mtok_credits=row.cache_write_per_mtok_credits,
                 per_second_audio_credits=row.per_second_audio_credits)


# Every rate of a version (the columns `set_price` copies forward and audits).
PRICE_FIELDS = ("input_per_mtok_credits", "output_per_mtok_credits", "per_second_credits",
                "cached_input_per_mtok_credits", "cache_write_per_mtok_credits",
                "per_second_audio_credits")

_NEWEST_ONE = "model_id = {p} ORDER BY version DESC LIMIT 1"
_BY_ID = "id = {p}"


def _latest_rows(model_ids: list[str]) -> dict[str, ModelPrice]:
    """The newest version of each model's price, in one query."""
    if len(model_ids) == 1:  # a job's quote: the unique (model_id, version) index answers it
        row = select_one(ModelPrice, _NEWEST_ONE, (model_ids[0],))
        return {row.model_id: row} if row is not None else {}
    newest = ModelPrice.alias("newer")
    rows = (ModelPrice.select()
            .join(newest, JOIN.LEFT_OUTER,
                  on=((newest.model_id == ModelPrice.model_id)
                      & (newest.version > ModelPrice.version)))
            .where(ModelPrice.model_id.in_(model_ids) & newest.id.is_null()))
    return {row.model_id: row for row in rows}


def _seed(spec: ModelSpec) -> ModelPrice:
    """Insert version 1 from the catalog default; a concurrent seeder may win the race."""
    default = spec.default_price
    try:
        with db.atomic():  # a savepoint inside a caller's transaction
            row = ModelPrice.create(model_id=spec.id, version=1, reason="catalog default",
                                    **{name: getattr(default, name) for name in PRICE_FIELDS})
        log.info("price_seeded", model=spec.id, price_id=row.id)
        return row
    except IntegrityError:
        return _latest_rows([spec.id])[spec.id]


def current_prices(specs: Iterable[ModelSpec], *, reuse: bool = False) -> dict[str, Price]:
    """The current price of each model, seeding the ones never priced before. `reuse`: a
    price this process read lately will do (only for a job's quote, re-checked at its open)."""
    specs = list(specs)
    found: dict[str, Price] = {}
    reads = recent_reads("prices") if reuse else None
    if reads is not None:
        for spec in specs:
            if spec.id not in found and (price := reads.get(spec.id)) is not None:
                found[spec.id] = price
    missing = [s for s in specs if s.id not in found]
    rows = _latest_rows([s.id for s in missing]) if missing else {}
    for spec in missing:
        found[spec.id] = as_price(rows[spec.id] if spec.id in rows else _seed(spec))
        if reads is not None:
            reads.put(spec.id, found[spec.id])
    if reads is not None:
        for price in found.values():
            reads.put(_version_key(price.price_id), price)
    return {spec.id: found[spec.id] for spec in specs}


def _version_key(price_id: int | None) -> tuple[str, int | None]:
    return ("version", price_id)


def forget_price(model_id: str) -> None:
    """Read the model's price from the database next time (a job open found it stale)."""
    reads = recent_reads("prices")
    if reads is not None:
        reads.forget(model_id)


def price_version(price_id: int) -> Price:
    """One version of a price by its id: the price a job's quote held is the price it is charged
    at. A version a job request of this process read lately answers without another query."""
    reads = recent_reads("prices") if has_app_context() else None
    if reads is not None and (price := reads.get(_version_key(price_id))) is not None:
        return price
    row = select_one(ModelPrice, _BY_ID, (price_id,))
    if row is None:
        raise PriceNotFound(f"price version {price_id} does not exist")
    return as_price(row)


def set_price(spec: ModelSpec, *, input_per_mtok_credits: int | None = None,
              output_per_mtok_credits: int | None = None, per_second_credits: int | None = None,
              cached_input_per_mtok_credits: int | None = None,
              cache_write_per_mtok_credits: int | None = None,
              per_second_audio_credits: int | None = None,
              reason: str, actor_id: int | None, actor_label: str) -> ModelPrice:
    """Add a new price version; fields left out keep the newest version's value (a cache rate
    never set stays unset: the input rate; an audio rate never set: the per-second rate). The version and its audit entry (the price before
    and after, the reason) commit together."""
    given = dict(zip(PRICE_FIELDS, (input_per_mtok_credits, output_per_mtok_credits,
                                    per_second_credits, cached_input_per_mtok_credits,
                                    cache_write_per_mtok_credits, per_second_audio_credits),
                     strict=True))
    current_prices([spec])  # seeds version 1 of a model never priced
    for attempt in range(5):  # two operators at once: the loser takes the next version
        try:
            with db.atomic():
                newest = _latest_rows([spec.id])[spec.id]
                row = ModelPrice.create(
                    model_id=spec.id, version=newest.version + 1, reason=reason,
                    **{name: _pick(given[name], getattr(newest, name)) for name in PRICE_FIELDS})
                audit.record(actor_id=actor_id, actor_label=actor_label, action="price.set",
                             target_type="model", target_id=spec.id, before=_audited(newest),
                             after=_audited(row), reason=reason)
        except IntegrityError:
            log.info("price_version_taken", model=spec.id, attempt=attempt)
            continue
        log.info("price_set", model=spec.id, version=row.version, price_id=row.id,
                 reason=reason, actor=actor_label)
        forget_price(spec.id)
        return row
    raise ProviderError(f"could not add a price version for {spec.id}; try again")


def _audited(row: ModelPrice) -> dict[str, int | None]:
    return {"version": row.version, "price_id": row.id,
            **{name: getattr(row, name) for name in PRICE_FIELDS}}


def _pick(value: int | None, current: int | None) -> int | None:
    return current if value is None else value


def price_history(model_id: str) -> list[ModelPrice]:
    return list(ModelPrice.select().where(ModelPrice.model_id == model_id)
                .order_by(ModelPrice.version))
