"""Conversations through the API, end to end: each turn is a real job (hold → worker → settle),
asked the conversation so far; its reply is kept in the conversation with the job's tokens and
the charge the ledger shows; a stopped reply stays; a refused send changes nothing."""

from __future__ import annotations

import base64
import json

import pytest

from app.models.conversations import Conversation, ConversationMessage
from app.models.jobs import Job
from app.models.ledger import LedgerEntry
from tests.factories import auth_headers, create_user
from tests.jobs.conftest import balance, fund, token_of, wait_for_deltas, ws_events

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()


def start(client, headers, content: str, *, model: str = "local-echo", max_tokens: int = 64,
          **extra):
    body = {"model": model, "max_tokens": max_tokens,
            "message": {"content": content, **extra}}
    return client.post("/api/conversations", json=body, headers=headers)


def send(client, headers, conversation_id: str, content: str, *, model: str = "local-echo",
         max_tokens: int = 64, **extra):
    body = {"model": model, "max_tokens": max_tokens, "content": content, **extra}
    return client.post(f"/api/conversations/{conversation_id}/messages", json=body,
                       headers=headers)


def settle(hub, headers, turn: dict) -> list[dict]:
    events, _ = ws_events(hub, turn["job"]["id"], token_of(headers))
    assert events[-1]["type"] == "done"
    return events


def charged(app, job_id: str) -> int:
    """The credits the ledger took for the job (its settle entries)."""
    with app.app_context():
        return -sum(e.amount_credits for e in LedgerEntry.select()
                    .where(LedgerEntry.reference == job_id))


def test_a_conversation_keeps_each_turn_with_its_job_tokens_and_charge(app, client, hub,
                                                                       funded_user,
                                                                       user_headers) -> None:
    before = balance(app, funded_user)
    created = start(client, user_headers, "Tell me about **ledgers**")
    assert created.status_code == 201, created.json
    conversation_id, turn = created.json["id"], created.json["turn"]
    assert created.json["title"] == "Tell me about **ledgers**"
    assert turn["conversation_id"] == conversation_id and turn["job"]["hold_credits"] > 0
    settle(hub, user_headers, turn)

    shown = client.get(f"/api/conversations/{conversation_id}", headers=user_headers).json
    user, reply = shown["messages"]
    assert (user["role"], user["status"], user["content"]) == ("user", "sent",
                                                               "Tell me about **ledgers**")
    assert user["job_id"] == reply["job_id"] == turn["job"]["id"]
    job = client.get(f"/api/jobs/{turn['job']['id']}", headers=user_headers).json
    assert reply["status"] == "succeeded" and reply["content"] == job["result"]["text"]
    assert "<strong>ledgers</strong>" in reply["html"]  # the echo, rendered
    assert reply["job"] == {"id": job["id"], "status": "succeeded", "model": "local-echo",
                            "input_tokens": job["usage"]["input_tokens"],
                            "output_tokens": job["usage"]["output_tokens"],
                            "hold_credits": job["hold_credits"],
                            "cost_credits": job["cost_credits"], "url": f"/api/jobs/{job['id']}"}
    assert reply["job"]["cost_credits"] == charged(app, job["id"]) > 0
    assert balance(app, funded_user).balance == before.balance - job["cost_credits"]

    # The second turn is asked the first one, reply included.
    second = send(client, user_headers, conversation_id, "And again")
    assert second.status_code == 202, second.json
    settle(hub, user_headers, second.json)
    with app.app_context():
        asked = json.loads(Job.get_by_id(second.json["job"]["id"]).request_json)["messages"]
    assert asked == [{"role": "user", "content": "Tell me about **ledgers**"},
                     {"role": "assistant", "content": reply["content"]},
                     {"role": "user", "content": "And again"}]
    one = client.get(f"/api/conversations/{conversation_id}/messages/"
                     f"{second.json['reply_message_id']}", headers=user_headers).json
    assert one["position"] == 3 and one["status"] == "succeeded"
    assert one["job"]["cost_credits"] == charged(app, second.json["job"]["id"])
    with app.app_context():
        assert Job.get_by_id(second.json["job"]["id"]).source == "conversation"


def test_a_stopped_reply_stays_with_what_was_written_and_counts_as_context(
        app, client, hub, upstream, user_headers) -> None:
    upstream.chunk_count, upstream.chunk_delay_s = 300, 0.02
    turn = start(client, user_headers, "a long story", model="gpt-4o-mini",
                 max_tokens=400).json["turn"]
    wait_for_deltas(app, turn["job"]["id"], 2)
    assert client.post(f"/api/jobs/{turn['job']['id']}/cancel",
                       headers=user_headers).status_code == 200
    settle(hub, user_headers, turn)

    reply = client.get(f"/api/conversations/{turn['conversation_id']}/messages/"
                       f"{turn['reply_message_id']}", headers=user_headers).json
    with app.app_context():
        job = Job.get_by_id(turn["job"]["id"])
    assert reply["status"] == "canceled" and job.status == "canceled"
    assert reply["content"] == job.result_text and reply["content"].startswith("Hello from")
    assert 0 < reply["job"]["output_tokens"] < 300
    assert reply["job"]["cost_credits"] == job.cost_credits == charged(app, job.id)

    upstream.chunk_count, upstream.chunk_delay_s = 5, 0.0
    follow_up = send(client, user_headers, turn["conversation_id"], "go on")
    assert follow_up.status_code == 202
    settle(hub, user_headers, follow_up.json)
    with app.app_context():
        asked = json.loads(Job.get_by_id(follow_up.json["job"]["id"]).request_json)["messages"]
    assert asked[1] == {"role": "assistant", "content": job.result_text}


