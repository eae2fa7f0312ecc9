"""POST /v1/embeddings through the official `openai` SDK, on PostgreSQL and on SQLite, with
the fake upstream behind the hub: the vectors relayed as sent, and the ledger after each call
(held at the exact input, charged the reported tokens, nothing for a failure or a refusal)."""

from __future__ import annotations

import base64
import math
import struct
import threading
import uuid
from collections.abc import Iterator

import httpx2 as httpx
import openai
import pytest
from werkzeug.serving import make_server

from app import create_app
from app.models.api_keys import ApiKey
from app.models.jobs import Job, UsageRecord
from app.providers.tokens import count_text
from app.services import api_keys, ledger
from app.services.ledger.checker import check_ledger
from tests.conftest import REDIS_PREFIX, _truncate_all_tables, sqlite_app
from tests.factories import auth_headers, create_user
from tests.fake_upstream import Fault
from tests.jobs.conftest import UPSTREAM, job_settings, token_of

SMALL_PRICE = 2_000  # text-embedding-3-small: $0.02 per million tokens, in credits
LARGE_PRICE = 13_000  # text-embedding-3-large: $0.13
FUNDS = 1_000_000


def _upstream_settings() -> dict[str, object]:
    return {"OPENAI_API_KEY": UPSTREAM.api_key, "OPENAI_BASE_URL": UPSTREAM.openai_base_url,
            "HUB_JOB_LEASE_S": 3, "HUB_PROVIDER_RETRY_INITIAL_S": 0.01,
            "HUB_PROVIDER_RETRY_MAX_S": 0.05, "HUB_PROVIDER_MAX_ATTEMPTS": 2,
            "HUB_BREAKER_FAILURE_THRESHOLD": 2, "HUB_BREAKER_COOLDOWN_S": 60,
            "HUB_PROVIDER_TIMEOUT_S": 1.0}


@pytest.fixture(params=["postgres", "sqlite"])
def hub_app(request, tmp_path, migrated_database, fake_upstream_server,
            redis_client) -> Iterator:
    if request.param == "postgres":
        app = create_app(job_settings(BROKER_URL="", **_upstream_settings()))
        yield app
        _truncate_all_tables()
        for key in redis_client.scan_iter(match=f"{REDIS_PREFIX}breaker:*"):
            redis_client.delete(key)  # breakers live in Redis: each test starts closed
    else:
        with sqlite_app(tmp_path, BROKER_URL="", **_upstream_settings()) as app:
            yield app


@pytest.fixture
def base_url(hub_app) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, hub_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def user(hub_app):
    with hub_app.app_context():
        user = create_user()
        ledger.credit(user.id, FUNDS, kind="promo", idempotency_key=f"test:{uuid.uuid4()}")
        return user


@pytest.fixture
def client(hub_app, base_url, user) -> openai.OpenAI:
    token = token_of(auth_headers(user, hub_app.extensions["hub"].settings.SECRET_KEY))
    return openai.OpenAI(api_key=token, base_url=f"{base_url}/v1", max_retries=0)


@pytest.fixture
def upstream(fake_upstream_server):
    fake_upstream_server.reset()
    yield fake_upstream_server
    fake_upstream_server.reset()


def _balance(app, user):
    with app.app_context():
        return ledger.get_balance(user.id)


def _jobs(app, user) -> list[Job]:
    with app.app_context():
        return list(Job.select().where(Job.user == user.id))


def _cost(tokens: int, price: int = SMALL_PRICE) -> int:
    return -(-tokens * price // 1_000_000)


def _unit(vector: list[float]) -> bool:
    return math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-5)


