"""The Veo adapter against a fake Gemini API, through the real `google-genai` SDK; the fake
itself read by the SDK; the google channel built from the settings."""

from __future__ import annotations

import base64
import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from google import genai
from google.genai import types as genai_types

from app.config import configured_channels
from app.config.channels import ChannelConfig
from app.providers.catalog import Catalog, builtin_spec
from app.providers.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderRateLimited,
    ProviderUnavailable,
)
from app.providers.registry import build_channel
from app.providers.types import VideoImage, VideoRequest, VideoStatus
from app.providers.veo import REFUSED_ERROR, VeoVideo, build_client, request_body
from tests.conftest import make_settings
from tests.fake_gemini import FakeGemini, mp4_duration_s

MODEL = "veo-3.1-generate-preview"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def gemini() -> Iterator[FakeGemini]:
    with FakeGemini() as fake:
        yield fake


@pytest.fixture
def veo(gemini: FakeGemini) -> VeoVideo:
    return VeoVideo(build_client(ChannelConfig(id="google", provider="google",
                                               api_key=gemini.api_key, base_url=gemini.url,
                                               timeout_s=5)))


def _request(prompt: str = "a lighthouse at dawn", **fields: object) -> VideoRequest:
    return VideoRequest(model=fields.pop("model", MODEL), prompt=prompt,  # type: ignore[arg-type]
                        seconds=fields.pop("seconds", 8), **fields)  # type: ignore[arg-type]


def _start(veo: VeoVideo, request: VideoRequest) -> str:
    spec = builtin_spec(request.model)
    assert spec is not None
    return veo.create(request, spec)


def _poll_until_done(veo: VeoVideo, upstream_id: str, limit: int = 20) -> list[VideoStatus]:
    statuses = []
    for _ in range(limit):
        statuses.append(veo.poll(upstream_id))
        if statuses[-1].status in ("completed", "failed"):
            return statuses
    raise AssertionError(f"not done after {limit} polls: {statuses}")


# --- the fake, read by the SDK ------------------------------------------------------------

def _sdk_client(gemini: FakeGemini) -> genai.Client:
    return genai.Client(api_key=gemini.api_key, vertexai=False, http_options=genai_types.HttpOptions(
        base_url=gemini.url, api_version="v1beta",
        retry_options=genai_types.HttpRetryOptions(attempts=1)))


def test_the_sdk_reads_a_pending_then_done_operation_of_the_fake(gemini: FakeGemini) -> None:
    client = _sdk_client(gemini)
    gemini.polls_to_complete = 1
    started = client._api_client.request(
        "post", f"models/{MODEL}:predictLongRunning",
        {"instances": [{"prompt": "a fox"}], "parameters": {"durationSeconds": 6}})
    name = json.loads(started.body)["name"]
    assert name.startswith(f"models/{MODEL}/operations/")

    pending = client.operations.get(genai_types.GenerateVideosOperation(name=name))
    done = client.operations.get(genai_types.GenerateVideosOperation(name=name))

    assert pending.done is None and pending.response is None
    assert done.done is True
    uri = done.response.generated_videos[0].video.uri
    assert uri.startswith(f"{gemini.url}/v1beta/files/") and uri.endswith(":download?alt=media")
    file_id = uri.split("/files/")[1].split(":")[0]
    data = client.files.download(file=f"files/{file_id}")
    assert data[4:8] == b"ftyp" and mp4_duration_s(data) == 6


def test_the_sdk_reads_the_fakes_safety_refusal(gemini: FakeGemini) -> None:
    client = _sdk_client(gemini)
    gemini.polls_to_complete = 0
    started = client._api_client.request(
        "post", f"models/{MODEL}:predictLongRunning", {"instances": [{"prompt": "REFUSE"}]})
    done = client.operations.get(
        genai_types.GenerateVideosOperation(name=json.loads(started.body)["name"]))

    assert done.done is True
    assert done.response.rai_media_filtered_count == 1
    assert done.response.rai_media_filtered_reasons and not done.response.generated_videos


def test_the_fake_takes_the_key_from_the_query_and_refuses_a_wrong_one(
        gemini: FakeGemini) -> None:
    body = json.dumps({"instances": [{"prompt": "x"}]}).encode()
    url = f"{gemini.url}/v1beta/models/{MODEL}:predictLongRunning"
    with urllib.request.urlopen(urllib.request.Request(  # noqa: S310 — the fake on 127.0.0.1
            f"{url}?key={gemini.api_key}", data=body,
            headers={"Content-Type": "application/json"})) as answer:
        assert json.loads(answer.read())["name"].startswith(f"models/{MODEL}/operations/")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(  # noqa: S310
            f"{url}?key=wrong", data=body, headers={"Content-Type": "application/json"}))
    assert refused.value.code == 400
    assert json.loads(refused.value.read())["error"]["details"][0]["reason"] == "API_KEY_INVALID"


