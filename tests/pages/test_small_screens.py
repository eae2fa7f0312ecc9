"""Every page a user or a visitor opens fits a 360 px phone: nothing scrolls sideways. (The
dashboard, chat and back-office tests check their own pages at 360, 390 and 1280 px in depth.)"""

from __future__ import annotations

import pytest

from tests.pages.conftest import Session

SMALL = 360
SIGNED_IN = ["/dashboard", "/chat", "/video", "/credits", "/credits/payments", "/keys",
             "/account"]
VISITOR = ["/login", "/register", "/forgot", "/verify", "/reset"]


@pytest.fixture
def small(browser, live_server):
    session = Session(browser, live_server, SMALL, "small")
    yield session
    session.context.close()


def test_every_visitor_page_fits_360_px(small) -> None:
    for path in VISITOR:
        small.go(path)
        small.page.wait_for_load_state("networkidle")
        small.shot(path.strip("/").replace("/", "-") or "home")
        assert small.page.evaluate("document.documentElement.scrollWidth") <= SMALL, path
    assert small.errors == []


def test_every_signed_in_page_fits_360_px(small, user) -> None:
    small.sign_in(user.email)
    for path in SIGNED_IN:
        small.go(path)
        small.page.wait_for_load_state("networkidle")
        small.shot(path.strip("/").replace("/", "-"))
        assert small.page.evaluate("document.documentElement.scrollWidth") <= SMALL, path
    assert small.errors == []
