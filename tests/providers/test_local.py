"""The built-in offline `local` provider: deterministic text, real usage, a valid clip."""

from __future__ import annotations

import pytest

from app.chat.events import TextDelta, Usage
from app.chat.record import messages_from_record
from app.chat.request import ChatRequest
from app.providers.catalog import builtin_spec
from app.providers.errors import ProviderBadRequest
from app.providers.local import VIDEO_ASSET, LocalChat, LocalVideo
from app.providers.mp4 import file_duration_s
from app.providers.router import complete_chat, stream_chat, video_provider
from app.providers.tokens import count_messages, count_text
from app.providers.types import VideoRequest
from tests.providers.conftest import FakeClock, SleepRecorder

SPEC = builtin_spec("local-echo")
MESSAGES = [{"role": "user", "content": "Tell me about credits"}]


def request(max_tokens: int = 500, messages=MESSAGES) -> ChatRequest:
    return ChatRequest(model="local-echo", messages=messages_from_record(messages),
                       max_tokens=max_tokens)


def test_the_reply_is_deterministic_echoes_the_prompt_and_reports_real_usage() -> None:
    sleeps = SleepRecorder()
    items = list(LocalChat(token_delay_s=0.01, sleep=sleeps).stream_chat(request(), SPEC))
    again = list(LocalChat(token_delay_s=0).stream_chat(request(), SPEC))

    text = "".join(i.text for i in items if isinstance(i, TextDelta))
    assert items == again
    assert text.startswith('You said: "Tell me about credits". Offline local model reply:')
    usage = items[-1]
    assert usage == Usage(input_tokens=count_messages(
        "o200k_base", messages_from_record(MESSAGES), image_tokens=0),
                          output_tokens=count_text("o200k_base", text), finish_reason="stop")
    assert len(items) - 1 == usage.output_tokens  # one delta per token
    assert sleeps.waits == [0.01] * (usage.output_tokens - 1)


def test_max_tokens_cuts_the_reply() -> None:
    items = list(LocalChat(token_delay_s=0).stream_chat(request(max_tokens=7), SPEC))
    assert items[-1].finish_reason == "length"
    assert items[-1].output_tokens == 7
    assert len(items) == 8


def test_non_ascii_text_is_never_split_mid_character() -> None:
    messages = [{"role": "user", "content": "日本語のテキスト 🚀"}]
    items = list(LocalChat(token_delay_s=0).stream_chat(request(messages=messages), SPEC))
    text = "".join(i.text for i in items[:-1])
    assert "日本語のテキスト 🚀" in text


def test_a_different_prompt_gives_a_different_reply() -> None:
    first, _ = LocalChat(token_delay_s=0).complete_chat(request(), SPEC)
    second, _ = LocalChat(token_delay_s=0).complete_chat(
        request(messages=[{"role": "user", "content": "Something else"}]), SPEC)
    assert first != second


def test_the_local_video_renders_then_serves_a_valid_mp4(tmp_path) -> None:
    clock = FakeClock()
    video = LocalVideo(render_s=4, clock=clock)
    video_id = video.create(VideoRequest("local-video", "a cat", 4, "720x1280"),
                            builtin_spec("local-video"))
    assert video.poll(video_id).status == "queued"
    with pytest.raises(ProviderBadRequest, match="not finished"):
        video.download(video_id, tmp_path / "v.mp4")
    clock.advance(1)
    assert (video.poll(video_id).status, video.poll(video_id).progress_percent) == \
        ("in_progress", 25)
    clock.advance(3)
    assert video.poll(video_id).progress_percent == 100
    assert video.download(video_id, tmp_path / "v.mp4") == VIDEO_ASSET.stat().st_size
    assert (tmp_path / "v.mp4").read_bytes()[4:8] == b"ftyp"
    assert file_duration_s(tmp_path / "v.mp4") == 4.0  # as long as asked: the demo charges it
    with pytest.raises(ProviderBadRequest, match="no such video"):
        video.poll("garbage")
    # an id made before the seconds were kept in it: the clip as it is
    video.download(f"local-{int(clock() * 1000) - 5000}-0123456789ab", tmp_path / "old.mp4")
    assert file_duration_s(tmp_path / "old.mp4") == 1.0


def test_the_local_provider_works_through_the_router_with_no_keys(make_hub, tmp_path) -> None:
    make_hub(OPENAI_API_KEY="", ANTHROPIC_API_KEY="", HUB_LOCAL_VIDEO_RENDER_S=0)
    streamed = list(stream_chat(request()))
    text, usage = complete_chat(request())
    assert "".join(i.text for i in streamed[:-1]) == text
    assert streamed[-1] == usage

    provider = video_provider("local-video")
    routed_id = provider.create(VideoRequest("local-video", "a cat", 4, "720x1280"))
    assert routed_id.startswith("local:local-")
    assert provider.poll(routed_id).status == "completed"
    assert provider.download(routed_id, tmp_path / "clip.mp4") == VIDEO_ASSET.stat().st_size
    assert file_duration_s(tmp_path / "clip.mp4") == 4.0
