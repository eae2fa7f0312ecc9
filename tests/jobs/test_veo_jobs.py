"""Veo end to end, as a user with a Gemini key meets it: a video job from the job API and from
the `openai` SDK's `client.videos` (/v1/videos), its progress live on the job's WebSocket, its
file downloaded, charged exactly the seconds delivered. Real workers, broker, Redis, PostgreSQL,
the real `google-genai` SDK in the workers against the session's fake Gemini API."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import openai
import pytest

from app.jobs.streaming.relay import follow
from app.models.jobs import Job, UsageRecord
from app.services import api_keys
from tests.fake_gemini import FakeGemini, mp4_duration_s
from tests.jobs.conftest import (
    assert_settled_once,
    balance,
    token_of,
    wait_done,
    wait_until_finished,
    ws_events,
)

MODEL = "veo-3.1-fast-generate-preview"
RATE, AUDIO_RATE = 10_000, 15_000  # credits per second without audio, with audio
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # binary: a first frame must arrive byte for byte
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()

# The SDK marks its videos methods deprecated (OpenAI's shutdown date): calling them is the point.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def veo(prompt: str = "a lighthouse at dusk", seconds: int = 8, **choices) -> dict:
    return {"type": "video", "model": MODEL, "prompt": prompt, "seconds": seconds, **choices}


def create(client, headers, body: dict) -> str:
    response = client.post("/api/jobs", json=body, headers=headers)
    assert response.status_code == 202, response.json
    return response.json["id"]


def sent(gemini: FakeGemini) -> dict:
    """The one `predictLongRunning` body the fake received."""
    (request,) = gemini.requests_to(f"/models/{MODEL}:predictLongRunning")
    return request.body


def wait_for_progress(app, job_id: str) -> None:
    """Block on the job's event stream until its first `progress` event."""
    with app.app_context():
        for event in follow(job_id, idle_timeout_s=30):
            if event is not None and event.type == "progress":
                return
    raise AssertionError("no progress event")


def test_text_to_video_shows_progress_downloads_and_charges_the_seconds_with_audio(
        app, client, hub, gemini, funded_user, user_headers) -> None:
    before = balance(app, funded_user)
    job_id = create(client, user_headers, veo(aspect_ratio="9:16", resolution="1080p",
                                              negative_prompt="no text", audio=True))
    assert balance(app, funded_user).held == 8 * AUDIO_RATE

    events, _ = ws_events(hub, job_id, token_of(user_headers))

    progress = [e["data"]["percent"] for e in events if e["type"] == "progress"]
    assert progress == [50, 100]  # the vendor's own percentage, then done
    assert events[-1]["type"] == "done" and events[-1]["data"] == {"status": "succeeded"}
    job = client.get(f"/api/jobs/{job_id}", headers=user_headers).json
    assert (job["status"], job["usage"], job["cost_credits"]) == \
        ("succeeded", {"seconds": 8}, 8 * AUDIO_RATE)
    body = sent(gemini)
    assert body["instances"] == [{"prompt": "a lighthouse at dusk"}]
    assert body["parameters"] == {"durationSeconds": 8, "aspectRatio": "9:16",
                                  "resolution": "1080p", "negativePrompt": "no text",
                                  "generateAudio": True}
    content = client.get(job["result"]["content_url"], headers=user_headers)
    assert content.status_code == 200 and content.mimetype == "video/mp4"
    (operation,) = gemini.operations.values()
    assert content.data == gemini.file_bytes(operation.file_id)
    assert mp4_duration_s(content.data) == 8.0
    assert balance(app, funded_user).balance == before.balance - 8 * AUDIO_RATE
    with app.app_context():
        assert_settled_once(app, Job.get_by_id(job_id), funded_user)


def test_image_to_video_sends_the_first_frame_and_charges_fewer_seconds_when_fewer_come(
        app, client, hub, gemini, funded_user, user_headers) -> None:
    """The render comes back 5 s long for 8 asked: 5 are charged at the no-audio rate."""
    gemini.delivered_seconds = 5
    job_id = create(client, user_headers, veo(seconds=8, audio=False, first_frame=PNG_URL))
    assert balance(app, funded_user).held == 8 * RATE

    job = wait_done(client, user_headers, job_id, hub)

    assert (job["status"], job["usage"], job["cost_credits"]) == \
        ("succeeded", {"seconds": 5}, 5 * RATE)
    instance = sent(gemini)["instances"][0]
    assert instance["image"]["mimeType"] == "image/png"
    assert base64.b64decode(instance["image"]["bytesBase64Encoded"]) == PNG
    assert sent(gemini)["parameters"]["generateAudio"] is False
    content = client.get(f"/api/jobs/{job_id}/content", headers=user_headers)
    assert mp4_duration_s(content.data) == 5.0
    with app.app_context():
        assert UsageRecord.get(UsageRecord.job == job_id).video_seconds == 5
    assert balance(app, funded_user).held == 0


@pytest.mark.parametrize(("prompt", "code"), [("REFUSE a storm at sea", "content_refused"),
                                              ("FAIL a storm at sea", "upstream_failed")])
