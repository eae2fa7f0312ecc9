"""The job API end to end on the local provider: hold → job → worker → events → settle."""

from __future__ import annotations

from app.models.jobs import Job
from app.services.prices import pricing
from tests.factories import auth_headers, create_user
from tests.jobs.conftest import balance, chat_job, fund, token_of, wait_done, ws_events


def test_chat_job_runs_streams_and_settles(app, client, hub, funded_user, user_headers) -> None:
    before = balance(app, funded_user)
    created = chat_job(client, user_headers, "tell me about ledgers")
    assert created.status_code == 202, created.json
    job_id = created.json["id"]
    assert created.json["stream_url"] == f"/ws/jobs/{job_id}"

    events, close_code = ws_events(hub, job_id, token_of(user_headers))
    types = [e["type"] for e in events]
    assert types[0] == "status" and events[0]["data"]["status"] == "queued"
    assert "delta" in types and types[-2:] == ["usage", "done"] or types[-1] == "done"
    assert events[-1]["data"]["status"] == "succeeded"
    assert close_code == 1000
    text = "".join(e["data"]["text"] for e in events if e["type"] == "delta")
    assert "tell me about ledgers" in text  # the local model echoes the prompt

    job = client.get(f"/api/jobs/{job_id}", headers=user_headers).json
    assert job["status"] == "succeeded"
    assert job["result"] == {"text": text}
    assert job["provider"] == "local"
    usage_event = next(e for e in events if e["type"] == "usage")
    assert usage_event["data"]["cost_credits"] == job["cost_credits"] > 0
    with app.app_context():
        expected = pricing.chat_cost(Job.get_by_id(job_id).price_id,
                                     job["usage"]["input_tokens"], job["usage"]["output_tokens"])
    assert job["cost_credits"] == expected
    after = balance(app, funded_user)
    assert after.balance == before.balance - job["cost_credits"]
    assert after.held == 0


def test_late_websocket_client_gets_every_event(client, hub, user_headers) -> None:
    job_id = chat_job(client, user_headers, "late joiner").json["id"]
    first, _ = ws_events(hub, job_id, token_of(user_headers))  # runs to the end
    again, code = ws_events(hub, job_id, token_of(user_headers))  # joins after `done`
    assert [e["id"] for e in again] == [e["id"] for e in first]
    assert code == 1000


def test_reconnect_resumes_after_last_event_id(client, hub, user_headers) -> None:
    job_id = chat_job(client, user_headers, "resume me please").json["id"]
    everything, _ = ws_events(hub, job_id, token_of(user_headers))
    head, _ = ws_events(hub, job_id, token_of(user_headers), limit=2)
    tail, _ = ws_events(hub, job_id, token_of(user_headers), last_event_id=head[-1]["id"])
    assert [e["id"] for e in head + tail] == [e["id"] for e in everything]


def test_not_enough_credit_is_402_and_nothing_runs(client, app, settings) -> None:
    user = create_user()
    fund(app, user, 1)  # a 4,000-token reply on local-echo holds more than 1 credit
    headers = auth_headers(user, settings.SECRET_KEY)
    response = chat_job(client, headers, max_tokens=4000)
    assert response.status_code == 402
    assert response.json["error"]["code"] == "insufficient_credits"
    assert Job.select().count() == 0
    assert balance(app, user).held == 0


def test_unverified_user_cannot_spend(app, client, settings) -> None:
    user = create_user(verified=False)
    fund(app, user, 1_000_000)
    response = chat_job(client, auth_headers(user, settings.SECRET_KEY))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "email_not_verified"


def test_bad_bodies_are_422_naming_the_field(client, user_headers) -> None:
    missing = client.post("/api/jobs", json={"type": "chat", "model": "local-echo"},
                          headers=user_headers)
    assert missing.status_code == 422
    assert missing.json["error"]["message"].startswith("messages:")
    kind = client.post("/api/jobs", json={"type": "video", "model": "local-echo",
                                          "prompt": "x", "seconds": 4}, headers=user_headers)
    assert kind.status_code == 422 and kind.json["error"]["code"] == "wrong_model_kind"
    unknown = chat_job(client, user_headers, model="no-such-model")
    assert unknown.status_code == 404
    assert Job.select().count() == 0


def test_quote_places_nothing(app, client, funded_user, user_headers) -> None:
    response = client.post("/api/jobs/quote", json={
        "type": "chat", "model": "local-echo", "max_tokens": 100,
        "messages": [{"role": "user", "content": "how much?"}]}, headers=user_headers)
    assert response.status_code == 200
    body = response.json
    assert body["hold_credits"] > 0 and body["max_tokens"] == 100
    assert set(body["price"]) == {"input_per_mtok_credits", "output_per_mtok_credits"}
    assert balance(app, funded_user).held == 0
    assert Job.select().count() == 0


def test_another_users_job_is_404_on_rest_and_websocket(client, hub, user_headers,
                                                          settings) -> None:
    job_id = chat_job(client, user_headers).json["id"]
    stranger = auth_headers(create_user(), settings.SECRET_KEY)
    assert client.get(f"/api/jobs/{job_id}", headers=stranger).status_code == 404
    assert client.post(f"/api/jobs/{job_id}/cancel", headers=stranger).status_code == 404
    events, code = ws_events(hub, job_id, token_of(stranger))
    assert events == [] and code == 4404
    wait_done(client, user_headers, job_id, hub)


def test_websocket_refuses_bad_auth(client, hub, user_headers) -> None:
    job_id = chat_job(client, user_headers).json["id"]
    events, code = ws_events(hub, job_id, "not-a-token")
    assert code == 4401 and events == []
    wait_done(client, user_headers, job_id, hub)


def test_list_is_newest_first_with_a_stable_cursor(client, hub, user_headers) -> None:
    ids = [chat_job(client, user_headers, f"job {i}").json["id"] for i in range(5)]
    page1 = client.get("/api/jobs?limit=2", headers=user_headers).json
    assert [j["id"] for j in page1["items"]] == ids[::-1][:2]
    chat_job(client, user_headers, "a newer job")  # must not shift the next page
    page2 = client.get(f"/api/jobs?limit=2&cursor={page1['next_cursor']}",
                       headers=user_headers).json
    assert [j["id"] for j in page2["items"]] == ids[::-1][2:4]
    bad = client.get("/api/jobs?cursor=@@@", headers=user_headers)
    assert bad.status_code == 400 and bad.json["error"]["code"] == "invalid_cursor"
    for job_id in ids:
        wait_done(client, user_headers, job_id, hub)
