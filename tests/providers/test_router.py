"""The router: retries with backoff, retry-after, fallback, never after delivery, breakers,
weighted choice. Through the official SDKs against the fake upstream."""

from __future__ import annotations

from collections import Counter

import pytest

from app.chat.events import TextDelta, Usage
from app.chat.record import messages_from_record
from app.chat.request import ChatRequest
from app.providers.errors import (
    ModelNotFound,
    NoProviderAvailable,
    ProviderBadRequest,
    ProviderStreamInterrupted,
    ProviderTimeout,
    ProviderUnavailable,
)
from app.providers.router import complete_chat, current_router, stream_chat
from tests.fake_upstream import Fault
from tests.providers.conftest import FakeClock

MESSAGES = [{"role": "user", "content": "Hello there"}]
FALLBACKS = {"gpt-4o": ["claude-haiku-4-5"]}


def request(model: str = "gpt-4o") -> ChatRequest:
    return ChatRequest(model=model, messages=messages_from_record(MESSAGES), max_tokens=100)


def collect(model: str = "gpt-4o", **kwargs) -> tuple[str, list, list[tuple[str, str]]]:
    tried: list[tuple[str, str]] = []
    items = list(stream_chat(request(model), on_provider=lambda p, c: tried.append((p, c)),
                             **kwargs))
    text = "".join(i.text for i in items if isinstance(i, TextDelta))
    return text, items, tried


def test_a_healthy_stream_ends_with_usage(make_hub, upstream) -> None:
    hub = make_hub()
    text, items, tried = collect()
    assert text == upstream.reply_text()
    assert isinstance(items[-1], Usage) and items[-1].output_tokens == 5
    assert tried == [("openai", "openai")]
    assert hub.sleeps.waits == []


def test_a_server_error_is_retried_with_backoff(make_hub, upstream) -> None:
    hub = make_hub()
    upstream.fail_next("chat", Fault(status=500))
    text, _, tried = collect()
    assert text == upstream.reply_text()
    assert tried == [("openai", "openai")] * 2
    assert len(hub.sleeps.waits) == 1 and 0 < hub.sleeps.waits[0] <= 0.05


def test_retry_after_is_honoured(make_hub, upstream) -> None:
    hub = make_hub()
    upstream.fail_next("chat", Fault(status=429, retry_after="0.04"))
    text, _, _ = collect()
    assert text == upstream.reply_text()
    assert hub.sleeps.waits == [0.04]


def test_retries_exhausted_fall_back_to_the_next_provider(make_hub, upstream) -> None:
    hub = make_hub(HUB_MODEL_FALLBACKS=FALLBACKS)
    upstream.fail_next("chat", Fault(status=503), times=3)
    text, items, tried = collect()
    assert tried == [("openai", "openai")] * 3 + [("anthropic", "anthropic")]
    assert text == upstream.reply_text()
    assert items[-1].finish_reason == "end_turn"
    assert len(hub.sleeps.waits) == 2
    assert upstream.requests_to("/v1/messages")[0].body["model"] == "claude-haiku-4-5"


def test_a_retry_after_longer_than_the_cap_falls_back_at_once(make_hub, upstream) -> None:
    hub = make_hub(HUB_MODEL_FALLBACKS=FALLBACKS)
    upstream.fail_next("chat", Fault(status=429, retry_after="30"))
    _, _, tried = collect()
    assert tried == [("openai", "openai"), ("anthropic", "anthropic")]
    assert hub.sleeps.waits == []


def test_a_timeout_before_the_first_token_falls_back(make_hub, upstream) -> None:
    make_hub(HUB_MODEL_FALLBACKS=FALLBACKS, HUB_PROVIDER_TIMEOUT_S=0.3,
             HUB_PROVIDER_MAX_ATTEMPTS=1)
    upstream.fail_next("chat", Fault(kind="hang"))
    text, _, tried = collect()
    assert tried == [("openai", "openai"), ("anthropic", "anthropic")]
    assert text == upstream.reply_text()