def test_a_refused_or_failed_render_is_failed_at_no_cost(app, client, hub, gemini, funded_user,
                                                        user_headers, prompt, code) -> None:
    before = balance(app, funded_user)
    job_id = create(client, user_headers, veo(prompt))
    assert balance(app, funded_user).held == 8 * AUDIO_RATE  # audio is Veo 3.1's default

    job = wait_done(client, user_headers, job_id, hub)

    assert (job["status"], job["cost_credits"], job["error"]["code"]) == ("failed", 0, code)
    assert job["result"] is None
    assert client.get(f"/api/jobs/{job_id}/content", headers=user_headers).status_code == 404
    after = balance(app, funded_user)
    assert (after.balance, after.held) == (before.balance, 0)


def test_a_render_canceled_while_it_runs_costs_nothing(app, client, hub, gemini, funded_user,
                                                      user_headers) -> None:
    before = balance(app, funded_user)
    job_id = create(client, user_headers, veo("SLOW a glacier calving"))
    wait_for_progress(app, job_id)  # the render started upstream and is being polled

    canceled = client.post(f"/api/jobs/{job_id}/cancel", headers=user_headers)
    assert canceled.status_code in (200, 202), canceled.json
    job = wait_done(client, user_headers, job_id, hub)

    assert (job["status"], job["cost_credits"]) == ("canceled", 0)
    after = balance(app, funded_user)
    assert (after.balance, after.held) == (before.balance, 0)


@pytest.mark.parametrize(("field", "body"), [
    ("resolution", veo(resolution="4k")),
    ("seconds", veo(seconds=5)),
    ("aspect_ratio", veo(aspect_ratio="4:3")),
    ("size", veo(size="1792x1024")),
])
def test_an_unsupported_choice_is_a_400_before_any_hold(app, client, gemini, funded_user,
                                                        user_headers, field, body) -> None:
    before = balance(app, funded_user)
    response = client.post("/api/jobs", json=body, headers=user_headers)
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "unsupported_video_option"
    assert response.json["error"]["message"].startswith(f"{field}: ")
    assert Job.select().count() == 0 and balance(app, funded_user) == before
    assert gemini.requests == []


@pytest.fixture
def videos(app, hub, funded_user) -> Iterator[openai.resources.Videos]:
    with app.app_context():
        key = api_keys.create_key(funded_user, "veo").plaintext
    yield openai.OpenAI(api_key=key, base_url=f"{hub}/v1", max_retries=0).videos


def test_v1_videos_makes_a_veo_video_from_a_size(app, videos, gemini, funded_user,
                                                tmp_path) -> None:
    gemini.delivered_seconds = 6
    before = balance(app, funded_user)
    video = videos.create(model=MODEL, prompt="a calm sea at dawn", seconds="8",
                          size="1280x720")
    assert (video.status, video.model, video.seconds) == ("queued", MODEL, "8")

    wait_until_finished(app, video.id.removeprefix("video_"))
    done = videos.retrieve(video.id)

    assert (done.status, done.progress, done.error) == ("completed", 100, None)
    parameters = sent(gemini)["parameters"]
    assert (parameters["aspectRatio"], parameters["resolution"], parameters["durationSeconds"]) \
        == ("16:9", "720p", 8)
    charge = 6 * AUDIO_RATE  # six delivered, at the audio rate (Veo 3.1's default)
    assert done.model_extra["cost_credits"] == charge
    assert balance(app, funded_user).balance == before.balance - charge
    videos.download_content(video.id).write_to_file(tmp_path / "out.mp4")
    with app.app_context():
        job = Job.get_by_id(video.id.removeprefix("video_"))
    assert (tmp_path / "out.mp4").read_bytes() == open(job.content_path, "rb").read()
    assert mp4_duration_s((tmp_path / "out.mp4").read_bytes()) == 6.0
    assert job.video_seconds == 6
    assert_settled_once(app, job, funded_user)


def test_v1_videos_input_reference_reaches_veo_as_the_first_frame(app, videos, gemini,
                                                                  funded_user, tmp_path) -> None:
    frame = tmp_path / "frame.png"
    frame.write_bytes(PNG)
    video = videos.create(model=MODEL, prompt="the frame comes alive", seconds="4",
                          size="720x1280", input_reference=frame,
                          extra_body={"audio": False})

    wait_until_finished(app, video.id.removeprefix("video_"))
    done = videos.retrieve(video.id)

    assert done.status == "completed"
    body = sent(gemini)
    assert base64.b64decode(body["instances"][0]["image"]["bytesBase64Encoded"]) == PNG
    assert body["instances"][0]["image"]["mimeType"] == "image/png"
    assert (body["parameters"]["aspectRatio"], body["parameters"]["generateAudio"]) == \
        ("9:16", False)
    assert done.model_extra["cost_credits"] == 4 * RATE
    (operation,) = gemini.operations.values()
    assert videos.download_content(video.id).content == gemini.file_bytes(operation.file_id)
    assert balance(app, funded_user).held == 0
