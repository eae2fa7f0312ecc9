"""Checkout's success and cancel URLs are judged by the origin a browser reads in them: a
backslash, a tab, userinfo or a scheme-only form cannot smuggle another site past the allowed
origins, and a refusal records nothing and calls Stripe for nothing."""

from __future__ import annotations

import pytest

from app.models.payments import Payment
from app.security.redirects import url_origin
from tests.payments.conftest import SHOP

HOSTILE_URLS = [
    "https://evil.example\\@shop.example.com/ok",  # a browser reads `\` as `/`: host evil
    " https://evil.example\\@shop.example.com/ok",
    "https:\\\\evil.example\\@shop.example.com/ok",
    "https://evil.example\t\\@shop.example.com/ok",
    "https://user@shop.example.com/ok", "https://:pw@shop.example.com/ok",
    "https://shop.example.com@evil.example/ok", "https://shop.example.com%2F@evil.example/",
    "https://shop.example.com\t@evil.example/", "https://shop.example.com\n.evil.example/",
    "https://evil.example/ok", "HTTPS://EVIL.EXAMPLE/ok", "https://shop.example.com.evil.net/",
    "http://shop.example.com/ok", "https://shop.example.com:8443/ok",
    "https://shop.example.com:99999/ok", "https://shop.example.com:x/ok",
    "//shop.example.com/ok", "/\\shop.example.com/ok", "\\\\shop.example.com/ok", "/ok",
    "https:shop.example.com/ok", "https:/shop.example.com/ok", "https:///shop.example.com/ok",
    "javascript:alert(1)", "JAVASCRIPT://shop.example.com/%0aalert(1)",
    "data:text/html,hi", "ftp://shop.example.com/",
    "https://shöp.example.com/", "https://shop\uff0eexample\uff0ecom/",
    "https://%73hop.example.com/",
]
# The same origin however it is spelled, and the tail of the URL is the caller's business.
ALLOWED_URLS = [
    f"{SHOP}/ok", "https://SHOP.example.com/ok", "https://shop.example.com:443/ok",
    "https://shop.example.com", "https://shop.example.com?x=1", "HTTPS://shop.example.com/#a",
    f"{SHOP}/thanks?s={{CHECKOUT_SESSION_ID}}", f"{SHOP}/a\\b?next=//evil.example",
]


def _checkout(buyer, **urls: str):
    body = {"package": "starter", "success_url": f"{SHOP}/ok", "cancel_url": f"{SHOP}/no", **urls}
    return buyer.client.post("/api/payments/checkout", headers=buyer.headers, json=body)


@pytest.mark.parametrize("field", ["success_url", "cancel_url"])
def test_hostile_redirects_are_refused_and_nothing_is_recorded(buyer, field: str) -> None:
    for url in HOSTILE_URLS:
        response = _checkout(buyer, **{field: url})
        assert response.status_code == 422, (field, url, response.json)
        assert response.json["error"]["code"] == "redirect_not_allowed", (field, url)
        assert response.json["error"]["message"].startswith(f"{field}: "), (field, url)
    assert Payment.select().count() == 0
    assert buyer.fake.requests == []


def test_the_allowed_origin_however_spelled_is_accepted(buyer) -> None:
    for url in ALLOWED_URLS:
        response = _checkout(buyer, success_url=url, cancel_url=url)
        assert response.status_code == 200, (url, response.json)
    assert Payment.select().count() == len(ALLOWED_URLS)


def test_every_origin_vouched_for_is_the_one_a_browser_reads(browser) -> None:
    vouched = {url: url_origin(url) for url in HOSTILE_URLS + ALLOWED_URLS}
    vouched = {url: origin for url, origin in vouched.items() if origin is not None}
    page = browser.new_page()
    read = page.evaluate("(urls) => urls.map(u => new URL(u).origin)", list(vouched))
    page.close()
    assert dict(zip(vouched, read, strict=True)) == vouched