def test_one_string_is_embedded_held_exactly_and_charged_the_reported_tokens(
        hub_app, client, upstream, user) -> None:
    # 300 words that are many tokens each: the fake reports 300, the tokenizer counts more
    text = " ".join(["antidisestablishmentarianism"] * 300)
    response = client.embeddings.with_raw_response.create(
        model="text-embedding-3-large", input=text, encoding_format="float")
    result = response.parse()
    assert result.object == "list" and result.model == "text-embedding-3-large"
    assert len(result.data) == 1 and result.data[0].index == 0
    assert len(result.data[0].embedding) == 8 and _unit(result.data[0].embedding)
    assert result.usage.prompt_tokens == result.usage.total_tokens == 300
    cost = result.usage.model_extra["cost_credits"]
    assert cost == _cost(300, LARGE_PRICE) == 4 == int(response.headers["x-hub-cost-credits"])
    after = _balance(hub_app, user)
    assert after.balance == FUNDS - cost and after.held == 0
    [job] = _jobs(hub_app, user)
    assert response.headers["x-hub-job-id"] == job.id
    assert (job.type, job.status, job.executor, job.provider) == \
        ("embedding", "succeeded", "web", "openai")
    assert job.hold_credits == _cost(count_text("cl100k_base", text), LARGE_PRICE) > cost
    assert (job.input_tokens, job.output_tokens, job.cost_credits) == (300, 0, cost)
    with hub_app.app_context():
        usage = UsageRecord.get(UsageRecord.job == job.id)
        assert (usage.input_tokens, usage.cost_credits, usage.status) == (300, cost, "succeeded")
        assert check_ledger().violations == []
    sent = upstream.requests_to("/v1/embeddings")[0]
    assert sent.body == {"model": "text-embedding-3-large", "input": text,
                         "encoding_format": "float"}
    assert sent.headers["authorization"] == f"Bearer {upstream.api_key}"


def test_a_batch_in_base64_the_sdk_default_decodes_to_the_upstreams_vectors(
        hub_app, client, upstream, user) -> None:
    inputs = ["first input here", "second", "a third one"]
    result = client.embeddings.create(model="text-embedding-3-small", input=inputs)
    assert upstream.requests_to("/v1/embeddings")[0].body["encoding_format"] == "base64"
    assert [d.index for d in result.data] == [0, 1, 2]
    floats = openai.OpenAI(api_key=client.api_key, base_url=str(client.base_url),
                           max_retries=0).embeddings.create(
        model="text-embedding-3-small", input=inputs, encoding_format="float")
    for decoded, plain in zip(result.data, floats.data, strict=True):
        assert decoded.embedding == pytest.approx(plain.embedding, rel=1e-6)
    assert result.usage.prompt_tokens == 7  # the fake's words: 3 + 1 + 3
    charged = result.usage.model_extra["cost_credits"] + floats.usage.model_extra["cost_credits"]
    assert _balance(hub_app, user).balance == FUNDS - charged


def test_base64_is_relayed_as_the_upstream_encoded_it(client, upstream) -> None:
    raw = client.embeddings.with_raw_response.create(
        model="text-embedding-3-large", input="hello world", encoding_format="base64",
        dimensions=16)
    body = raw.http_response.json()
    vector = struct.unpack("<16f", base64.b64decode(body["data"][0]["embedding"]))
    assert _unit(list(vector))
    assert upstream.requests_to("/v1/embeddings")[0].body["dimensions"] == 16


def test_dimensions_and_unknown_parameters_reach_the_upstream_untouched(
        client, upstream) -> None:
    result = client.embeddings.create(
        model="text-embedding-3-small", input=[[1, 2, 3], [4, 5]], dimensions=32,
        encoding_format="float", user="end-user-7", extra_body={"vendor_option": {"a": [1]}})
    assert [len(d.embedding) for d in result.data] == [32, 32]
    assert upstream.requests_to("/v1/embeddings")[0].body == {
        "model": "text-embedding-3-small", "input": [[1, 2, 3], [4, 5]], "dimensions": 32,
        "encoding_format": "float", "user": "end-user-7", "vendor_option": {"a": [1]}}