def test_a_stream_cut_before_any_text_is_retried(make_hub, upstream) -> None:
    make_hub()
    upstream.fail_next("chat", Fault(kind="cut", after_chunks=0))
    text, _, tried = collect()
    assert text == upstream.reply_text() and len(tried) == 2


@pytest.mark.parametrize("fault", [Fault(kind="cut", after_chunks=2),
                                   Fault(kind="malformed", after_chunks=2)])
def test_no_retry_or_fallback_after_the_first_delivered_token(make_hub, upstream, fault) -> None:
    make_hub(HUB_MODEL_FALLBACKS=FALLBACKS)
    upstream.fail_next("chat", fault)
    delivered = []
    with pytest.raises(ProviderStreamInterrupted) as info:
        for item in stream_chat(request()):
            delivered.append(item.text)
    assert delivered == upstream.chunks()[:2]
    assert isinstance(info.value.__cause__, ProviderUnavailable)
    assert len(upstream.requests_to("/v1/chat/completions")) == 1
    assert upstream.requests_to("/v1/messages") == []


def test_a_stall_after_the_first_token_is_not_retried(make_hub, upstream) -> None:
    make_hub(HUB_MODEL_FALLBACKS=FALLBACKS, HUB_PROVIDER_TIMEOUT_S=0.3)
    upstream.fail_next("chat", Fault(kind="hang", after_chunks=1))
    delivered = []
    with pytest.raises(ProviderStreamInterrupted) as info:
        for item in stream_chat(request()):
            delivered.append(item.text)
    assert delivered == ["Hello"]
    assert isinstance(info.value.__cause__, ProviderTimeout)
    assert upstream.requests_to("/v1/messages") == []


def test_an_invalid_request_is_neither_retried_nor_sent_elsewhere(make_hub, upstream) -> None:
    make_hub(HUB_MODEL_FALLBACKS=FALLBACKS)
    upstream.fail_next("chat", Fault(status=400))
    with pytest.raises(ProviderBadRequest):
        collect()
    assert len(upstream.requests) == 1


def test_when_everything_fails_the_last_error_is_raised(make_hub, upstream) -> None:
    make_hub(HUB_MODEL_FALLBACKS=FALLBACKS, HUB_PROVIDER_MAX_ATTEMPTS=2)
    upstream.fail_next("chat", Fault(status=500), times=2)
    upstream.fail_next("messages", Fault(status=529), times=2)
    with pytest.raises(ProviderUnavailable) as info:
        collect()
    assert info.value.upstream_status == 529


def test_unknown_and_disabled_models_are_not_found(make_hub) -> None:
    make_hub(ANTHROPIC_API_KEY="")
    with pytest.raises(ModelNotFound):
        collect("no-such-model")
    with pytest.raises(ModelNotFound):
        collect("claude-haiku-4-5")


def test_should_stop_closes_the_stream_between_chunks(make_hub, upstream) -> None:
    make_hub()
    upstream.chunk_count = 50
    seen: list = []
    for item in stream_chat(request(), should_stop=lambda: len(seen) >= 3):
        seen.append(item)
    assert [i.text for i in seen] == upstream.chunks()[:3]  # no more text, and no usage


def test_should_stop_before_the_start_calls_nothing(make_hub, upstream) -> None:
    make_hub()
    assert list(stream_chat(request(), should_stop=lambda: True)) == []
    assert upstream.requests == []


def test_complete_chat_retries_too(make_hub, upstream) -> None:
    make_hub()
    upstream.fail_next("chat", Fault(status=502))
    text, usage = complete_chat(request())
    assert text == upstream.reply_text() and usage.finish_reason == "stop"


def _two_openai_channels(upstream, **weights) -> list[dict]:
    return [{"id": name, "provider": "openai", "weight": weight, "models": ["gpt-4o"]}
            for name, weight in weights.items()]


