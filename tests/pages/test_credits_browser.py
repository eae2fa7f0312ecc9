"""/credits in a real browser: balance, usage, history with "load more", CSV, promo codes, and
the Buy credits panel listing the payment packages."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from app.services import ledger, promo


def test_credits_page_shows_history_and_redeems_a_promo_code(session, app, user) -> None:
    with app.app_context():
        for amount in range(1, 23):  # 22 more entries: the history needs a second page
            ledger.credit(user.id, amount, kind="purchase", idempotency_key=f"t:{uuid.uuid4()}")
        ledger.debit(user.id, 1_234, kind="usage", idempotency_key="t:spend", memo="a chat")
        promo.create_promo_code("WELCOME10", 10_000, max_redemptions=5,
                                created_by=None, actor_label="test")
        expected = ledger.get_balance(user.id)
    page = session.go("/credits")
    expect(page.locator("#available")).to_have_text(f"{expected.available:,} credits")
    expect(page.locator("#balance")).to_have_text(f"{expected.balance:,}")
    expect(page.locator("#held")).to_have_text("0")
    expect(page.locator("#usage-total")).to_have_text("1,234 credits in total")
    expect(page.locator("#history-rows tr")).to_have_count(20)
    expect(page.locator("#history-rows tr").first).to_contain_text("Usage")
    expect(page.locator("#history-rows tr").first).to_contain_text("-1,234")
    expect(page.locator("#packages")).not_to_contain_text("Loading")  # the packages call answered
    expect(page.locator('a[href="/credits/payments"]')).to_be_visible()
    session.shot("credits")

    page.click("#load-more")
    expect(page.locator("#history-rows tr")).to_have_count(24)
    expect(page.locator("#load-more")).to_be_hidden()

    page.fill("#promo-code", "welcome10")
    page.click("#promo-form button[type=submit]")
    expect(page.locator("#promo-result")).to_have_text("WELCOME10: 10,000 credits added.")
    expect(page.locator("#available")).to_have_text(f"{expected.available + 10_000:,} credits")
    expect(page.locator("#history-rows tr").first).to_contain_text("+10,000")
    page.fill("#promo-code", "WELCOME10")
    page.click("#promo-form button[type=submit]")
    expect(page.locator("#promo-result")).to_contain_text("already")
    session.shot("credits-redeemed")

    csv = page.request.get(session.base + page.get_attribute("a[download]", "href"))
    lines = csv.text().strip().splitlines()
    assert csv.status == 200 and lines[0].startswith("id,created_at,kind,amount_credits")
    assert len(lines) == 1 + 25 and ",promo,10000," in lines[1]
    session.assert_fits()
    # The browser logs the refused call the page handled (the code used twice).
    assert session.errors == [
        "Failed to load resource: the server responded with a status of 409 (CONFLICT)"]