@pytest.mark.parametrize(("body", "field"), [
    ({"input": ""}, "input[0]"),
    ({"input": []}, "input"),
    ({"input": ["ok", ""]}, "input[1]"),
    ({"input": ["ok", 3]}, "input[1]"),
    ({"input": [[1, 2], []]}, "input[1]"),
    ({"input": [1, -2]}, "input[1]"),
    ({"input": {"text": "x"}}, "input"),
    ({"input": ["x"] * 2049}, "input"),
    ({"input": "word " * 8192}, "input[0]"),
    ({"input": "x", "encoding_format": "int8"}, "encoding_format"),
    ({"input": "x", "dimensions": 0}, "dimensions"),
    ({"input": "x", "dimensions": 1537}, "dimensions"),
    ({"input": "x", "model": "text-embedding-ada-002", "dimensions": 8}, "dimensions"),
    ({"model": ""}, "model"),
])
def test_bad_input_is_400_naming_the_field_and_holds_nothing(
        hub_app, client, upstream, user, body, field) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.post("/embeddings", cast_to=object,
                    body={"model": "text-embedding-3-small", "input": "x", **body})
    assert info.value.body["message"].startswith(f"{field}:")
    assert _jobs(hub_app, user) == []
    assert _balance(hub_app, user).balance == FUNDS and _balance(hub_app, user).held == 0
    assert upstream.requests_to("/v1/embeddings") == []


def test_a_chat_model_here_and_an_embedding_model_on_chat_are_refused_before_a_hold(
        hub_app, client, upstream, user) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as info:
        client.embeddings.create(model="gpt-4o-mini", input="x")
    assert "not embedding" in info.value.message
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(model="text-embedding-3-small",
                                       messages=[{"role": "user", "content": "x"}])
    assert _jobs(hub_app, user) == [] and _balance(hub_app, user).held == 0


@pytest.mark.parametrize(("fault", "status"), [
    (Fault(status=500), 502), (Fault(status=429), 429), (Fault(status=400), 400)])
def test_an_upstream_failure_costs_nothing_and_uses_chats_statuses(
        hub_app, client, upstream, user, fault, status) -> None:
    upstream.fail_next("embeddings", fault, times=2)  # every attempt
    with pytest.raises(openai.APIStatusError) as info:
        client.embeddings.create(model="text-embedding-3-small", input="hello")
    assert info.value.status_code == status
    [job] = _jobs(hub_app, user)
    assert (job.status, job.cost_credits) == ("failed", 0)
    after = _balance(hub_app, user)
    assert (after.balance, after.held) == (FUNDS, 0)
    with hub_app.app_context():
        assert check_ledger().violations == []


def test_an_upstream_timeout_is_504_and_costs_nothing(hub_app, client, user, upstream) -> None:
    upstream.fail_next("embeddings", Fault(kind="hang"), times=2)
    upstream.hang_s = 3.0  # past the channel's timeout (HUB_PROVIDER_TIMEOUT_S)
    try:
        with pytest.raises(openai.APIStatusError) as info:
            client.embeddings.create(model="text-embedding-3-small", input="hello")
    finally:
        upstream.hang_s = 30.0
    assert info.value.status_code == 504
    [job] = _jobs(hub_app, user)
    assert (job.status, job.error_code, job.cost_credits) == ("failed", "provider_timeout", 0)
    after = _balance(hub_app, user)
    assert (after.balance, after.held) == (FUNDS, 0)


def test_the_router_retries_and_the_job_is_charged_once(hub_app, client, user,
                                                        upstream) -> None:
    upstream.fail_next("embeddings", Fault(status=500))
    result = client.embeddings.create(model="text-embedding-3-small", input="one two")
    assert len(upstream.requests_to("/v1/embeddings")) == 2
    [job] = _jobs(hub_app, user)
    assert (job.status, job.cost_credits) == ("succeeded", result.usage.model_extra["cost_credits"])
    assert _balance(hub_app, user).balance == FUNDS - job.cost_credits


