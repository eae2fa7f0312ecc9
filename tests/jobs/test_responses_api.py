"""`POST /v1/responses` through the official `openai` SDK, with the fake upstream behind the hub.

The hub is stateless here: each request carries its whole conversation, and the reply runs on
the same job path as chat completions (OpenAI models through chat completions upstream, Claude
through messages). Runs on PostgreSQL with both executors and on SQLite (the embedded shape).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import openai
import pytest
from werkzeug.serving import make_server

from app.models.jobs import Job
from tests.conftest import sqlite_app
from tests.factories import auth_headers, create_user
from tests.fake_upstream import WORDS
from tests.jobs.conftest import UPSTREAM, balance, fund, job_settings, token_of


@dataclass
class Served:
    app: object
    url: str
    user: object
    client: openai.OpenAI

    def balance(self) -> int:
        return balance(self.app, self.user).balance

    def jobs(self) -> int:
        with self.app.app_context():
            return Job.select().count()


@pytest.fixture(params=["web", "queue", "sqlite"])
def backend(request) -> str:
    return request.param


@pytest.fixture
def settings(backend, migrated_database, fake_upstream_server):
    return job_settings(HUB_COMPAT_EXECUTOR="queue" if backend == "queue" else "web")


@pytest.fixture
def served(request, backend, settings, upstream, tmp_path) -> Iterator[Served]:
    if backend != "sqlite":
        app, url = request.getfixturevalue("app"), request.getfixturevalue("hub")
        user = request.getfixturevalue("funded_user")
        yield Served(app, url, user, _client(url, auth_headers(user, settings.SECRET_KEY)))
        return
    with sqlite_app(tmp_path, BROKER_URL="", HUB_COMPAT_EXECUTOR="web",
                    OPENAI_API_KEY=UPSTREAM.api_key, OPENAI_BASE_URL=UPSTREAM.openai_base_url,
                    ANTHROPIC_API_KEY=UPSTREAM.api_key,
                    ANTHROPIC_BASE_URL=UPSTREAM.anthropic_base_url) as app:
        with app.app_context():
            user = create_user()
        fund(app, user, 10_000_000)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}"
        try:
            yield Served(app, url, user, _client(url, auth_headers(
                user, app.extensions["hub"].settings.SECRET_KEY)))
        finally:
            server.shutdown()
            thread.join(timeout=10)


def _client(url: str, headers: dict[str, str]) -> openai.OpenAI:
    return openai.OpenAI(api_key=token_of(headers), base_url=f"{url}/v1", max_retries=0)


def _reply(count: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(count))


def _upstream_chat(upstream) -> dict:
    return upstream.requests_to("/v1/chat/completions")[-1].body


WEATHER = {"type": "function", "name": "lookup", "description": "Look a thing up",
           "parameters": {"type": "object", "properties": {"query": {"type": "string"}},
                          "required": ["query"]}}


def test_a_response_with_its_usage_and_charge(served, upstream) -> None:
    before = served.balance()
    raw = served.client.responses.with_raw_response.create(
        model="gpt-4o-mini", input="Say hello", instructions="Be brief.", max_output_tokens=50)
    response = raw.parse()
    assert response.output_text == _reply(5)
    assert response.id.startswith("resp_") and response.status == "completed"
    assert response.object == "response" and response.model == "gpt-4o-mini"
    assert response.usage.output_tokens == 5 and response.usage.input_tokens > 0
    assert response.usage.total_tokens == response.usage.input_tokens + 5
    cost = response.usage.model_extra["cost_credits"]
    assert cost > 0 and int(raw.headers["x-hub-cost-credits"]) == cost
    assert served.balance() == before - cost
    sent = _upstream_chat(upstream)
    assert sent["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Say hello"}]
    assert sent["max_completion_tokens" if "max_completion_tokens" in sent
                else "max_tokens"] == 50


def test_a_streamed_response_is_typed_numbered_events(served, upstream) -> None:
    before = served.balance()
    events = list(served.client.responses.create(
        model="gpt-4o-mini", input=[{"role": "user", "content": [
            {"type": "input_text", "text": "Say hello"}]}], stream=True))
    kinds = [event.type for event in events]
    assert kinds[:5] == ["response.created", "response.in_progress",
                         "response.output_item.added", "response.content_part.added",
                         "response.output_text.delta"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done",
                          "response.output_item.done", "response.completed"]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    assert text == _reply(5)
    final = events[-1].response
    assert final.output_text == text and final.usage.output_tokens == 5
    assert served.balance() == before - final.usage.model_extra["cost_credits"]


def test_the_stream_helper_assembles_the_final_response(served, upstream) -> None:
    with served.client.responses.stream(model="gpt-4o-mini", input="Say hello",
                                        instructions="Be kind.") as stream:
        deltas = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == _reply(5)
    assert final.status == "completed" and final.usage.output_tokens == 5


def test_a_tool_call_streams_and_its_output_goes_back_as_a_tool_message(served, upstream) -> None:
    with served.client.responses.stream(model="gpt-4o-mini", input="weather in Paris",
                                        tools=[WEATHER]) as stream:
        pieces = [event.delta for event in stream
                  if event.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    call = final.output[-1]
    assert call.type == "function_call" and call.name == "lookup"
    assert pieces and "".join(pieces) == call.arguments  # a batch may join upstream pieces
    assert json.loads(call.arguments) == {"query": "weather in Paris"}
    assert _upstream_chat(upstream)["tools"][0]["function"]["name"] == "lookup"

    again = served.client.responses.create(model="gpt-4o-mini", tools=[WEATHER], input=[
        {"role": "user", "content": "weather in Paris"},
        {"type": "function_call", "call_id": call.call_id, "name": call.name,
         "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21 C"}])
    assert again.output_text == _reply(5)
    messages = _upstream_chat(upstream)["messages"]
    assert messages[1]["role"] == "assistant"
    assert messages[1]["tool_calls"][0]["id"] == call.call_id
    assert messages[2] == {"role": "tool", "tool_call_id": call.call_id,
                           "content": "sunny, 21 C"}


def test_a_json_schema_text_format_reaches_the_upstream_as_response_format(
        served, upstream) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}},
              "required": ["answer"], "additionalProperties": False}
    response = served.client.responses.create(
        model="gpt-4o-mini", input="answer me",
        text={"format": {"type": "json_schema", "name": "answer", "schema": schema,
                         "strict": True}})
    assert _upstream_chat(upstream)["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "answer", "schema": schema,
                                               "strict": True}}
    assert response.text.format.type == "json_schema"


def test_a_claude_model_answers_through_messages(served, upstream) -> None:
    before = served.balance()
    response = served.client.responses.create(model="claude-haiku-4-5", input="hi",
                                              instructions="Be kind.", max_output_tokens=50)
    assert response.output_text == _reply(5) and response.usage.output_tokens == 5
    sent = upstream.requests_to("/v1/messages")[-1].body
    assert sent["system"] in ("Be kind.", [{"type": "text", "text": "Be kind."}])
    assert sent["messages"][0]["role"] == "user"
    assert served.balance() == before - response.usage.model_extra["cost_credits"]


def test_a_claude_model_streams(served, upstream) -> None:
    events = list(served.client.responses.create(model="claude-haiku-4-5", input="hi",
                                                 max_output_tokens=50, stream=True))
    assert events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == \
        _reply(5) == events[-1].response.output_text


def test_previous_response_id_is_refused_as_the_hub_keeps_none(served, upstream) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        served.client.responses.create(model="gpt-4o-mini", input="and then?",
                                       previous_response_id="resp_123")
    assert refused.value.body["message"] == ("previous_response_id: the hub does not keep "
                                             "responses; send the whole conversation as input")
    assert refused.value.body["type"] == "invalid_request_error"


@pytest.mark.parametrize(("change", "named"), [
    ({"input": []}, "input"),
    ({"tools": [{"type": "web_search"}]}, "web_search"),
    ({"background": True}, "background"),
    ({"input": [{"role": "user", "content": [{"type": "input_file", "file_id": "f"}]}]},
     "input_file"),
])
def test_a_bad_request_is_refused_and_nothing_is_charged(served, upstream, change,
                                                         named) -> None:
    before = served.balance()
    with pytest.raises(openai.BadRequestError) as refused:
        served.client.responses.create(**{"model": "gpt-4o-mini", "input": "hi", **change})
    assert named in refused.value.message
    assert served.balance() == before and served.jobs() == 0
    assert upstream.requests_to("/v1/chat/completions") == []


def test_a_claude_tool_call_follows_its_text_as_items_of_their_own(served, upstream) -> None:
    with served.client.responses.stream(model="claude-haiku-4-5", input="weather in Paris",
                                        tools=[WEATHER], max_output_tokens=200) as stream:
        final = stream.get_final_response()
    assert [item.type for item in final.output] == ["message", "function_call"]
    assert json.loads(final.output[1].arguments) == {"query": "weather in Paris"}
    assert upstream.requests_to("/v1/messages")[-1].body["tools"][0]["name"] == "lookup"
