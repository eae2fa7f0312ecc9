"""/video in a real browser: the catalog's lengths and sizes, the quote, live progress, a clip
that plays and downloads."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from app.models.jobs import Job


def test_video_renders_with_progress_to_a_playable_clip(session) -> None:
    page = session.go("/video")
    page.select_option("#model", "local-video")
    expect(page.locator("#model-price")).to_have_text("100 credits per second of video")
    assert page.locator("#seconds option").all_inner_texts() == ["4 s", "8 s", "12 s"]
    assert page.locator("#size option").evaluate_all("els => els.map(e => e.value)") == [
        "720x1280", "1280x720"]
    page.fill("#prompt", "A lighthouse at dusk")
    page.select_option("#seconds", "8")
    page.select_option("#size", "1280x720")
    expect(page.locator("#quote")).to_have_text(re.compile(r"^Holds 800 credits while it renders"))

    page.click("#create")
    expect(page.locator("#video-status")).to_have_text("Rendering…", timeout=20_000)
    session.shot("video-rendering")
    expect(page.locator("#video-status")).to_have_text("Ready", timeout=30_000)
    expect(page.locator("#video-progress")).to_have_attribute("aria-valuenow", "100")

    job = Job.select().order_by(Job.created_at.desc()).get()
    assert (job.status, job.video_seconds, job.cost_credits) == ("succeeded", 8, 800)
    expect(page.locator("#video-cost")).to_have_text("8 s · charged 800 credits (held 800 credits)")
    content_url = f"/api/jobs/{job.id}/content"
    expect(page.locator("#video-download")).to_have_attribute("href", content_url)
    # The browser loads the clip: its metadata gives a real duration.
    page.wait_for_function("document.getElementById('video-player').readyState >= 1")
    assert page.evaluate("document.getElementById('video-player').duration") > 0
    session.shot("video-done")
    session.assert_fits()
    assert session.errors == []
