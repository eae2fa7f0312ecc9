"""Sora-2 through the `openai` SDK's videos API, and video routing, polling and storage."""

from __future__ import annotations

import pytest

from app.config.channels import ChannelConfig
from app.providers.catalog import builtin_spec
from app.providers.errors import ProviderBadRequest, ProviderTimeout, ProviderUnavailable
from app.providers.openai_chat import build_client
from app.providers.router import video_provider
from app.providers.sora import SoraVideo
from app.providers.types import VideoImage, VideoRequest, VideoStatus
from app.providers.video import video_storage_path, wait_for_video
from tests.fake_upstream import Fault
from tests.fake_upstream.server import VIDEO_BYTES

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(range(256))  # binary, not UTF-8


def sora_request(prompt: str, seconds: int = 4, size: str | None = "720x1280", *,
                 model: str = "sora-2", first_frame: VideoImage | None = None) -> VideoRequest:
    return VideoRequest(model=model, prompt=prompt, seconds=seconds, size=size,
                        first_frame=first_frame)


def create(adapter: SoraVideo, request: VideoRequest) -> str:
    return adapter.create(request, builtin_spec(request.model))


def sora(upstream) -> SoraVideo:
    channel = ChannelConfig(id="openai", provider="openai", api_key=upstream.api_key,
                            base_url=upstream.openai_base_url, timeout_s=2.0)
    return SoraVideo(build_client(channel, connect_timeout_s=1.0))


def test_create_poll_and_download(upstream, tmp_path) -> None:
    adapter = sora(upstream)
    video_id = create(adapter, sora_request("a cat on a hub", 8, "1280x720"))

    assert upstream.requests_to("/v1/videos")[0].body == {
        "model": "sora-2", "prompt": "a cat on a hub", "seconds": "8", "size": "1280x720"}
    assert adapter.poll(video_id) == VideoStatus("queued", 0)
    assert adapter.poll(video_id) == VideoStatus("in_progress", 50)
    assert adapter.poll(video_id) == VideoStatus("completed", 100)
    size = adapter.download(video_id, tmp_path / "out" / "v.mp4")
    assert size == len(VIDEO_BYTES)
    assert (tmp_path / "out" / "v.mp4").read_bytes() == VIDEO_BYTES
    assert not (tmp_path / "out" / "v.mp4.part").exists()


def test_a_failed_render_reports_its_error(upstream) -> None:
    adapter = sora(upstream)
    video_id = create(adapter, sora_request("FAIL please"))
    adapter.poll(video_id)
    adapter.poll(video_id)
    # the fake's failure is a moderation block: the safety filter refused it
    assert adapter.poll(video_id) == VideoStatus("failed", 100,
                                                 "moderation_blocked: injected failure",
                                                 refused=True)


def test_a_first_frame_is_sent_as_the_input_reference(upstream) -> None:
    adapter = sora(upstream)
    create(adapter, sora_request("from this frame", first_frame=VideoImage("image/png",
                                                                          PNG_BYTES)))
    body = upstream.requests_to("/v1/videos")[0].body
    assert body["input_reference"].encode("latin-1") == PNG_BYTES
    assert (body["model"], body["prompt"], body["seconds"], body["size"]) == \
        ("sora-2", "from this frame", "4", "720x1280")


def test_without_a_size_sora_picks_its_own(upstream) -> None:
    create(sora(upstream), sora_request("any size", size=None))
    assert "size" not in upstream.requests_to("/v1/videos")[0].body


def test_errors_are_mapped(upstream) -> None:
    upstream.fail_next("videos.create", Fault(status=500))
    with pytest.raises(ProviderUnavailable):
        create(sora(upstream), sora_request("x"))


def test_routed_video_goes_back_to_the_channel_that_created_it(make_hub, upstream,
                                                               tmp_path) -> None:
    hub = make_hub()
    seen = []
    provider = video_provider("sora-2", on_provider=lambda p, c: seen.append((p, c)))
    routed_id = provider.create(sora_request("a dog"))
    assert routed_id.startswith("openai:video_")
    assert (provider.provider, provider.channel_id, seen) == ("openai", "openai",
                                                              [("openai", "openai")])

    progress: list[int] = []
    status = wait_for_video(video_provider("sora-2"), routed_id, on_progress=progress.append,
                            sleep=hub.sleeps, initial_s=1, max_s=3)
    assert status.status == "completed"
    assert progress == [0, 50, 100]
    assert hub.sleeps.waits == [1, 2]

    path = video_storage_path("job-42")
    assert path == tmp_path / "storage" / "videos" / "job-42.mp4"
    assert video_provider("sora-2").download(routed_id, path) == len(VIDEO_BYTES)


def test_a_create_error_is_retried(make_hub, upstream) -> None:
    hub = make_hub()
    upstream.fail_next("videos.create", Fault(status=503))
    assert video_provider("sora-2").create(sora_request("a dog")).startswith("openai:")
    assert len(hub.sleeps.waits) == 1


def test_polling_tolerates_transient_errors_and_times_out(make_hub, upstream) -> None:
    hub = make_hub()
    provider = video_provider("sora-2")
    routed_id = provider.create(sora_request("slow"))
    upstream.video_polls_to_complete = 100
    upstream.fail_next("videos.retrieve", Fault(status=500), times=2)
    now = [0.0]

    def sleep(seconds: float) -> None:
        hub.sleeps(seconds)
        now[0] += seconds

    with pytest.raises(ProviderTimeout):
        wait_for_video(provider, routed_id, timeout_s=60, initial_s=2, max_s=16, sleep=sleep,
                       clock=lambda: now[0])
    assert hub.sleeps.waits == [2, 4, 8, 16, 16]


def test_an_unknown_routed_id_is_refused(make_hub) -> None:
    make_hub()
    with pytest.raises(ProviderBadRequest, match="no enabled channel"):
        video_provider("sora-2").poll("nowhere:video_1")


def test_storage_names_cannot_escape_the_directory(make_hub) -> None:
    make_hub()
    with pytest.raises(ValueError, match="not a storage name"):
        video_storage_path("../etc/passwd")
