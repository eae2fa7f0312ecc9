"""A job request's balance-cache bump is sent without waiting and confirmed just before the
response leaves (app.jobs.request_scope): a balance read made after any of the response
was received shows the hold, and no Redis connection is left checked out."""

from __future__ import annotations

import httpx

from app.services.runtime import current_redis
from tests.jobs.conftest import chat_job


def _balance(client, headers) -> dict:
    response = client.get("/api/credits/balance", headers=headers)
    assert response.status_code == 200
    return response.get_json()


def _connections_in_use(app) -> int:
    with app.app_context():
        return len(current_redis().connection_pool._in_use_connections)


def test_a_balance_read_after_a_job_request_shows_its_hold(app, client, user_headers, upstream,
                                                           job_workers) -> None:
    before = _balance(client, user_headers)  # now cached
    upstream.chunk_delay_s = 0.2  # the job is still running when the balance is read
    created = chat_job(client, user_headers, model="gpt-4o-mini", max_tokens=500)
    assert created.status_code == 202
    after = _balance(client, user_headers)
    hold = created.get_json()["hold_credits"]
    assert after["held"] - before["held"] == hold > 0
    assert after["available"] == before["available"] - hold
    assert _connections_in_use(app) == 0


def test_a_balance_read_after_a_v1_streams_first_token_shows_its_hold(app, client, hub, upstream,
                                                                      user_headers) -> None:
    before = _balance(client, user_headers)
    upstream.chunk_delay_s = 0.2  # the stream is still running when the balance is read
    body = {"model": "gpt-4o-mini", "stream": True, "max_tokens": 500,
            "messages": [{"role": "user", "content": "hi"}]}
    with httpx.stream("POST", f"{hub}/v1/chat/completions", json=body, headers=user_headers,
                      timeout=30) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        next(lines)  # the first of the response is here
        during = _balance(client, user_headers)
        assert during["held"] > before["held"]
        assert during["available"] < before["available"]
        assert list(lines)[-2] == "data: [DONE]"  # read to its end: the job has settled
    assert _connections_in_use(app) == 0  # the bump's and the stream mirror's given back
