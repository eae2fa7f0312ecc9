"""The official SDKs against the hub's /v1 endpoints, with the fake upstream behind it.

Every test runs on both executors: `web` (the web thread serving the caller runs the job) and
`queue` (a Dramatiq worker process runs it and the web thread relays its event stream)."""

from __future__ import annotations

import anthropic
import openai
import pytest

from app.models.jobs import Job
from tests.fake_upstream import WORDS
from tests.jobs.conftest import balance, job_settings, token_of


@pytest.fixture(params=["web", "queue"])
def settings(request, migrated_database, fake_upstream_server):
    return job_settings(HUB_COMPAT_EXECUTOR=request.param)


def _reply(count: int) -> str:
    return "".join(WORDS[i % len(WORDS)] if i == 0 else " " + WORDS[i % len(WORDS)]
                   for i in range(count))


@pytest.fixture
def openai_client(hub, user_headers) -> openai.OpenAI:
    return openai.OpenAI(api_key=token_of(user_headers), base_url=f"{hub}/v1", max_retries=0)


@pytest.fixture
def anthropic_client(hub, user_headers) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=token_of(user_headers), base_url=hub, max_retries=0)


def test_openai_sdk_streams_with_usage(app, openai_client, upstream, funded_user) -> None:
    before = balance(app, funded_user).balance
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Say hello"}], stream=True,
        max_tokens=50, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == _reply(5)
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 5
    cost = chunks[-1].usage.model_extra["cost_credits"]
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    assert balance(app, funded_user).balance == before - cost
    assert upstream.requests_to("/v1/chat/completions")[0].headers["authorization"] == \
        f"Bearer {upstream.api_key}"  # the hub's own key upstream, never the user's


def test_openai_sdk_non_streaming(app, openai_client, upstream) -> None:
    response = openai_client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "system", "content": "be brief"},
                                       {"role": "user", "content": "hi"}], max_tokens=20)
    completion = response.parse()
    assert completion.choices[0].message.content == _reply(5)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.completion_tokens == 5
    assert int(response.headers["x-hub-cost-credits"]) == \
        completion.usage.model_extra["cost_credits"] > 0
    assert float(response.headers["x-hub-overhead-ms"]) >= 0


def test_openai_sdk_lists_models(openai_client) -> None:
    ids = {m.id for m in openai_client.models.list()}
    assert {"gpt-4o-mini", "claude-haiku-4-5", "local-echo"} <= ids
    assert "sora-2" not in ids  # video models are not chat models


def test_openai_errors_use_openai_shapes(openai_client, hub, settings, app) -> None:
    with pytest.raises(openai.NotFoundError):
        openai_client.chat.completions.create(model="nope", messages=[
            {"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError) as info:
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[])
    assert "messages" in info.value.message


def test_insufficient_credit_is_402_insufficient_quota(app, hub, settings) -> None:
    from tests.factories import auth_headers, create_user

    poor = openai.OpenAI(api_key=token_of(auth_headers(create_user(), settings.SECRET_KEY)),
                         base_url=f"{hub}/v1", max_retries=0)
    with pytest.raises(openai.APIStatusError) as info:
        poor.chat.completions.create(model="gpt-4o-mini", messages=[
            {"role": "user", "content": "x"}])
    assert info.value.status_code == 402
    assert info.value.body["code"] == "insufficient_quota"
    assert info.value.body["type"] == "insufficient_quota"


def test_anthropic_sdk_streams(app, anthropic_client, upstream, funded_user) -> None:
    with anthropic_client.messages.stream(model="claude-haiku-4-5", max_tokens=50,
                                          system="be kind",
                                          messages=[{"role": "user", "content": "hi"}]) as s:
        text = "".join(s.text_stream)
        final = s.get_final_message()
    assert text == _reply(5)
    assert final.usage.output_tokens == 5
    assert final.stop_reason == "end_turn"


def test_anthropic_sdk_non_streaming(anthropic_client, upstream) -> None:
    message = anthropic_client.messages.create(
        model="claude-haiku-4-5", max_tokens=50,
        messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}])
    assert message.content[0].text == _reply(5)
    assert message.usage.output_tokens == 5
    assert message.usage.input_tokens > 0


def test_anthropic_errors_use_anthropic_shapes(anthropic_client) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=0,
                                         messages=[{"role": "user", "content": "x"}])
    assert info.value.body["type"] == "error"
    assert "max_tokens" in info.value.body["error"]["message"]


def test_openai_client_disconnect_cancels_and_charges_only_delivered(
        app, openai_client, upstream, funded_user, settings) -> None:
    upstream.chunk_count, upstream.chunk_delay_s = 200, 0.02
    before = balance(app, funded_user).balance
    stream = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "long story"}], stream=True,
        max_tokens=500)
    received = []
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            received.append(chunk.choices[0].delta.content)
        if len(received) >= 3:
            break
    stream.close()  # the client goes away
    with app.app_context():
        job = Job.select().order_by(Job.created_at.desc()).get()
    from tests.jobs.conftest import wait_until_finished

    job = wait_until_finished(app, job.id)
    assert job.executor == settings.HUB_COMPAT_EXECUTOR
    assert job.status == "canceled"
    assert 3 <= job.output_tokens < 200
    assert balance(app, funded_user).balance == before - job.cost_credits
    assert balance(app, funded_user).held == 0
