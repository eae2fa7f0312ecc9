"""Model prices in the back office: current prices and every version (support), and a "Set
price" form (admin) that adds a version through `prices.set_price`, the code path of
`flask prices set` (audited). Old versions are never changed: jobs keep the version they were
held at."""

from __future__ import annotations

from typing import Any

import structlog
from flask import flash, redirect, url_for
from flask_admin import expose
from flask_admin.contrib.peewee.filters import FilterEqual
from flask_login import current_user

from app.admin.base import ReadOnlyModelView, StaffView, require_writer
from app.admin.columns import DATETIME_FORMATTERS
from app.admin.forms import SetPriceForm
from app.errors import HubError
from app.models.pricing import ModelPrice
from app.providers.catalog import BUILTIN_MODELS, ModelSpec
from app.providers.registry import current_catalog
from app.services.prices.history import current_prices, set_price

log = structlog.get_logger(__name__)


def priced_specs() -> list[ModelSpec]:
    """Models the enabled providers offer, then built-in ones no provider serves (like
    `flask prices list --all`), so a price can be set before a provider is enabled."""
    offered = list(current_catalog().specs())
    known = {spec.id for spec in offered}
    return offered + [spec for spec in BUILTIN_MODELS if spec.id not in known]


class PricesView(StaffView):
    @expose("/", methods=("GET", "POST"))
    def index(self) -> Any:
        specs = priced_specs()
        form = SetPriceForm()
        form.model_id.choices = [(spec.id, spec.id) for spec in specs]
        status = 200
        if form.is_submitted():
            require_writer(self)
            status = self._set(form, {spec.id: spec for spec in specs})
            if status == 302:
                return redirect(url_for(".index"))
        offered = {spec.id for spec in current_catalog().specs()}
        return self.render("admin/backoffice/prices.html", specs=specs, offered=offered,
                           prices=current_prices(specs), form=form), status

    def _set(self, form: SetPriceForm, specs: dict[str, ModelSpec]) -> int:
        if not form.validate():
            return 422
        try:
            row = set_price(specs[form.model_id.data],
                            input_per_mtok_credits=form.input_per_mtok_credits.data,
                            output_per_mtok_credits=form.output_per_mtok_credits.data,
                            cached_input_per_mtok_credits=form.cached_input_per_mtok_credits.data,
                            cache_write_per_mtok_credits=form.cache_write_per_mtok_credits.data,
                            per_second_credits=form.per_second_credits.data,
                            per_second_audio_credits=form.per_second_audio_credits.data,
                            reason=form.reason.data.strip(), actor_id=current_user.id,
                            actor_label=current_user.email)
        except HubError as exc:
            flash(exc.message, "error")
            return exc.http_status
        log.info("price_set_in_back_office", model=row.model_id, version=row.version,
                 actor=current_user.email)
        flash(f"{row.model_id}: version {row.version} (price_id {row.id}) is now current.",
              "success")
        return 302


class PriceHistoryAdmin(ReadOnlyModelView):
    column_list = ("model_id", "version", "id", "input_per_mtok_credits",
                   "output_per_mtok_credits", "cached_input_per_mtok_credits",
                   "cache_write_per_mtok_credits", "per_second_credits",
                   "per_second_audio_credits", "reason", "created_at")
    column_labels = {"model_id": "Model", "id": "price_id",
                     "input_per_mtok_credits": "Input / 1M tokens",
                     "output_per_mtok_credits": "Output / 1M tokens",
                     "cached_input_per_mtok_credits": "Cached input / 1M tokens",
                     "cache_write_per_mtok_credits": "Cache write / 1M tokens",
                     "per_second_credits": "Per second",
                     "per_second_audio_credits": "Per second with audio"}
    column_formatters = {  # an unset cache rate charges the input rate
        "cached_input_per_mtok_credits": lambda v, c, m, n: _cache_rate(m, n),
        "cache_write_per_mtok_credits": lambda v, c, m, n: _cache_rate(m, n),
        "per_second_audio_credits": lambda v, c, m, n: _cache_rate(m, n, "= per second")}
    column_filters = (FilterEqual(ModelPrice.model_id, "Model",
                                  options=[(s.id, s.id) for s in BUILTIN_MODELS]),)
    column_searchable_list = ("model_id", "reason")
    column_sortable_list = ("model_id", "version", "created_at")
    column_default_sort = [("model_id", False), ("version", True)]
    column_type_formatters = DATETIME_FORMATTERS


def _cache_rate(row: ModelPrice, name: str, unset: str = "= input") -> str:
    value = getattr(row, name)
    return unset if value is None else f"{value:,}"