def test_an_open_breaker_refuses_at_no_cost_without_calling_upstream(
        hub_app, client, user, upstream) -> None:
    upstream.fail_next("embeddings", Fault(status=500), times=2)  # opens the breaker
    with pytest.raises(openai.APIStatusError):
        client.embeddings.create(model="text-embedding-3-small", input="first")
    with pytest.raises(openai.APIStatusError) as info:
        client.embeddings.create(model="text-embedding-3-small", input="second")
    assert info.value.status_code == 502 and info.value.body["code"] == "no_provider_available"
    assert len(upstream.requests_to("/v1/embeddings")) == 2  # the second never left the hub
    assert [(j.status, j.cost_credits) for j in _jobs(hub_app, user)] == [("failed", 0)] * 2
    after = _balance(hub_app, user)
    assert (after.balance, after.held) == (FUNDS, 0)


def test_a_capped_key_is_refused_and_an_allowlist_applies(hub_app, base_url, user,
                                                          upstream) -> None:
    with hub_app.app_context():
        capped = api_keys.create_key(user, "capped", cap_total_credits=1)
        chat_only = api_keys.create_key(user, "chat", allowed_models=["local-echo"])
    big = ["many words in this input " * 50] * 20  # holds more than one credit
    for key, status in ((capped, 402), (chat_only, 403)):
        client = openai.OpenAI(api_key=key.plaintext, base_url=f"{base_url}/v1", max_retries=0)
        with pytest.raises(openai.APIStatusError) as info:
            client.embeddings.create(model="text-embedding-3-small", input=big)
        assert info.value.status_code == status
    with hub_app.app_context():
        assert ApiKey.get_by_id(capped.key.id).spent_total_credits == 0
    assert _jobs(hub_app, user) == [] and upstream.requests_to("/v1/embeddings") == []


def test_embedding_models_are_listed(client, base_url) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"text-embedding-3-small", "text-embedding-3-large", "text-embedding-ada-002",
            "gpt-4o-mini"} <= ids
    items = httpx.get(f"{base_url}/api/models?kind=embedding").json()["items"]
    assert {m["id"] for m in items} >= {"text-embedding-3-small", "local-embedding"}
    assert all(m["kind"] == "embedding" for m in items)


def test_the_job_shows_in_the_users_history(hub_app, client, base_url, user, upstream) -> None:
    client.embeddings.create(model="text-embedding-3-small", input="one two three")
    headers = {"Authorization": f"Bearer {client.api_key}"}
    items = httpx.get(f"{base_url}/api/jobs", headers=headers).json()["items"]
    assert [(j["type"], j["status"], j["usage"]) for j in items] == \
        [("embedding", "succeeded", {"input_tokens": 3, "output_tokens": 0})]
    filtered = httpx.get(f"{base_url}/api/jobs?type=embedding", headers=headers).json()
    assert len(filtered["items"]) == 1


def test_the_offline_local_model_embeds_deterministically_in_the_embedded_hub(
        tmp_path, migrated_database) -> None:
    with sqlite_app(tmp_path, BROKER_URL="", OPENAI_API_KEY="") as app:
        with app.app_context():
            user = create_user()
            ledger.credit(user.id, FUNDS, kind="promo", idempotency_key="local-embedding")
        headers = auth_headers(user, app.extensions["hub"].settings.SECRET_KEY)
        client = app.test_client()
        body = {"model": "local-embedding", "input": ["offline", "offline", "other"],
                "dimensions": 64}
        first = client.post("/v1/embeddings", headers=headers, json=body).json
        again = client.post("/v1/embeddings", headers=headers, json=body).json
        vectors = [d["embedding"] for d in first["data"]]
        assert [len(v) for v in vectors] == [64, 64, 64] and all(map(_unit, vectors))
        assert vectors[0] == vectors[1] != vectors[2]
        assert [d["embedding"] for d in again["data"]] == vectors
        tokens = sum(count_text("o200k_base", t) for t in body["input"])
        assert first["usage"]["prompt_tokens"] == tokens
        with app.app_context():
            assert ledger.get_balance(user.id).balance == \
                FUNDS - 2 * first["usage"]["cost_credits"]
            assert check_ledger().violations == []
