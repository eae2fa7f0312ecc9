"""The back office in a real browser (Playwright + Debian chromium): an admin signs in, opens
the users list and adjusts a user's credits; no CSP violation. Screenshots in the tmp dir."""

from __future__ import annotations

from app.models.audit import AuditLogEntry
from app.services import ledger
from tests.accounts.conftest import PASSWORD
from tests.accounts.helpers import user_with_password
from tests.accounts.test_browser import WIDTHS, Session, live_server  # noqa: F401
from tests.backoffice.conftest import assert_ledger_sound
from tests.factories import create_user


def test_admin_adjusts_credits_in_the_browser(browser, live_server, services,  # noqa: F811
                                              tmp_path) -> None:
    admin = user_with_password(role="admin")
    customer = create_user(email="customer@example.com")
    session = Session(browser, live_server, WIDTHS["desktop"], tmp_path, "desktop")
    page = session.go("/admin/users/")
    page.fill("#email", admin.email)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/admin/users/")
    assert "customer@example.com" in page.inner_text("table.model-list")
    session.shot("backoffice-users")

    page.click(f"a[href*='/admin/users/adjust/?id={customer.id}']")
    page.wait_for_url("**/admin/users/adjust/*")
    page.fill("#amount_credits", "250000")
    page.fill("#reason", "welcome bonus")
    session.shot("backoffice-adjust")
    page.click("#adjust-form button[type=submit]")
    page.wait_for_url(f"**/admin/users/details/?id={customer.id}")

    assert "balance 0 → 250,000" in page.inner_text(".alert")
    session.shot("backoffice-adjusted")
    assert ledger.get_balance(customer.id).balance == 250_000
    assert AuditLogEntry.get().reason == "welcome bonus"
    assert_ledger_sound()
    assert session.errors == []
