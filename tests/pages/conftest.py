"""Fixtures of the dashboard page tests: the hub served by gunicorn with real Dramatiq worker
processes (PostgreSQL, Redis broker and event streams), a funded user signed in from Debian's
chromium driven by Playwright, at desktop and phone width."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page

from app.services import ledger
from tests.accounts.conftest import PASSWORD
from tests.accounts.helpers import user_with_password
from tests.browser import WIDTHS
from tests.conftest import _truncate_all_tables, make_settings
from tests.fake_gemini import FakeGemini
from tests.workers import dramatiq_workers, hub_server

SHOTS = Path("/tmp/hub-pages-shots")  # screenshots to look at, kept out of the repository

# The local model's pace: a reply of ~60-110 tokens streams for a few seconds, long enough to
# see it mid-stream and to stop it, short enough to keep the tests quick.
PAGE_SETTINGS = {"HUB_LOCAL_TOKEN_DELAY_S": 0.05, "HUB_LOCAL_VIDEO_RENDER_S": 2.0,
                 "HUB_JOB_LEASE_S": 5}
GEMINI = FakeGemini()  # the Veo models' vendor for the session's hub (a user with a Gemini key)


def page_settings(storage_dir: Path):
    return make_settings(HUB_STORAGE_DIR=str(storage_dir), GEMINI_API_KEY=GEMINI.api_key,
                         GEMINI_BASE_URL=GEMINI.url, **PAGE_SETTINGS)


@pytest.fixture(scope="session")
def fake_gemini_server() -> Iterator[FakeGemini]:
    GEMINI.start()
    yield GEMINI
    GEMINI.stop()


@pytest.fixture
def gemini(fake_gemini_server) -> Iterator[FakeGemini]:
    """The session's fake Gemini, reset for each test."""
    fake_gemini_server.reset()
    yield fake_gemini_server
    fake_gemini_server.reset()


@pytest.fixture(scope="session")
def storage_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("storage")


@pytest.fixture
def settings(migrated_database, storage_dir, fake_gemini_server):
    return page_settings(storage_dir)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(migrated_database, storage_dir, fake_gemini_server) -> Iterator[str]:
    """The production shape: gunicorn (gthread, as the Procfile runs it) and real `dramatiq`
    worker processes on the Redis broker, for the whole session (tables are emptied per test)."""
    settings = page_settings(storage_dir)
    port = free_port()
    with dramatiq_workers(settings, processes=1, threads=8), \
            hub_server(settings, port, threads=32):
        yield f"http://127.0.0.1:{port}"


def fund(app, user, amount_credits: int) -> None:
    with app.app_context():
        ledger.credit(user.id, amount_credits, kind="promo",
                      idempotency_key=f"test:{uuid.uuid4()}", memo="test funding")

class Session:
    """A signed-in browser context at one width, collecting console errors (CSP violations)."""

    def __init__(self, browser: Browser, base: str, width: int, tag: str) -> None:
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.base, self.tag, self.width = base, tag, width
        SHOTS.mkdir(exist_ok=True)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "favicon" not in message.text:
            self.errors.append(message.text)

    def sign_in(self, email: str) -> None:
        self.page.goto(self.base + "/login")
        self.page.fill("#email", email)
        self.page.fill("#password", PASSWORD)
        self.page.click("main button[type=submit]")
        self.page.wait_for_url("**/dashboard")

    def go(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(SHOTS / f"{name}-{self.tag}.png"), full_page=True)

    def assert_fits(self) -> None:
        """Nothing sticks out sideways: the page never scrolls horizontally."""
        assert self.page.evaluate("document.documentElement.scrollWidth") <= self.width

@pytest.fixture
def user(app):
    account = user_with_password(PASSWORD, name="Robin")
    fund(app, account, 5_000_000)
    return account

@pytest.fixture(params=list(WIDTHS))
def session(request, browser, live_server, user) -> Iterator[Session]:
    tag = request.param
    browsing = Session(browser, live_server, WIDTHS[tag], tag)
    browsing.sign_in(user.email)
    yield browsing
    browsing.context.close()

@pytest.fixture(autouse=True)
def _empty_tables_after(migrated_database) -> Iterator[None]:
    yield
    _truncate_all_tables()
