"""The pages in a real browser (Playwright driving Debian's chromium) against the app served
by a real HTTP server: the flows work, the CSP is satisfied (no violation reported), and the
layout holds at desktop and phone width. Screenshots land in the test's tmp dir."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page
from werkzeug.serving import make_server

from tests.accounts.conftest import PASSWORD
from tests.accounts.helpers import code_from, user_with_password
from tests.browser import WIDTHS


@pytest.fixture
def live_server(app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


class Session:
    """One browser context at a given width, collecting console errors (CSP violations)."""

    def __init__(self, browser: Browser, base: str, width: int, shots: Path, tag: str) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.base, self.shots, self.tag = base, shots, tag

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "favicon" not in message.text:
            self.errors.append(message.text)

    def go(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"{name}-{self.tag}.png"), full_page=True)


@pytest.mark.parametrize("tag", list(WIDTHS))
def test_register_verify_sign_in_and_create_a_key(browser, live_server, mailbox, worker,
                                                 tmp_path, tag) -> None:
    session = Session(browser, live_server, WIDTHS[tag], tmp_path, tag)
    page = session.go("/register")
    session.shot("register")
    email = f"{tag}@example.com"
    page.fill("#name", "Robin")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/verify?email=*")
    page.fill("#code", code_from(mailbox.next_to(email)))
    page.click("form[action='/verify'] button[type=submit]")
    page.wait_for_url("**/login")
    assert "Your e-mail address is verified." in page.inner_text("main")

    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard")
    assert page.inner_text("h1") == "Welcome, Robin"
    session.shot("dashboard")

    page = session.go("/keys")
    page.fill("#name", "laptop")
    page.click("form[action='/keys'] button[type=submit]")
    assert page.input_value("#new-key").startswith("hub_")
    session.shot("keys")
    # Nothing sticks out sideways: the page never scrolls horizontally.
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[tag]

    if tag == "phone":  # the menu collapses behind the toggler, which opens it (Bootstrap JS)
        assert not page.is_visible("#nav .nav-link")
        page.click(".navbar-toggler")
        page.wait_for_selector("#nav .nav-link", state="visible")
    page.click("text=Account")
    page.wait_for_url("**/account")
    session.shot("account")
    assert session.errors == []


def test_back_office_and_api_docs_satisfy_the_csp(browser, live_server, tmp_path) -> None:
    admin = user_with_password(role="admin")
    session = Session(browser, live_server, WIDTHS["desktop"], tmp_path, "desktop")
    page = session.go("/admin/users/")
    assert page.url == f"{live_server}/login?next=/admin/users/"
    page.fill("#email", admin.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/admin/users/")
    assert admin.email in page.inner_text("table.model-list")
    session.shot("admin-users")

    page = session.go("/api/docs")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "Smart AI Hub API" in page.inner_text(".swagger-ui .info .title")
    session.shot("api-docs")
    assert session.errors == []
