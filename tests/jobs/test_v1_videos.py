"""The official `openai` SDK's `client.videos` against the hub's /v1/videos: a video job on the
session's Dramatiq workers (sora-2 against the fake OpenAI Videos API, and local-video), held,
rendered, settled, downloaded, with a hub API key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from app.models.jobs import Job
from app.services import api_keys
from app.services.prices import pricing
from tests.factories import create_user
from tests.fake_upstream.server import VIDEO_BYTES
from tests.jobs.conftest import assert_settled_once, balance, fund, wait_until_finished

# The SDK marks its Sora methods deprecated (a shutdown date): calling them is the point here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def fast_upstream(upstream) -> Iterator:
    """The fake renders on its second poll (the worker's first backoff), not its third."""
    upstream.video_polls_to_complete = 1
    yield upstream
    upstream.video_polls_to_complete = 2


def _key(app, user, **limits) -> str:
    with app.app_context():
        return api_keys.create_key(user, "videos", **limits).plaintext


def _client(hub: str, key: str) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=f"{hub}/v1", max_retries=0)


@pytest.fixture
def videos(app, hub, funded_user) -> openai.resources.Videos:
    return _client(hub, _key(app, funded_user)).videos


def _job_id(video) -> str:
    assert video.id.startswith("video_")
    return video.id.removeprefix("video_")


def _finished(app, videos, video):
    """Wait on the job's event stream (no polling), then read the video as a client does."""
    wait_until_finished(app, _job_id(video))
    return videos.retrieve(video.id)


def _jobs(app) -> int:
    with app.app_context():
        return Job.select().count()


def test_a_sora_video_is_held_rendered_downloaded_and_charged(app, videos, fast_upstream,
                                                              funded_user, tmp_path) -> None:
    before = balance(app, funded_user)
    video = videos.create(model="sora-2", prompt="a calm sea at dawn", seconds="4",
                          size="1280x720")
    assert (video.object, video.status, video.model, video.seconds, video.size) == \
        ("video", "queued", "sora-2", "4", "1280x720")
    assert video.model_extra["hold_credits"] > 0 and video.model_extra["cost_credits"] is None
    assert balance(app, funded_user).held == video.model_extra["hold_credits"]

    done = _finished(app, videos, video)
    assert (done.status, done.progress, done.error) == ("completed", 100, None)
    assert done.completed_at >= done.created_at
    with app.app_context():
        job = Job.get_by_id(_job_id(video))
        charge = pricing.video_cost(job.price_id, 4)
    assert job.source == "openai" and charge > 0
    assert done.model_extra["cost_credits"] == charge
    assert balance(app, funded_user).balance == before.balance - charge
    assert_settled_once(app, job, funded_user)  # nothing left held

    videos.download_content(video.id).write_to_file(tmp_path / "out.mp4")
    assert (tmp_path / "out.mp4").read_bytes() == VIDEO_BYTES == Path(job.content_path).read_bytes()
    upstream_create = fast_upstream.requests_to("/v1/videos")[0].body
    assert (upstream_create["prompt"], upstream_create["seconds"]) == ("a calm sea at dawn", "4")


def test_create_and_poll_with_the_local_model_and_the_list(app, videos, funded_user) -> None:
    first = videos.create(model="local-video", prompt="first")
    video = videos.create_and_poll(model="local-video", prompt="a lighthouse", seconds="8",
                                   poll_interval_ms=100)
    assert (video.status, video.seconds, video.size) == ("completed", "8", "720x1280")
    with app.app_context():
        stored = Path(Job.get_by_id(_job_id(video)).content_path).read_bytes()
    assert videos.download_content(video.id).content == stored != b""

    page = videos.list(limit=1)
    assert [v.id for v in page.data] == [video.id] and page.has_more
    assert [v.id for v in videos.list(after=video.id)] == [first.id]
    wait_until_finished(app, _job_id(first))


def test_a_failed_render_is_failed_with_its_error_and_costs_nothing(app, videos, fast_upstream,
                                                                    funded_user) -> None:
    before = balance(app, funded_user).balance
    video = _finished(app, videos, videos.create(model="sora-2", prompt="FAIL please"))
    assert video.status == "failed"
    # the fake OpenAI fails it as `moderation_blocked`: the hub's refusal, free like any failure
    assert video.error.code == "content_refused" and "injected failure" in video.error.message
    assert video.model_extra["cost_credits"] == 0
    assert balance(app, funded_user).balance == before
    assert balance(app, funded_user).held == 0
    with pytest.raises(openai.NotFoundError):  # nothing to download, as OpenAI answers
        videos.download_content(video.id)
    with pytest.raises(openai.BadRequestError, match="variant"):
        videos.download_content(video.id, variant="thumbnail")


@pytest.mark.parametrize(("params", "named"), [
    ({"seconds": "5"}, "seconds"),
    ({"size": "999x999"}, "size"),
    ({"seconds": "four"}, "seconds"),
    ({"model": "gpt-4o-mini"}, "video"),
    ({"input_reference": ("frame.gif", b"GIF89a", "image/gif")}, "input_reference: must be one of"),
    ({"extra_body": {"style": "noir"}}, "style: unknown parameter"),
])
def test_a_refused_request_is_400_and_holds_nothing(app, videos, funded_user, params,
                                                     named) -> None:
    jobs_before = _jobs(app)
    with pytest.raises(openai.BadRequestError) as info:
        videos.create(prompt="a calm sea", **{"model": "sora-2", **params})
    assert named in info.value.message
    assert info.value.body["type"] == "invalid_request_error"
    assert balance(app, funded_user).held == 0 and _jobs(app) == jobs_before


def test_a_json_body_with_integer_seconds_is_taken(app, hub, funded_user) -> None:
    key = _key(app, funded_user)
    response = httpx.post(f"{hub}/v1/videos", headers={"Authorization": f"Bearer {key}"},
                          json={"model": "local-video", "prompt": "rain", "seconds": 4})
    assert response.status_code == 200, response.text
    assert response.json()["seconds"] == "4" and response.json()["status"] == "queued"
    job = wait_until_finished(app, response.json()["id"].removeprefix("video_"))
    assert job.status == "succeeded"


def test_another_users_video_is_not_found(app, hub, videos) -> None:
    video = videos.create(model="local-video", prompt="mine")
    stranger = create_user()
    fund(app, stranger, 1_000_000)
    theirs = _client(hub, _key(app, stranger)).videos
    with pytest.raises(openai.NotFoundError) as info:
        theirs.retrieve(video.id)
    assert info.value.body["type"] == "not_found_error"
    with pytest.raises(openai.NotFoundError):
        theirs.download_content(video.id)
    assert list(theirs.list()) == []
    wait_until_finished(app, _job_id(video))


def test_a_key_capped_below_the_hold_is_402(app, hub, funded_user) -> None:
    capped = _client(hub, _key(app, funded_user, cap_total_credits=100)).videos
    with pytest.raises(openai.APIStatusError) as info:
        capped.create(model="sora-2", prompt="too dear", seconds="4")
    assert info.value.status_code == 402
    assert info.value.body["code"] == "insufficient_quota"
    assert balance(app, funded_user).held == 0


def test_the_sdk_default_request_fits_the_default_model(app, videos, fast_upstream) -> None:
    """No model, seconds or size: OpenAI's defaults (sora-2, 4 s, 720x1280)."""
    video = videos.create(prompt="defaults")
    assert (video.model, video.seconds, video.size) == ("sora-2", "4", "720x1280")
    wait_until_finished(app, _job_id(video))
