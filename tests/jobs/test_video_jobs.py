"""Video jobs with the users' choices: every choice checked before the hold, the hold priced
with or without audio, the first frame kept in storage, the seconds actually delivered charged,
a safety refusal free. Real workers, broker, Redis and the fake OpenAI Videos API."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from app.models.jobs import Job, UsageRecord
from app.providers.video import first_frame_path
from tests.jobs.conftest import balance, wait_done

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # binary: a first frame must arrive byte for byte
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


def video(model: str = "local-video", seconds: int = 4, **choices) -> dict:
    return {"type": "video", "model": model, "prompt": "a lighthouse at dusk",
            "seconds": seconds, **choices}


UNSUPPORTED = [
    ("seconds", video(seconds=5)),
    ("size", video(size="1792x1024")),
    ("aspect_ratio", video(aspect_ratio="16:9")),
    ("resolution", video(resolution="1080p")),
    ("negative_prompt", video("sora-2", negative_prompt="no people")),
    ("audio", video("sora-2", audio=True)),
    ("first_frame", video(first_frame="https://example.com/frame.png")),
    ("first_frame", video(first_frame="data:image/gif;base64,R0lGODlh")),
    ("first_frame", video(first_frame="data:image/png;base64,not base64!")),
]


@pytest.mark.parametrize(("field", "body"), UNSUPPORTED,
                         ids=[f"{f}-{i}" for i, (f, _) in enumerate(UNSUPPORTED)])
def test_an_unsupported_choice_is_a_400_naming_it_and_nothing_is_held(
        app, client, funded_user, user_headers, field, body) -> None:
    before = balance(app, funded_user)
    for path in ("/api/jobs/quote", "/api/jobs"):
        response = client.post(path, json=body, headers=user_headers)
        assert response.status_code == 400, response.json
        error = response.json["error"]
        assert error["code"] == "unsupported_video_option"
        assert error["message"].startswith(f"{field}: "), error["message"]
    assert Job.select().count() == 0
    assert balance(app, funded_user) == before


def test_audio_off_is_accepted_by_a_model_without_audio(client, user_headers) -> None:
    quote = client.post("/api/jobs/quote", json=video("sora-2", audio=False),
                        headers=user_headers)
    assert quote.status_code == 200 and quote.json["hold_credits"] == 4 * 10_000


def test_the_hold_uses_the_audio_rate_only_for_a_video_with_audio(client, user_headers) -> None:
    def hold(**choices) -> int:
        response = client.post("/api/jobs/quote", json=video(seconds=8, **choices),
                               headers=user_headers)
        assert response.status_code == 200, response.json
        return response.json["hold_credits"]

    # local-video: 100 credits a second, 150 with audio; audio is its default
    assert hold() == hold(audio=True) == 8 * 150
    assert hold(audio=False) == 8 * 100


def test_a_video_with_every_option_stores_them_and_charges_the_delivered_seconds(
        app, client, hub, funded_user, user_headers) -> None:
    created = client.post("/api/jobs", json=video(
        seconds=8, size="1280x720", negative_prompt="no text", audio=False,
        first_frame=PNG_URL), headers=user_headers)
    assert created.status_code == 202, created.json
    assert created.json["hold_credits"] == 8 * 100  # without audio

    job = wait_done(client, user_headers, created.json["id"], hub)

    # the local clip lasts the eight seconds asked (its mvhd): eight are charged, without audio
    assert (job["status"], job["usage"], job["cost_credits"]) == ("succeeded", {"seconds": 8},
                                                                  800)
    with app.app_context():
        row = Job.get_by_id(job["id"])
        frame = first_frame_path(row.id, "image/png")
        assert frame.read_bytes() == PNG
        assert frame.parent == Path(row.content_path).parent
        usage = UsageRecord.get(UsageRecord.job == row.id)
    assert usage.video_seconds == 8 and usage.cost_credits == 800
    request = json.loads(row.request_json)
    assert request == {"model": "local-video", "prompt": "a lighthouse at dusk", "seconds": 8,
                       "size": "1280x720", "aspect_ratio": None, "resolution": None,
                       "negative_prompt": "no text", "audio": False,
                       "first_frame": {"mime_type": "image/png", "bytes": len(PNG)}}
    assert balance(app, funded_user).held == 0


def test_a_video_whose_length_cannot_be_read_is_charged_the_requested_seconds(
        app, client, hub, upstream, user_headers, funded_user) -> None:
    """The fake OpenAI's file has no moov box; the first frame goes to Sora as
    input_reference."""
    created = client.post("/api/jobs", json=video("sora-2", first_frame=PNG_URL),
                          headers=user_headers)
    assert created.status_code == 202, created.json

    job = wait_done(client, user_headers, created.json["id"], hub)

    assert (job["status"], job["usage"], job["cost_credits"]) == ("succeeded", {"seconds": 4},
                                                                  4 * 10_000)
    sent = upstream.requests_to("/v1/videos")[0].body
    assert sent["input_reference"].encode("latin-1") == PNG
    assert (sent["seconds"], sent["size"]) == ("4", "720x1280")
    assert balance(app, funded_user).held == 0


def test_a_refused_video_fails_content_refused_at_no_cost(app, client, hub, upstream,
                                                          user_headers, funded_user) -> None:
    before = balance(app, funded_user)
    created = client.post("/api/jobs", json={**video("sora-2"), "prompt": "FAIL this one"},
                          headers=user_headers)
    assert created.status_code == 202, created.json
    assert balance(app, funded_user).held == 4 * 10_000

    job = wait_done(client, user_headers, created.json["id"], hub)

    assert (job["status"], job["cost_credits"], job["error"]["code"]) == \
        ("failed", 0, "content_refused")
    assert "moderation_blocked" in job["error"]["message"]
    assert job["result"] is None
    after = balance(app, funded_user)
    assert (after.held, after.balance) == (0, before.balance)