def test_a_retry_goes_to_another_channel_without_waiting(make_hub, upstream) -> None:
    hub = make_hub(OPENAI_API_KEY=upstream.api_key,
                   HUB_PROVIDER_CHANNELS=_two_openai_channels(upstream, a=1, b=1))
    upstream.fail_next("chat", Fault(status=500))
    _, _, tried = collect()
    assert len(tried) == 2 and tried[0] != tried[1]
    assert hub.sleeps.waits == []


def test_weighted_choice_follows_the_weights(make_hub, upstream) -> None:
    make_hub(HUB_PROVIDER_CHANNELS=[
        {"id": f"local-{n}", "provider": "local", "weight": w} for n, w in
        (("a", 1), ("b", 2), ("c", 7))], HUB_LOCAL_PROVIDER=False)
    router = current_router()
    picks = Counter(router.choose("local-echo").id for _ in range(2000))
    for channel_id, weight in (("local-a", 1), ("local-b", 2), ("local-c", 7)):
        assert abs(picks[channel_id] / 2000 - weight / 10) < 0.05


def test_the_breaker_opens_skips_the_channel_then_probes_and_closes(make_hub, upstream) -> None:
    clock = FakeClock()
    hub = make_hub(clock=clock, HUB_BREAKER_FAILURE_THRESHOLD=2, HUB_BREAKER_COOLDOWN_S=30,
                   HUB_PROVIDER_MAX_ATTEMPTS=1, ANTHROPIC_API_KEY="")
    breakers = hub.registry.breakers
    upstream.fail_next("chat", Fault(status=500), times=2)
    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            collect()
    assert breakers.state("openai") == ("open", 2)

    with pytest.raises(NoProviderAvailable):  # open: the upstream is not even called
        collect()
    assert len(upstream.requests) == 2

    clock.advance(30)
    text, _, _ = collect()  # the half-open probe succeeds
    assert text == upstream.reply_text()
    assert breakers.state("openai") == ("closed", 0)


def test_an_open_breaker_sends_traffic_to_the_fallback(make_hub, upstream) -> None:
    clock = FakeClock()
    hub = make_hub(clock=clock, HUB_BREAKER_FAILURE_THRESHOLD=1, HUB_MODEL_FALLBACKS=FALLBACKS,
                   HUB_PROVIDER_MAX_ATTEMPTS=1)
    hub.registry.breakers.record_failure("openai", clock())
    _, _, tried = collect()
    assert tried == [("anthropic", "anthropic")]


def test_weights_apply_among_the_allowed_channels_only(make_hub, upstream) -> None:
    clock = FakeClock()
    hub = make_hub(clock=clock, HUB_BREAKER_FAILURE_THRESHOLD=1, HUB_LOCAL_PROVIDER=False,
                   HUB_PROVIDER_CHANNELS=[{"id": f"local-{n}", "provider": "local", "weight": w}
                                          for n, w in (("a", 1), ("b", 3), ("c", 6))])
    hub.registry.breakers.record_failure("local-c", clock())
    router = current_router()
    picks = Counter(router.choose("local-echo").id for _ in range(2000))
    assert picks["local-c"] == 0
    assert abs(picks["local-a"] / 2000 - 0.25) < 0.05


def test_a_cooled_down_channel_that_is_not_drawn_keeps_its_probe(make_hub, upstream) -> None:
    clock = FakeClock()
    hub = make_hub(clock=clock, HUB_BREAKER_FAILURE_THRESHOLD=1, HUB_LOCAL_PROVIDER=False,
                   HUB_BREAKER_COOLDOWN_S=30,
                   HUB_PROVIDER_CHANNELS=[{"id": "heavy", "provider": "local", "weight": 1e9},
                                          {"id": "light", "provider": "local", "weight": 1e-9}])
    hub.registry.breakers.record_failure("light", clock())
    clock.advance(30)
    assert current_router().choose("local-echo").id == "heavy"
    assert hub.registry.breakers.state("light")[0] == "open"  # its probe is still available
    assert current_router().choose("local-echo", tried={"heavy"}).id == "light"
    assert hub.registry.breakers.state("light")[0] == "half_open"
