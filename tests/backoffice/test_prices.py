"""Prices: staff read current prices and history; admins add a version (never rewrite one)."""

from __future__ import annotations

from app.models.pricing import ModelPrice
from app.services.prices.history import price_history


def test_admin_sets_a_price_as_a_new_version(admin, services) -> None:
    page = admin.get("/admin/prices/")
    assert page.status_code == 200 and b"local-echo" in page.data and b"Set price" in page.data
    first = price_history("local-echo")[-1]

    response = admin.post("/admin/prices/", {"model_id": "local-echo",
                                             "output_per_mtok_credits": "3000",
                                             "reason": "cost went up"})

    assert response.status_code == 302
    history = price_history("local-echo")
    assert [(p.version, p.input_per_mtok_credits, p.output_per_mtok_credits) for p in history] \
        == [(first.version, 1_000, 2_000), (first.version + 1, 1_000, 3_000)]
    assert history[-1].reason == "cost went up"
    current = admin.get("/admin/prices/").data
    assert b"3,000" in current
    versions = admin.get("/admin/price-history/?search=local-echo").data
    assert b"cost went up" in versions and b"catalog default" in versions


def test_a_price_needs_a_value_and_a_reason(admin, services) -> None:
    admin.get("/admin/prices/")
    count = ModelPrice.select().count()
    empty = admin.post("/admin/prices/", {"model_id": "local-echo", "reason": "nothing"})
    no_reason = admin.post("/admin/prices/", {"model_id": "local-echo",
                                              "input_per_mtok_credits": "5", "reason": " "})
    negative = admin.post("/admin/prices/", {"model_id": "local-echo",
                                             "input_per_mtok_credits": "-5", "reason": "x"})
    unknown = admin.post("/admin/prices/", {"model_id": "gpt-99",
                                            "input_per_mtok_credits": "5", "reason": "x"})
    assert empty.status_code == 422 and b"give at least one price" in empty.data
    assert no_reason.status_code == 422 and negative.status_code == 422
    assert unknown.status_code == 422
    assert ModelPrice.select().count() == count


def test_support_reads_prices_but_cannot_set_them(support, services) -> None:
    page = support.get("/admin/prices/")
    assert page.status_code == 200 and b"local-echo" in page.data
    assert b"Set price" not in page.data
    count = ModelPrice.select().count()
    refused = support.post("/admin/prices/", {"model_id": "local-echo",
                                              "input_per_mtok_credits": "1", "reason": "x"})
    assert refused.status_code == 403
    assert ModelPrice.select().count() == count
    assert support.get("/admin/price-history/").status_code == 200


def test_a_price_larger_than_its_column_is_refused(admin, services) -> None:
    admin.get("/admin/prices/")
    count = ModelPrice.select().count()

    response = admin.post("/admin/prices/", {"model_id": "local-echo", "reason": "x",
                                             "input_per_mtok_credits": str(10**20)})

    assert response.status_code == 422 and b"Number must be between" in response.data
    assert ModelPrice.select().count() == count


def test_admin_sets_cache_rates_and_both_views_show_them(admin, services) -> None:
    page = admin.get("/admin/prices/").data
    assert b"Cached input / 1M tokens" in page and b"= input" in page  # local-echo: unset

    response = admin.post("/admin/prices/", {"model_id": "local-echo",
                                             "cached_input_per_mtok_credits": "250",
                                             "cache_write_per_mtok_credits": "1250",
                                             "reason": "cache rates"})

    assert response.status_code == 302
    newest = price_history("local-echo")[-1]
    assert (newest.input_per_mtok_credits, newest.cached_input_per_mtok_credits,
            newest.cache_write_per_mtok_credits) == (1_000, 250, 1_250)
    assert b"1,250" in admin.get("/admin/prices/").data
    versions = admin.get("/admin/price-history/?search=local-echo").data
    assert b"Cache write / 1M tokens" in versions and b"1,250" in versions


def test_admin_sets_an_audio_rate_and_both_views_show_it(admin, services) -> None:
    page = admin.get("/admin/prices/").data
    assert b"Per second with audio" in page and b"= per second" in page

    response = admin.post("/admin/prices/", {"model_id": "sora-2",
                                             "per_second_audio_credits": "15000",
                                             "reason": "audio rate"})

    assert response.status_code == 302
    newest = price_history("sora-2")[-1]
    assert (newest.per_second_credits, newest.per_second_audio_credits) == (10_000, 15_000)
    assert b"15,000" in admin.get("/admin/prices/").data
    versions = admin.get("/admin/price-history/?search=sora-2").data
    assert b"Per second with audio" in versions and b"15,000" in versions
