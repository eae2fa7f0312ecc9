"""/video in a real browser: the catalog's lengths, sizes and options, the quote (with audio and
without), live progress, a clip that plays and downloads, charged for the seconds it lasts."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from app.models.jobs import Job
from app.providers.video import first_frame_path

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + bytes(range(64))


def test_video_renders_with_its_options_to_a_playable_clip(session, app) -> None:
    page = session.go("/video")
    page.select_option("#model", "local-video")
    expect(page.locator("#model-price")).to_have_text(
        "100 credits per second of video (150 with audio)")
    assert page.locator("#seconds option").all_inner_texts() == ["4 s", "8 s", "12 s"]
    assert page.locator("#size option").evaluate_all("els => els.map(e => e.value)") == [
        "720x1280", "1280x720"]
    # local-video takes a size, a negative prompt, audio and a first frame; no aspect ratio
    # or resolution
    for shown in ("#negative-prompt-field", "#audio-field", "#first-frame-field"):
        expect(page.locator(shown)).to_be_visible()
    for hidden in ("#aspect-ratio-field", "#resolution-field"):
        expect(page.locator(hidden)).to_be_hidden()
    page.fill("#prompt", "A lighthouse at dusk")
    page.select_option("#seconds", "8")
    page.select_option("#size", "1280x720")
    expect(page.locator("#quote")).to_have_text(re.compile(
        r"^Holds 1,200 credits while it renders \(8 s at 150 credits per second, with audio\)"))
    page.uncheck("#audio")
    expect(page.locator("#quote")).to_have_text(re.compile(r"^Holds 800 credits while it renders"))
    page.fill("#negative-prompt", "no boats")
    page.set_input_files("#first-frame", files=[
        {"name": "frame.png", "mimeType": "image/png", "buffer": PNG}])
    session.shot("video-options")

    page.click("#create")
    expect(page.locator("#video-status")).to_have_text("Rendering…", timeout=20_000)
    session.shot("video-rendering")
    expect(page.locator("#video-status")).to_have_text("Ready", timeout=30_000)
    expect(page.locator("#video-progress")).to_have_attribute("aria-valuenow", "100")

    job = Job.select().order_by(Job.created_at.desc()).get()
    # the local clip lasts the eight seconds asked (its mvhd): all eight held are charged
    assert (job.status, job.video_seconds, job.hold_credits, job.cost_credits) == \
        ("succeeded", 8, 800, 800)
    request = json.loads(job.request_json)
    assert (request["seconds"], request["size"], request["audio"], request["negative_prompt"],
            request["first_frame"]) == (8, "1280x720", False, "no boats",
                                        {"mime_type": "image/png", "bytes": len(PNG)})
    with app.app_context():
        assert first_frame_path(job.id, "image/png").read_bytes() == PNG
    expect(page.locator("#video-cost")).to_have_text("8 s · charged 800 credits (held 800 credits)")
    content_url = f"/api/jobs/{job.id}/content"
    expect(page.locator("#video-download")).to_have_attribute("href", content_url)
    # The browser loads the clip: its metadata gives a real duration.
    page.wait_for_function("document.getElementById('video-player').readyState >= 1")
    assert page.evaluate("document.getElementById('video-player').duration") > 0
    session.shot("video-done")
    session.assert_fits()
    assert session.errors == []
