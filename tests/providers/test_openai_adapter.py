"""The OpenAI adapter against the fake upstream, through the official `openai` SDK."""

from __future__ import annotations

import pytest

from app.chat.events import TextDelta, Usage
from app.chat.record import messages_from_record
from app.chat.request import ChatRequest
from app.config.channels import ChannelConfig
from app.providers.catalog import builtin_spec
from app.providers.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from app.providers.openai_chat import OpenAIChat, build_client
from tests.fake_upstream import FakeUpstream, Fault

SPEC = builtin_spec("gpt-4o")
MESSAGES = [{"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Say hello to the hub"}]


def adapter(upstream: FakeUpstream, *, key: str | None = None, timeout_s: float = 2.0,
            base_url: str | None = None) -> OpenAIChat:
    channel = ChannelConfig(id="openai", provider="openai", api_key=key or upstream.api_key,
                            base_url=base_url or upstream.openai_base_url, timeout_s=timeout_s)
    return OpenAIChat(build_client(channel, connect_timeout_s=1.0))


def request(**overrides) -> ChatRequest:
    return ChatRequest(**{"model": "gpt-4o", "messages": messages_from_record(MESSAGES),
                          "max_tokens": 50,
                          **overrides})


def drain(items) -> tuple[list[str], list]:
    texts, rest = [], []
    for item in items:
        (texts if isinstance(item, TextDelta) else rest).append(
            item.text if isinstance(item, TextDelta) else item)
    return texts, rest


def test_stream_yields_the_deltas_then_the_reported_usage(upstream) -> None:
    texts, rest = drain(adapter(upstream).stream_chat(
        request(temperature=0.2, top_p=0.9, stop=["END"]), SPEC))

    assert texts == upstream.chunks()
    assert rest == [Usage(input_tokens=upstream.input_tokens(MESSAGES), output_tokens=5,
                          finish_reason="stop")]
    sent = upstream.requests_to("/v1/chat/completions")[0]
    assert sent.headers["authorization"] == f"Bearer {upstream.api_key}"
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["max_completion_tokens"] == 50
    assert (sent.body["temperature"], sent.body["top_p"], sent.body["stop"]) == (0.2, 0.9,
                                                                                 ["END"])
    assert sent.body["messages"] == MESSAGES


def test_streams_reuse_one_upstream_connection(upstream) -> None:
    """A stream is read to the end of its body, so its connection goes back to the pool: the
    next request skips a new connection (a TLS handshake, against the real API)."""
    chat = adapter(upstream)
    for _ in range(3):
        texts, _rest = drain(chat.stream_chat(request(), SPEC))
        assert texts == upstream.chunks()
    ports = {r.client_port for r in upstream.requests_to("/v1/chat/completions")}
    assert len(ports) == 1


def test_complete_returns_the_whole_reply(upstream) -> None:
    text, usage = adapter(upstream).complete_chat(request(), SPEC)
    assert text == upstream.reply_text()
    assert usage == Usage(upstream.input_tokens(MESSAGES), 5, "stop")


def test_rate_limit_is_retryable_with_the_retry_after(upstream) -> None:
    upstream.fail_next("chat", Fault(status=429, retry_after="7"))
    with pytest.raises(ProviderRateLimited) as info:
        list(adapter(upstream).stream_chat(request(), SPEC))
    assert info.value.retryable and info.value.retry_after_s == 7.0
    assert info.value.headers == {"Retry-After": "7"}


@pytest.mark.parametrize(("fault", "error", "retryable"), [
    (Fault(status=500), ProviderUnavailable, True),
    (Fault(status=503), ProviderUnavailable, True),
    (Fault(status=400), ProviderBadRequest, False),
    (Fault(status=404), ProviderUnavailable, False),
    (Fault(status=429, error_type="insufficient_quota"), ProviderAuthError, False),
])
@pytest.mark.parametrize("call", ["stream", "complete"])
def test_upstream_statuses_map_to_error_kinds(upstream, fault, error, retryable, call) -> None:
    upstream.fail_next("chat", fault)
    chat = adapter(upstream)
    with pytest.raises(error) as info:
        if call == "stream":
            list(chat.stream_chat(request(), SPEC))
        else:
            chat.complete_chat(request(), SPEC)
    assert info.value.retryable is retryable
    assert info.value.upstream_status == fault.status
    assert f"Error code: {fault.status}" in str(info.value)


def test_a_refused_key_is_an_auth_error(upstream) -> None:
    with pytest.raises(ProviderAuthError) as info:
        list(adapter(upstream, key="sk-wrong").stream_chat(request(), SPEC))
    assert not info.value.retryable


def test_a_hang_past_the_timeout_is_a_timeout(upstream) -> None:
    upstream.fail_next("chat", Fault(kind="hang"))
    with pytest.raises(ProviderTimeout) as info:
        list(adapter(upstream, timeout_s=0.3).stream_chat(request(), SPEC))
    assert info.value.retryable


@pytest.mark.parametrize("kind", ["cut", "malformed", "error_event"])
def test_a_broken_stream_fails_after_the_delivered_deltas(upstream, kind) -> None:
    upstream.fail_next("chat", Fault(kind=kind, after_chunks=2))
    texts = []
    with pytest.raises(ProviderUnavailable) as info:
        for item in adapter(upstream).stream_chat(request(), SPEC):
            texts.append(item.text)
    assert texts == upstream.chunks()[:2]
    assert info.value.retryable


def test_a_stream_that_ends_without_finishing_is_an_error(upstream) -> None:
    upstream.fail_next("chat", Fault(kind="cut", after_chunks=5))
    with pytest.raises(ProviderUnavailable):
        list(adapter(upstream).stream_chat(request(), SPEC))


@pytest.mark.parametrize("call", ["stream", "complete"])
def test_an_unreachable_server_is_unavailable(upstream, call) -> None:
    closed = FakeUpstream().start()
    url = closed.openai_base_url
    closed.stop()
    chat = adapter(upstream, base_url=url)
    with pytest.raises(ProviderUnavailable, match="connection failed") as info:
        if call == "stream":
            list(chat.stream_chat(request(), SPEC))
        else:
            chat.complete_chat(request(), SPEC)
    assert info.value.retryable


def test_a_stream_left_part_read_closes_its_connection(upstream) -> None:
    """A caller that goes away mid-reply closes the upstream connection (so the provider stops
    generating); it is not handed to the next request half-read, which gets a whole reply on a
    new connection."""
    upstream.chunk_delay_s = 0.05
    chat = adapter(upstream)
    stream = chat.stream_chat(request(), SPEC)
    assert next(stream).text == upstream.chunks()[0]
    stream.close()
    upstream.chunk_delay_s = 0.0
    texts, _rest = drain(chat.stream_chat(request(), SPEC))
    assert texts == upstream.chunks()
    ports = [r.client_port for r in upstream.requests_to("/v1/chat/completions")]
    assert len(ports) == 2 and ports[0] != ports[1]