def test_a_refused_send_changes_nothing(app, client, hub, settings) -> None:
    user = create_user()
    fund(app, user, 1)  # not enough for any hold
    headers = auth_headers(user, settings.SECRET_KEY)
    refused = start(client, headers, "hello")
    assert refused.status_code == 402
    assert refused.json["error"]["code"] == "insufficient_credits"
    with app.app_context():
        assert Conversation.select().count() == ConversationMessage.select().count() == 0

    empty = client.post("/api/conversations", json={"title": "Kept as it was"}, headers=headers)
    assert empty.status_code == 201 and empty.json["turn"] is None
    refused = send(client, headers, empty.json["id"], "hello")
    assert refused.status_code == 402
    shown = client.get(f"/api/conversations/{empty.json['id']}", headers=headers).json
    assert shown["messages"] == []
    assert {k: shown[k] for k in ("title", "model", "updated_at")} == \
        {k: empty.json[k] for k in ("title", "model", "updated_at")}
    with app.app_context():
        assert Job.select().count() == 0
    assert balance(app, user).held == 0


def test_one_reply_at_a_time(app, client, hub, upstream, user_headers) -> None:
    upstream.chunk_count, upstream.chunk_delay_s = 300, 0.02
    turn = start(client, user_headers, "slow", model="gpt-4o-mini").json["turn"]
    busy = send(client, user_headers, turn["conversation_id"], "too soon")
    assert busy.status_code == 409 and busy.json["error"]["code"] == "reply_in_progress"
    client.post(f"/api/jobs/{turn['job']['id']}/cancel", headers=user_headers)
    settle(hub, user_headers, turn)
    assert send(client, user_headers, turn["conversation_id"], "now").status_code == 202


def test_images_go_to_a_vision_model_and_are_kept(app, client, hub, upstream,
                                                  user_headers) -> None:
    refused = start(client, user_headers, "what is this?", images=[PNG])
    assert refused.status_code == 400  # local-echo cannot see images: nothing is kept
    assert refused.json["error"]["code"] == "unsupported_capability"
    with app.app_context():
        assert Conversation.select().count() == 0

    turn = start(client, user_headers, "what is this?", images=[PNG],
                 model="gpt-4o-mini").json["turn"]
    settle(hub, user_headers, turn)
    user, reply = client.get(f"/api/conversations/{turn['conversation_id']}",
                             headers=user_headers).json["messages"]
    assert user["parts"] == [{"type": "image_url", "image_url": {"url": PNG}}]
    assert reply["status"] == "succeeded" and reply["content"]
    sent = upstream.requests[-1].body["messages"][-1]["content"]
    assert {"type": "text", "text": "what is this?"} in sent
    assert any(part.get("type") == "image_url" and part["image_url"]["url"] == PNG
               for part in sent)


@pytest.mark.parametrize(("images", "message"), [
    (["data:image/svg+xml;base64,PHN2Zz4="], "images[0]: one of image/png"),
    (["data:image/png;base64,***"], "images[0]: an image as a base64 data: URL"),
    (["javascript:alert(1)"], "images[0]: an image as a base64 data: URL"),
    ([PNG] * 5, "message.images: Longer than maximum length 4"),
])
def test_bad_images_are_refused_by_name(app, client, user_headers, images, message) -> None:
    response = start(client, user_headers, "look", images=images, model="gpt-4o-mini")
    assert response.status_code == 422, response.json
    assert response.json["error"]["message"].startswith(message)
    with app.app_context():
        assert Conversation.select().count() == 0 and Job.select().count() == 0


def test_an_api_key_keeps_conversations_within_its_model_list(app, client, hub, upstream,
                                                             user_headers) -> None:
    key = client.post("/api/keys", json={"name": "chat app", "allowed_models": ["local-echo"]},
                      headers=user_headers).json["key"]
    bearer = {"Authorization": f"Bearer {key}"}
    refused = start(client, bearer, "hi", model="gpt-4o-mini")
    assert refused.status_code == 403 and refused.json["error"]["code"] == "key_model_not_allowed"
    with app.app_context():
        assert Conversation.select().count() == 0

    turn = start(client, bearer, "hi from a key").json["turn"]
    settle(hub, user_headers, turn)
    listed = client.get("/api/conversations", headers=bearer).json["items"]
    assert [c["id"] for c in listed] == [turn["conversation_id"]]
    shown = client.get(f"/api/conversations/{turn['conversation_id']}", headers=user_headers)
    assert shown.json["messages"][1]["status"] == "succeeded"
    with app.app_context():
        assert Job.get_by_id(turn["job"]["id"]).api_key_id is not None
