"""Widely used third-party clients, unchanged, against the hub: LangChain's chat models with
bound tools (`langchain-openai`'s `ChatOpenAI`, `langchain-anthropic`'s `ChatAnthropic`) and an
embeddings retriever (`OpenAIEmbeddings` behind an `InMemoryVectorStore`).

Each client is pointed at the hub by its base URL and a hub API key, nothing else; the fake
upstream sits behind the hub (with `tools` it answers a call `{"query": <last user text>}`, after
a tool message it answers text; its embeddings are a hash of each text). Every test ends on the
ledger: the balance dropped by exactly the sum of the jobs' charges and nothing is held.

No test downloads anything: `OpenAIEmbeddings(check_embedding_ctx_length=False)` sends the raw
texts, so tiktoken (imported by langchain-openai) never fetches a vocabulary, and LangSmith
tracing stays off (no LANGSMITH_*/LANGCHAIN_* variables)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_core.vectorstores import InMemoryVectorStore
from langchain_openai import ChatOpenAI, OpenAIEmbeddings

from app.models.jobs import Job
from tests.jobs.conftest import balance, job_settings, token_of, wait_until_finished

QUESTION = "Weather in Paris?"
DOCUMENTS = ["The cat sat on the mat.", "Weather in Paris is mild in spring.",
             "Invoices are due in thirty days.", "Rust has no garbage collector."]


@tool
def get_weather(query: str) -> str:
    """The weather for a question about a city."""
    return f"12 C and rain ({query})"


@pytest.fixture(params=["web", "queue"])
def settings(request, migrated_database, fake_upstream_server):
    return job_settings(HUB_COMPAT_EXECUTOR=request.param)


@pytest.fixture(autouse=True)
def nothing_downloaded(tmp_path, monkeypatch):
    """tiktoken caches what it downloads in TIKTOKEN_CACHE_DIR: it stays empty (on an offline
    machine a download attempt fails the test outright); LangSmith tracing is off."""
    for name in ("LANGSMITH_TRACING", "LANGCHAIN_TRACING_V2", "LANGSMITH_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path / "tiktoken"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    yield
    assert list(cache.iterdir()) == []


@pytest.fixture
def hub_key(user_headers) -> str:
    return token_of(user_headers)


@pytest.fixture
def assert_charged(app, funded_user, upstream) -> Callable[[], list[str]]:
    """Call at the end of a test: every job the user ran settled with a charge, the balance
    dropped by exactly their sum and nothing is held. Returns the hub endpoint each job came
    through (the job's `source`), oldest first."""
    before = balance(app, funded_user).balance

    def check() -> list[str]:
        with app.app_context():
            ids = [job.id for job in Job.select().where(Job.user == funded_user.id)
                   .order_by(Job.created_at)]
        jobs = [wait_until_finished(app, job_id) for job_id in ids]
        assert jobs and all(job.status == "succeeded" and job.cost_credits > 0 for job in jobs)
        after = balance(app, funded_user)
        assert (after.balance, after.held) == (before - sum(job.cost_credits for job in jobs), 0)
        return [job.source for job in jobs]

    return check


def _tool_round_trip(model) -> list[AIMessage]:
    """Ask, run the tool the model called, send its result back: the two replies."""
    bound = model.bind_tools([get_weather])
    messages = [HumanMessage(QUESTION)]
    first = bound.invoke(messages)
    assert first.tool_calls and first.tool_calls[0]["name"] == "get_weather"
    assert first.tool_calls[0]["args"] == {"query": QUESTION} and first.tool_calls[0]["id"]
    result = get_weather.invoke(first.tool_calls[0])
    assert isinstance(result, ToolMessage) and result.tool_call_id == first.tool_calls[0]["id"]
    second = bound.invoke([*messages, first, result])
    assert not second.tool_calls and second.text
    assert all(reply.usage_metadata["output_tokens"] > 0 for reply in (first, second))
    return [first, second]


def _streamed_call(model) -> dict:
    chunks = list(model.bind_tools([get_weather]).stream([HumanMessage(QUESTION)]))
    assert all(isinstance(chunk, AIMessageChunk) for chunk in chunks)
    # The hub may coalesce the name and argument pieces into fewer chunks (the queue relay does)
    assert sum(len(chunk.tool_call_chunks) for chunk in chunks) >= 1 and len(chunks) >= 2
    whole = chunks[0]
    for chunk in chunks[1:]:
        whole += chunk
    assert len(whole.tool_calls) == 1 and whole.usage_metadata["output_tokens"] > 0
    return whole.tool_calls[0]


# --- langchain-openai ChatOpenAI ------------------------------------------------------------

@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-haiku-4-5"])
@pytest.mark.parametrize("responses_api", [False, True], ids=["chat", "responses"])
def test_chat_openai_runs_a_tool_round_trip(hub, hub_key, assert_charged, upstream, model,
                                            responses_api) -> None:
    chat = ChatOpenAI(base_url=f"{hub}/v1", api_key=hub_key, model=model, max_retries=0,
                      use_responses_api=responses_api)
    _tool_round_trip(chat)
    path = "/v1/messages" if model.startswith("claude") else "/v1/chat/completions"
    assert len(upstream.requests_to(path)) == 2
    assert assert_charged() == ["responses" if responses_api else "openai"] * 2


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-haiku-4-5"])
@pytest.mark.parametrize("responses_api", [False, True], ids=["chat", "responses"])
def test_chat_openai_streams_tool_call_chunks_into_one_call(hub, hub_key, assert_charged, model,
                                                            responses_api) -> None:
    chat = ChatOpenAI(base_url=f"{hub}/v1", api_key=hub_key, model=model, max_retries=0,
                      stream_usage=True, use_responses_api=responses_api)
    call = _streamed_call(chat)
    assert call["name"] == "get_weather" and call["args"] == {"query": QUESTION}
    assert call["id"]
    assert assert_charged() == ["responses" if responses_api else "openai"]


# --- langchain-anthropic ChatAnthropic ------------------------------------------------------

def test_chat_anthropic_runs_a_tool_round_trip(hub, hub_key, assert_charged, upstream) -> None:
    chat = ChatAnthropic(base_url=hub, api_key=hub_key, model="claude-haiku-4-5",
                         max_retries=0)
    _tool_round_trip(chat)
    sent = upstream.requests_to("/v1/messages")[-1].body["messages"]
    assert sent[-1]["content"][0]["type"] == "tool_result"
    assert assert_charged() == ["anthropic"] * 2


def test_chat_anthropic_streams_tool_call_chunks_into_one_call(hub, hub_key,
                                                               assert_charged) -> None:
    chat = ChatAnthropic(base_url=hub, api_key=hub_key, model="claude-haiku-4-5",
                         max_retries=0)
    call = _streamed_call(chat)
    assert call["name"] == "get_weather" and call["args"] == {"query": QUESTION}
    assert assert_charged() == ["anthropic"]


# --- an embeddings retriever ----------------------------------------------------------------

@pytest.mark.parametrize("settings", ["web"], indirect=True)  # embeddings always run in the web
def test_an_in_memory_retriever_finds_a_text_by_itself(hub, hub_key, assert_charged,
                                                       upstream) -> None:
    embeddings = OpenAIEmbeddings(base_url=f"{hub}/v1", api_key=hub_key, max_retries=0,
                                  model="text-embedding-3-small",
                                  check_embedding_ctx_length=False)
    store = InMemoryVectorStore.from_texts(DOCUMENTS, embeddings)
    for query in DOCUMENTS:
        found = store.as_retriever(search_kwargs={"k": 2}).invoke(query)
        assert found[0].page_content == query
    sent = [request.body["input"] for request in upstream.requests_to("/v1/embeddings")]
    assert sent == [DOCUMENTS, *([text] for text in DOCUMENTS)]
    assert assert_charged() == ["openai"] * (1 + len(DOCUMENTS))
