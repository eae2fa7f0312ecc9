"""/chat in a real browser: the quote, a reply streamed live over the WebSocket, the cost, Stop."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app.models.jobs import Job


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
