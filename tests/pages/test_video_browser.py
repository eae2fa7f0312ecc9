"""/video in a real browser: the catalog's lengths, sizes and options, the quote (with audio and
without), live progress, a clip that plays and downloads, charged for the seconds it lasts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from app.models.jobs import Job, UsageRecord
from app.providers.local import VIDEO_ASSET
from app.providers.mp4 import with_duration_s
from app.providers.video import first_frame_path
from app.services import ledger
from tests.pages.conftest import Session


def balance(app, user) -> ledger.Balance:
    with app.app_context():
        return ledger.get_balance(user.id)

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


VEO = "veo-3.1-fast-generate-preview"
VEO_WIDTHS = {"desktop": 1280, "narrow": 360}


@pytest.fixture(params=list(VEO_WIDTHS))
def veo_session(request, browser, live_server, user) -> Iterator[Session]:
    browsing = Session(browser, live_server, VEO_WIDTHS[request.param], request.param)
    browsing.sign_in(user.email)
    yield browsing
    browsing.context.close()


def test_a_veo_video_renders_live_and_is_charged_the_seconds_delivered(
        veo_session, app, user, gemini, tmp_path) -> None:
    """A user with a Gemini key: Veo's own choices (aspect ratio, resolution, audio), its
    progress as the vendor reports it, a clip that plays, the ledger's charge on the page. The
    render comes back 6 s long for 8 asked."""
    session = veo_session
    gemini.delivered_seconds = 6
    gemini.render = lambda seconds: with_duration_s(VIDEO_ASSET.read_bytes(), seconds)

    def shot(name: str) -> None:
        session.page.screenshot(path=str(tmp_path / f"veo-{name}-{session.tag}.png"),
                                full_page=True)

    before = balance(app, user)
    page = session.go("/video")
    page.select_option("#model", VEO)
    expect(page.locator("#model-price")).to_have_text(
        "10,000 credits per second of video (15,000 with audio)")
    assert page.locator("#seconds option").all_inner_texts() == ["4 s", "6 s", "8 s"]
    for shown in ("#aspect-ratio-field", "#resolution-field", "#negative-prompt-field",
                  "#audio-field", "#first-frame-field"):
        expect(page.locator(shown)).to_be_visible()
    expect(page.locator("#size-field")).to_be_hidden()
    page.fill("#prompt", "A lighthouse at dusk, waves below")
    page.select_option("#seconds", "8")
    page.select_option("#aspect-ratio", "9:16")
    page.select_option("#resolution", "1080p")
    expect(page.locator("#quote")).to_have_text(re.compile(
        r"^Holds 120,000 credits while it renders \(8 s at 15,000 credits per second, "
        r"with audio\)"))
    page.uncheck("#audio")
    expect(page.locator("#quote")).to_have_text(re.compile(r"^Holds 80,000 credits"))
    shot("options")

    page.click("#create")
    # the vendor's progress, live: 33 % and 66 % on its pending polls
    expect(page.locator("#video-progress")).to_have_attribute(
        "aria-valuenow", re.compile(r"^(33|66)$"), timeout=20_000)
    expect(page.locator("#video-status")).to_have_text("Rendering…")
    shot("rendering")
    expect(page.locator("#video-status")).to_have_text("Ready", timeout=30_000)
    expect(page.locator("#video-progress")).to_have_attribute("aria-valuenow", "100")

    job = Job.select().order_by(Job.created_at.desc()).get()
    (sent,) = gemini.requests_to(f"/models/{VEO}:predictLongRunning")
    assert sent.body["parameters"] == {"durationSeconds": 8, "aspectRatio": "9:16",
                                       "resolution": "1080p", "generateAudio": False}
    with app.app_context():
        usage = UsageRecord.get(UsageRecord.job == job.id)
    charged = before.balance - balance(app, user).balance
    assert (job.status, job.video_seconds, job.hold_credits) == ("succeeded", 6, 80_000)
    assert charged == usage.cost_credits == job.cost_credits == 6 * 10_000
    expect(page.locator("#video-cost")).to_have_text(
        f"6 s · charged {charged:,} credits (held 80,000 credits)")
    expect(page.locator("#video-download")).to_have_attribute(
        "href", f"/api/jobs/{job.id}/content")
    page.wait_for_function("document.getElementById('video-player').readyState >= 1")
    assert page.evaluate("document.getElementById('video-player').duration") > 0
    shot("done")
    session.assert_fits()
    assert session.errors == []
