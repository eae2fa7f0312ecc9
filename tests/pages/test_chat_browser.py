"""/chat in a real browser: the quote, a reply streamed live over the WebSocket, the cost, Stop."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import WebSocketRoute, expect

from app.models.jobs import Job
from tests.accounts.conftest import PASSWORD
from tests.accounts.helpers import user_with_password
from tests.pages.conftest import WIDTHS, Session


def test_chat_streams_a_reply_and_shows_its_cost(session, app) -> None:
    page = session.go("/chat")
    expect(page.locator("#model option[value=local-echo]")).to_have_count(1)
    page.select_option("#model", "local-echo")
    expect(page.locator("#model-price")).to_contain_text("1,000 credits per 1M input tokens")
    page.fill("#max-tokens", "40")
    page.fill("#prompt", "Hello from the browser")
    expect(page.locator("#quote")).to_have_text(re.compile(r"^Holds [\d,]+ credits? while it runs"))

    page.click("#send")
    reply = page.locator(".chat-assistant .chat-text").last
    expect(reply).to_contain_text('You said: "Hello from the browser"')  # the first deltas
    session.shot("chat-streaming")
    expect(page.locator(".chat-assistant .chat-meta")).to_contain_text("Done", timeout=20_000)
    session.shot("chat-done")

    job = Job.select().order_by(Job.created_at.desc()).get()
    assert job.status == "succeeded"
    assert reply.inner_text() == job.result_text
    expect(page.locator(".chat-assistant .chat-meta")).to_contain_text(
        f"{job.input_tokens} in / {job.output_tokens} out tokens · charged "
        f"{job.cost_credits:,} credit")
    expect(page.locator("#conversation")).to_have_attribute("aria-busy", "false")

    # The second turn carries the first as context.
    page.fill("#prompt", "And again")
    page.click("#send")
    expect(page.locator(".chat-assistant .chat-meta").nth(1)).to_contain_text("Done",
                                                                              timeout=20_000)
    second = Job.select().order_by(Job.created_at.desc()).get()
    assert second.id != job.id and second.input_tokens > job.input_tokens
    session.assert_fits()

    # The dashboard lists both jobs, newest first, with their cost; each opens on /chat.
    page = session.go("/dashboard")
    jobs = page.locator("#recent-jobs li")
    expect(jobs).to_have_count(2)
    expect(jobs.first.locator("a")).to_have_attribute("href", f"/chat?job={second.id}")
    expect(jobs.first.locator("a")).to_have_text("Chat · local-echo")
    expect(jobs.first.locator(".badge")).to_have_text("succeeded")
    expect(jobs.first.locator(".ms-auto")).to_have_text(f"{second.cost_credits:,} credits")
    session.shot("dashboard")
    jobs.nth(1).locator("a").click()
    page.wait_for_url(f"**/chat?job={job.id}")
    expect(page.locator(".chat-assistant .chat-text")).to_have_text(job.result_text)
    expect(page.locator(".chat-assistant .chat-meta")).to_contain_text("Done")
    assert session.errors == []


def test_stop_ends_a_long_reply_and_charges_what_was_written(session) -> None:
    page = session.go("/chat")
    page.select_option("#model", "local-echo")
    page.fill("#max-tokens", "200")
    page.fill("#prompt", "Tell me a long story " * 8)
    page.click("#send")
    reply = page.locator(".chat-assistant .chat-text").last
    expect(reply).to_contain_text("You said", timeout=20_000)
    expect(page.locator("#stop")).to_be_visible()
    page.click("#stop")
    expect(page.locator(".chat-assistant .chat-meta")).to_contain_text("Stopped", timeout=20_000)

    job = Job.select().order_by(Job.created_at.desc()).get()
    assert job.status == "canceled"
    assert 0 < job.output_tokens < 60 and 0 < job.cost_credits <= job.hold_credits
    expect(page.locator("#job-status")).to_contain_text(f"Charged {job.cost_credits:,} credit")
    expect(page.locator("#stop")).to_be_hidden()
    assert session.errors == []


@pytest.mark.parametrize("session", ["desktop"], indirect=True)
def test_a_dropped_socket_resumes_from_the_last_event_without_loss(session) -> None:
    """The first WebSocket is cut right after its first delta; the page reconnects with
    ?last_event_id= and the reply ends up exactly the job's text: nothing lost, nothing twice."""
    urls: list[str] = []

    def relay(ws: WebSocketRoute) -> None:
        urls.append(ws.url)
        server = ws.connect_to_server()
        first = len(urls) == 1

        def to_page(message: str | bytes) -> None:
            ws.send(message)
            if first and json.loads(message).get("type") == "delta":
                ws.close(code=1001, reason="dropped by the test")
                server.close()

        server.on_message(to_page)

    session.page.route_web_socket(re.compile(r".*/ws/jobs/.*"), relay)
    page = session.go("/chat")
    page.select_option("#model", "local-echo")
    page.fill("#prompt", "Resume me")
    page.click("#send")
    expect(page.locator(".chat-assistant .chat-meta")).to_contain_text("Done", timeout=20_000)

    job = Job.select().order_by(Job.created_at.desc()).get()
    assert page.locator(".chat-assistant .chat-text").inner_text() == job.result_text
    assert len(urls) == 2 and "?last_event_id=" not in urls[0]
    assert re.search(r"\?last_event_id=[^&]+$", urls[1])
    assert session.errors == []


@pytest.mark.parametrize(("verified", "message", "link"), [
    (True, "Not enough credits", "/credits"),
    (False, "Verify your e-mail address", "/verify"),
])
def test_a_refused_send_says_why_and_links_to_the_fix(browser, live_server, verified, message,
                                                      link) -> None:
    broke = user_with_password(PASSWORD, verified=verified)  # no credits
    session = Session(browser, live_server, WIDTHS["phone"], "phone")
    session.sign_in(broke.email)
    page = session.go("/chat")
    page.select_option("#model", "local-echo")
    page.fill("#prompt", "Hello")
    page.click("#send")
    expect(page.locator("#chat-error")).to_be_visible()
    expect(page.locator("#chat-error a")).to_have_attribute("href", link)
    session.shot(f"chat-refused-{link.strip('/')}")
    assert message.lower() in page.inner_text("#chat-error").lower()
    assert Job.select().count() == 0
    expect(page.locator(".chat-msg")).to_have_count(0)
    assert page.input_value("#prompt") == "Hello"  # nothing typed is lost
    session.context.close()
