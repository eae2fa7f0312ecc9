"""The Anthropic adapter against the fake upstream, through the official `anthropic` SDK."""

from __future__ import annotations

import pytest

from app.chat.events import TextDelta, Usage
from app.chat.record import messages_from_record
from app.chat.request import ChatRequest
from app.config.channels import ChannelConfig
from app.providers.anthropic_chat import AnthropicChat, build_client, to_anthropic
from app.providers.catalog import builtin_spec
from app.providers.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from tests.fake_upstream import Fault

SPEC = builtin_spec("claude-haiku-4-5")
MESSAGES = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hello"},
            {"role": "user", "content": [{"type": "text", "text": "to the hub"}]},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": "Again"}]


def adapter(upstream, *, key: str | None = None, timeout_s: float = 2.0) -> AnthropicChat:
    channel = ChannelConfig(id="anthropic", provider="anthropic", api_key=key or upstream.api_key,
                            base_url=upstream.anthropic_base_url, timeout_s=timeout_s)
    return AnthropicChat(build_client(channel, connect_timeout_s=1.0))


def request(**overrides) -> ChatRequest:
    return ChatRequest(**{"model": "claude-haiku-4-5", "messages": messages_from_record(MESSAGES),
                          "max_tokens": 64,
                          **overrides})


def test_openai_style_messages_become_a_system_prompt_and_alternating_turns() -> None:
    system, turns = to_anthropic(messages_from_record([
        {"role": "system", "content": "One."}, {"role": "developer", "content": "Two."},
        {"role": "user", "content": "Look"},
        {"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]},
        {"role": "assistant", "content": "A cat."}]))
    assert system == "One.\n\nTwo."
    assert turns == [
        {"role": "user", "content": [
            {"type": "text", "text": "Look"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": "AAAA"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]}]


def test_an_unknown_role_is_refused() -> None:
    with pytest.raises(ProviderBadRequest, match="unsupported message role 'narrator'"):
        to_anthropic(messages_from_record([{"role": "narrator", "content": "x"}]))


def test_a_tool_turn_is_a_user_turn_of_tool_results_merged_with_the_next_user_turn() -> None:
    _system, turns = to_anthropic(messages_from_record([
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [
            {"type": "tool_call", "id": "c1", "name": "weather", "arguments": '{"city":"Oslo"}'}]},
        {"role": "tool", "content": [{"type": "tool_result", "tool_call_id": "c1",
                                      "content": [{"type": "text", "text": "-3C"}]}]},
        {"role": "user", "content": "And tomorrow?"}]))
    assert turns == [
        {"role": "user", "content": [{"type": "text", "text": "Weather?"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "weather",
                                           "input": {"city": "Oslo"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "c1",
             "content": [{"type": "text", "text": "-3C"}]},
            {"type": "text", "text": "And tomorrow?"}]}]


def test_stream_yields_deltas_then_usage_from_the_start_and_delta_events(upstream) -> None:
    items = list(adapter(upstream).stream_chat(request(temperature=0.5, stop=["END"]), SPEC))

    assert [i.text for i in items[:-1]] == upstream.chunks()
    assert all(isinstance(i, TextDelta) for i in items[:-1])
    sent = upstream.requests_to("/v1/messages")[0].body
    assert items[-1] == Usage(input_tokens=upstream.input_tokens(sent["messages"],
                                                                 sent["system"]),
                              output_tokens=5, finish_reason="end_turn")
    assert sent["system"] == "Be brief."
    assert [t["role"] for t in sent["messages"]] == ["user", "assistant", "user"]
    assert sent["max_tokens"] == 64 and sent["stream"] is True
    assert (sent["temperature"], sent["stop_sequences"]) == (0.5, ["END"])
    headers = upstream.requests_to("/v1/messages")[0].headers
    assert headers["anthropic-version"]  # the SDK's API version rides along with the stream


def test_complete_returns_text_and_usage(upstream) -> None:
    text, usage = adapter(upstream).complete_chat(request(), SPEC)
    sent = upstream.requests_to("/v1/messages")[0].body
    assert text == upstream.reply_text()
    assert usage == Usage(upstream.input_tokens(sent["messages"], sent["system"]), 5, "end_turn")


def test_count_tokens_asks_the_count_endpoint(upstream) -> None:
    count = adapter(upstream).count_input_tokens(request(), SPEC, timeout_s=1.0)
    sent = upstream.requests_to("/v1/messages/count_tokens")[0].body
    assert count == upstream.input_tokens(sent["messages"], sent["system"])
    assert "max_tokens" not in sent


@pytest.mark.parametrize(("fault", "error", "retryable"), [
    (Fault(status=429, retry_after="3"), ProviderRateLimited, True),
    (Fault(status=529), ProviderUnavailable, True),
    (Fault(status=500), ProviderUnavailable, True),
    (Fault(status=400, error_type="invalid_request_error"), ProviderBadRequest, False),
])
def test_upstream_statuses_map_to_error_kinds(upstream, fault, error, retryable) -> None:
    upstream.fail_next("messages", fault)
    with pytest.raises(error) as info:
        list(adapter(upstream).stream_chat(request(), SPEC))
    assert info.value.retryable is retryable
    if fault.retry_after:
        assert info.value.retry_after_s == 3.0


def call(chat, how: str) -> None:
    if how == "stream":
        list(chat.stream_chat(request(), SPEC))
    else:
        chat.complete_chat(request(), SPEC)


@pytest.mark.parametrize("how", ["stream", "complete"])
def test_a_refused_key_is_an_auth_error(upstream, how) -> None:
    with pytest.raises(ProviderAuthError) as info:
        call(adapter(upstream, key="sk-wrong"), how)
    assert info.value.upstream_status == 401 and not info.value.retryable


@pytest.mark.parametrize("how", ["stream", "complete"])
def test_a_hang_past_the_timeout_is_a_timeout(upstream, how) -> None:
    upstream.fail_next("messages", Fault(kind="hang"))
    with pytest.raises(ProviderTimeout):
        call(adapter(upstream, timeout_s=0.3), how)


@pytest.mark.parametrize("kind", ["cut", "malformed", "error_event"])
def test_a_broken_stream_fails_after_the_delivered_deltas(upstream, kind) -> None:
    upstream.fail_next("messages", Fault(kind=kind, after_chunks=3))
    texts = []
    with pytest.raises(ProviderUnavailable) as info:
        for item in adapter(upstream).stream_chat(request(), SPEC):
            texts.append(item.text)
    assert texts == upstream.chunks()[:3]
    assert info.value.retryable


def test_streams_reuse_one_upstream_connection(upstream) -> None:
    chat = adapter(upstream)
    for _ in range(3):
        texts = [i.text for i in chat.stream_chat(request(), SPEC) if isinstance(i, TextDelta)]
        assert texts == upstream.chunks()
    ports = {r.client_port for r in upstream.requests_to("/v1/messages")}
    assert len(ports) == 1