# --- the adapter --------------------------------------------------------------------------

def test_text_to_video_starts_polls_and_downloads_the_mp4(
        gemini: FakeGemini, veo: VeoVideo, tmp_path: Path) -> None:
    upstream_id = _start(veo, _request(seconds=6))

    statuses = _poll_until_done(veo, upstream_id)
    size = veo.download(upstream_id, tmp_path / "out.mp4")

    started = gemini.requests_to(f"/v1beta/models/{MODEL}:predictLongRunning")
    assert len(started) == 1
    assert started[0].body["instances"] == [{"prompt": "a lighthouse at dawn"}]
    assert started[0].body["parameters"]["durationSeconds"] == 6
    assert upstream_id == gemini.requests_to(upstream_id)[0].path.removeprefix("/v1beta/")
    assert statuses[-1] == VideoStatus(status="completed", progress_percent=100)
    data = (tmp_path / "out.mp4").read_bytes()
    assert size == len(data) and mp4_duration_s(data) == 6
    assert not list(tmp_path.glob("*.part"))


def test_image_to_video_sends_the_first_frame_as_base64_with_its_type(
        gemini: FakeGemini, veo: VeoVideo) -> None:
    _start(veo, _request(first_frame=VideoImage(mime_type="image/png", data=PNG)))

    instance = gemini.requests_to(":predictLongRunning")[0].body["instances"][0]
    assert instance["image"] == {"bytesBase64Encoded": base64.b64encode(PNG).decode(),
                                 "mimeType": "image/png"}
    assert instance["prompt"] == "a lighthouse at dawn"


def test_every_parameter_reaches_the_vendor(gemini: FakeGemini, veo: VeoVideo) -> None:
    _start(veo, _request(seconds=4, aspect_ratio="9:16", resolution="1080p",
                         negative_prompt="text, watermarks", audio=False))

    assert gemini.requests_to(":predictLongRunning")[0].body["parameters"] == {
        "durationSeconds": 4, "aspectRatio": "9:16", "resolution": "1080p",
        "negativePrompt": "text, watermarks", "generateAudio": False}


def test_unset_options_are_left_to_the_model_and_a_size_becomes_an_aspect_ratio() -> None:
    assert request_body(_request())["parameters"] == {"durationSeconds": 8}
    assert request_body(_request(size="1280x720"))["parameters"] == {
        "durationSeconds": 8, "aspectRatio": "16:9", "resolution": "720p"}
    assert request_body(_request(size="1080x1920", resolution="720p"))["parameters"] == {
        "durationSeconds": 8, "aspectRatio": "9:16", "resolution": "720p"}


def test_polling_reports_the_vendors_progress_until_done(
        gemini: FakeGemini, veo: VeoVideo) -> None:
    gemini.polls_to_complete, gemini.slow_extra_polls = 1, 3
    upstream_id = _start(veo, _request("SLOW: a storm over the sea"))

    statuses = _poll_until_done(veo, upstream_id)

    pending = [s for s in statuses if s.status == "in_progress"]
    assert len(pending) == 4
    progress = [s.progress_percent for s in pending]
    assert progress == sorted(progress) and progress[0] > 0 and progress[-1] < 100
    assert statuses[-1].status == "completed"


def test_without_progress_in_the_metadata_a_pending_render_is_at_zero(
        gemini: FakeGemini, veo: VeoVideo) -> None:
    gemini.report_progress = False
    upstream_id = _start(veo, _request())

    assert veo.poll(upstream_id) == VideoStatus(status="in_progress", progress_percent=0)


def test_a_short_delivery_is_downloaded_as_delivered(
        gemini: FakeGemini, veo: VeoVideo, tmp_path: Path) -> None:
    gemini.polls_to_complete, gemini.delivered_seconds = 0, 5
    upstream_id = _start(veo, _request(seconds=8))

    veo.download(upstream_id, tmp_path / "short.mp4")

    assert mp4_duration_s((tmp_path / "short.mp4").read_bytes()) == 5


def test_a_safety_refusal_is_a_refused_failure(gemini: FakeGemini, veo: VeoVideo) -> None:
    gemini.polls_to_complete = 0
    upstream_id = _start(veo, _request("REFUSE this one"))

    status = veo.poll(upstream_id)

    assert status.status == "failed" and status.refused is True
    assert status.error is not None and status.error.startswith(REFUSED_ERROR)
    assert "Support codes" in status.error  # the vendor's reason is passed on


def test_a_failed_operation_is_a_failure_with_the_vendors_message(
        gemini: FakeGemini, veo: VeoVideo, tmp_path: Path) -> None:
    gemini.polls_to_complete = 0
    upstream_id = _start(veo, _request("FAIL please"))

    status = veo.poll(upstream_id)

    assert status == VideoStatus(status="failed", progress_percent=100,
                                 error="13: Video generation failed: internal error.")
    with pytest.raises(ProviderUnavailable):
        veo.download(upstream_id, tmp_path / "none.mp4")
    assert not (tmp_path / "none.mp4").exists()


def test_a_429_on_create_is_rate_limited_with_its_retry_after_and_not_retried_by_the_sdk(
        gemini: FakeGemini, veo: VeoVideo) -> None:
    gemini.fail_next(429, retry_after="7")

    with pytest.raises(ProviderRateLimited) as raised:
        _start(veo, _request())

    assert raised.value.retry_after_s == 7 and raised.value.upstream_status == 429
    assert len(gemini.requests_to(":predictLongRunning")) == 1


@pytest.mark.parametrize(("status", "error"), [(500, ProviderUnavailable),
                                               (503, ProviderUnavailable),
                                               (400, ProviderBadRequest)])
def test_vendor_errors_on_create_are_the_hubs(gemini: FakeGemini, veo: VeoVideo, status: int,
                                              error: type[Exception]) -> None:
    gemini.fail_next(status)

    with pytest.raises(error) as raised:
        _start(veo, _request())

    assert raised.value.upstream_status == status  # type: ignore[attr-defined]
    assert type(raised.value) is error
    assert len(gemini.requests_to(":predictLongRunning")) == 1


def test_a_wrong_key_is_the_channels_auth_error(gemini: FakeGemini, veo: VeoVideo) -> None:
    gemini.api_key = "another-key"

    with pytest.raises(ProviderAuthError):
        _start(veo, _request())


def test_the_key_goes_in_the_sdks_header_and_is_never_logged(
        gemini: FakeGemini, veo: VeoVideo, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    gemini.polls_to_complete = 0
    with caplog.at_level(logging.DEBUG):
        upstream_id = _start(veo, _request())
        veo.poll(upstream_id)
        veo.download(upstream_id, tmp_path / "out.mp4")
        gemini.fail_next(429)
        with pytest.raises(ProviderRateLimited) as raised:
            _start(veo, _request())

    assert len(gemini.requests) == 5
    for recorded in gemini.requests:
        assert recorded.headers["x-goog-api-key"] == gemini.api_key
        assert "key" not in recorded.query
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert gemini.api_key not in logged and gemini.api_key not in str(raised.value)


# --- configuration and wiring -------------------------------------------------------------

def test_either_key_enables_the_google_channel_and_google_api_key_wins() -> None:
    gemini_only = configured_channels(make_settings(GEMINI_API_KEY="g-1", GOOGLE_API_KEY="",
                                                    GEMINI_BASE_URL="http://127.0.0.1:1"))
    both = configured_channels(make_settings(GEMINI_API_KEY="g-1", GOOGLE_API_KEY="g-2"))
    neither = configured_channels(make_settings(GEMINI_API_KEY="", GOOGLE_API_KEY=""))

    google = next(c for c in gemini_only if c.id == "google")
    assert (google.provider, google.api_key, google.base_url) == \
        ("google", "g-1", "http://127.0.0.1:1")
    assert next(c for c in both if c.id == "google").api_key == "g-2"
    assert all(c.provider != "google" for c in neither)


def test_the_google_channel_serves_the_veo_models_with_video_only(gemini: FakeGemini) -> None:
    settings = make_settings(GEMINI_API_KEY=gemini.api_key, GOOGLE_API_KEY="",
                             GEMINI_BASE_URL=gemini.url)
    configs = configured_channels(settings)
    channel = build_channel(next(c for c in configs if c.id == "google"), settings)

    assert channel.chat is None and isinstance(channel.video, VeoVideo)
    assert {s.id for s in Catalog(configs).specs("video") if s.provider == "google"} == {
        "veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-2.0-generate-001"}
    gemini.polls_to_complete = 0
    upstream_id = channel.video.create(_request(seconds=4), builtin_spec(MODEL))  # type: ignore[arg-type]
    assert channel.video.poll(upstream_id).status == "completed"
