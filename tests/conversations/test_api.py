"""/api/conversations without workers: ownership, validation, rename and delete, pagination,
and how a turn's messages read once its job is settled (job rows made by the factories)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app.models.base import utcnow
from app.models.conversations import Conversation, ConversationMessage
from app.services.conversations import (
    ConversationFull,
    InvalidConversationInput,
    ReplyInProgress,
    begin_turn,
    new_turn,
    turns,
)
from app.services.conversations.replies import SEND_GRACE
from app.services.cursors import encode_cursor
from tests.factories import auth_headers, create_job, create_turn, create_user

TOOL_OUTPUT = json.dumps([{"tool_call": {"index": 0, "id": "call_1", "name": "lookup",
                                         "arguments": '{"q": '}},
                          {"tool_call": {"index": 0, "arguments": '"ledgers"}'}},
                          {"reasoning": "Thinking it over"}])


@pytest.fixture
def owner(app, settings):
    user = create_user()
    return user, auth_headers(user, settings.SECRET_KEY)


def _create(client, headers, **body):
    response = client.post("/api/conversations", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def test_another_accounts_conversation_is_404_whatever_the_role(client, owner,
                                                                settings) -> None:
    user, headers = owner
    turn = create_turn(user, "private", job=create_job(user, status="succeeded",
                                                       result_text="secret reply"))
    cid, mid = turn.conversation_id, turn.reply_message_id
    assert client.get(f"/api/conversations/{cid}", headers=headers).status_code == 200
    for role in ("user", "support", "admin"):
        stranger = auth_headers(create_user(role=role), settings.SECRET_KEY)
        calls = [("GET", f"/api/conversations/{cid}", None),
                 ("PATCH", f"/api/conversations/{cid}", {"title": "mine now"}),
                 ("DELETE", f"/api/conversations/{cid}", None),
                 ("POST", f"/api/conversations/{cid}/messages",
                  {"model": "local-echo", "content": "hi"}),
                 ("GET", f"/api/conversations/{cid}/messages/{mid}", None)]
        for method, url, body in calls:
            response = client.open(url, method=method, json=body, headers=stranger)
            assert response.status_code == 404, (role, method, url, response.json)
            assert response.json["error"]["code"] == "conversation_not_found"
            assert "secret reply" not in response.text
        assert client.get("/api/conversations", headers=stranger).json["items"] == []
    shown = client.get(f"/api/conversations/{cid}", headers=headers).json
    assert shown["title"] == "private" and shown["messages"][1]["content"] == "secret reply"


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("POST", "", {"title": "   "}, 422, "invalid_conversation_input"),
    ("POST", "", {"title": "x" * 201}, 422, "validation_error"),
    ("POST", "", {"message": {"content": "hi"}}, 422, "validation_error"),
    ("POST", "", {"model": "local-echo", "message": {"content": "  "}}, 422,
     "invalid_conversation_input"),
    ("GET", "?limit=0", None, 422, "validation_error"),
    ("GET", "?limit=101", None, 422, "validation_error"),
    ("GET", "?cursor=not-a-cursor", None, 400, "invalid_cursor"),
    ("GET", "/0123456789abcdef0123456789abcdef", None, 404, "conversation_not_found"),
    ("GET", "/../../etc", None, 404, "not_found"),
    ("GET", "/x%00y", None, 404, "conversation_not_found"),
])
def test_bad_input_is_a_4xx_naming_it(client, owner, method, path, body, status, code) -> None:
    _, headers = owner
    response = client.open(f"/api/conversations{path}", method=method, json=body,
                           headers=headers)
    assert response.status_code == status, response.json
    assert response.json["error"]["code"] == code
    assert Conversation.select().count() == 0


def test_rename_trims_and_validates_and_delete_removes_every_message(client, owner) -> None:
    user, headers = owner
    turn = create_turn(user, "first question", job=create_job(user, status="succeeded",
                                                              result_text="answer"))
    cid = turn.conversation_id
    renamed = client.patch(f"/api/conversations/{cid}", json={"title": "  Ledger\n notes "},
                           headers=headers)
    assert renamed.status_code == 200 and renamed.json["title"] == "Ledger notes"
    for title, status in (("", 422), ("\t \n", 422), ("y" * 201, 422)):
        bad = client.patch(f"/api/conversations/{cid}", json={"title": title}, headers=headers)
        assert bad.status_code == status, title
    assert client.get(f"/api/conversations/{cid}", headers=headers).json["title"] == \
        "Ledger notes"

    assert client.delete(f"/api/conversations/{cid}", headers=headers).status_code == 204
    assert client.get(f"/api/conversations/{cid}", headers=headers).status_code == 404
    assert client.delete(f"/api/conversations/{cid}", headers=headers).status_code == 404
    assert ConversationMessage.select().count() == 0
    assert turn.conversation_id not in [c["id"] for c in
                                        client.get("/api/conversations",
                                                   headers=headers).json["items"]]


def test_pages_list_the_most_recently_active_first_without_gaps_or_repeats(client,
                                                                          owner) -> None:
    user, headers = owner
    ids = [_create(client, headers, title=f"c{n}")["id"] for n in range(7)]
    now = utcnow()
    for n, cid in enumerate(ids):  # c0 the most recent, one with a tie on updated_at
        at = now - timedelta(minutes=n if n != 4 else 3)
        Conversation.update(updated_at=at).where(Conversation.id == cid).execute()
    seen, cursor = [], None
    while True:
        page = client.get("/api/conversations", query_string={"limit": 2, **(
            {"cursor": cursor} if cursor else {})}, headers=headers).json
        assert len(page["items"]) <= 2
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    tie = sorted(ids[3:5], reverse=True)
    assert seen == [*ids[:3], *tie, *ids[5:]]


def test_a_new_message_names_an_untitled_conversation_and_moves_it_to_the_top(client,
                                                                              owner) -> None:
    user, headers = owner
    older = _create(client, headers)
    newer = _create(client, headers, title="Named")
    assert older["title"] == "New conversation"
    create_turn(user, "  What is a   ledger?\nAnd why? " + "x" * 80, conversation_id=older["id"],
                job=create_job(user))
    items = client.get("/api/conversations", headers=headers).json["items"]
    assert [c["id"] for c in items] == [older["id"], newer["id"]]
    assert items[0]["title"] == "What is a ledger? And why? " + "x" * 32 + "…"
    assert items[0]["model"] == "local-echo"


def test_a_settled_reply_is_copied_from_its_job_with_tool_calls_and_reasoning(client,
                                                                             owner) -> None:
    user, headers = owner
    job = create_job(user, status="running", hold_credits=90)
    turn = create_turn(user, "look it up", job=job)
    url = f"/api/conversations/{turn.conversation_id}/messages/{turn.reply_message_id}"
    pending = client.get(url, headers=headers).json
    assert pending["status"] == "pending" and pending["content"] is None
    assert pending["html"] is None and pending["job"]["cost_credits"] is None

    job.status, job.result_text, job.output_json = "succeeded", "Found *it*.", TOOL_OUTPUT
    job.input_tokens, job.output_tokens, job.cost_credits = 12, 7, 33
    job.save()
    reply = client.get(url, headers=headers).json
    assert reply["status"] == "succeeded"
    assert (reply["content"], reply["html"]) == ("Found *it*.", "<p>Found <em>it</em>.</p>\n")
    assert reply["parts"] == [
        {"type": "tool_call", "id": "call_1", "name": "lookup", "arguments": '{"q": "ledgers"}'},
        {"type": "reasoning", "text": "Thinking it over", "signature": None, "redacted": None}]
    assert (reply["job"]["input_tokens"], reply["job"]["output_tokens"],
            reply["job"]["cost_credits"]) == (12, 7, 33)
    row = ConversationMessage.get_by_id(turn.reply_message_id)
    assert (row.status, row.content) == ("succeeded", "Found *it*.")  # kept in its own row


def test_a_failed_reply_shows_its_error_and_is_left_out_of_the_next_context(client,
                                                                           owner) -> None:
    user, headers = owner
    failed = create_job(user, status="failed", result_text="", error_code="provider_error",
                        error_message="the provider failed", cost_credits=0)
    turn = create_turn(user, "first", job=failed)
    reply = client.get(f"/api/conversations/{turn.conversation_id}/messages/"
                       f"{turn.reply_message_id}", headers=headers).json
    assert reply["status"] == "failed"
    assert reply["error"] == {"code": "provider_error", "message": "the provider failed"}
    second = create_turn(user, "second", conversation_id=turn.conversation_id,
                         job=create_job(user))
    assert second.context == [{"role": "user", "content": "second"}]


def test_a_turn_never_sent_stops_blocking_the_conversation_after_the_grace(client,
                                                                          owner) -> None:
    user, headers = owner
    turn = create_turn(user, "lost")  # its process died before the job was opened
    with pytest.raises(ReplyInProgress):
        begin_turn(user.id, turn.conversation_id, new_turn("again"), model="local-echo")
    (ConversationMessage.update(created_at=utcnow() - SEND_GRACE - timedelta(seconds=1))
     .where(ConversationMessage.conversation == turn.conversation_id).execute())
    reply = client.get(f"/api/conversations/{turn.conversation_id}", headers=headers) \
        .json["messages"][1]
    assert reply["status"] == "not_sent" and reply["error"]["code"] == "not_sent"
    again = begin_turn(user.id, turn.conversation_id, new_turn("again"), model="local-echo")
    assert again.context == [{"role": "user", "content": "again"}]


def test_an_unverified_user_cannot_start_or_send(client, app, settings) -> None:
    headers = auth_headers(create_user(verified=False), settings.SECRET_KEY)
    response = client.post("/api/conversations", json={"model": "local-echo",
                                                       "message": {"content": "hi"}},
                           headers=headers)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "email_not_verified"
    assert client.get("/api/conversations", headers=headers).status_code == 200


@pytest.mark.parametrize(("text", "images", "message"), [
    ("", [], "content: type a message or attach an image"),
    ("x" * 100_001, [], "content: at most 100000 characters"),
    ("hi", ["https://example.com/" + "a" * 2_000], "images[0]: a URL of at most 2000"),
    ("hi", ["data:image/svg+xml;base64,PHN2Zz4="], "images[0]: one of image/png"),
    ("hi", ["data:image/png;base64,=="], "images[0]: not valid base64"),
    ("hi", ["data:image/png;base64,"], "images[0]: an image as a base64 data: URL"),
    ("hi", ["ftp://example.com/a.png"], "images[0]: an image as a base64 data: URL"),
    ("hi", ["https://example.com/a.png"] * 5, "images: at most 4 per message"),
])
def test_a_message_the_hub_cannot_keep_is_refused_by_name(app, text, images, message) -> None:
    with pytest.raises(InvalidConversationInput) as refused:
        new_turn(text, images)
    assert refused.value.message.startswith(message)


def test_an_image_only_message_is_named_image_and_sent_as_parts(client, owner) -> None:
    user, _ = owner
    turn = create_turn(user, "", images=["https://example.com/a.png"], job=create_job(user))
    assert Conversation.get_by_id(turn.conversation_id).title == "Image"
    assert turn.context == [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]


def test_a_message_of_another_conversation_is_404(client, owner) -> None:
    user, headers = owner
    mine = create_turn(user, "one", job=create_job(user))
    other = create_turn(user, "two", job=create_job(user))
    for message_id in (other.reply_message_id, 0, 2**40):
        response = client.get(f"/api/conversations/{mine.conversation_id}/messages/"
                               f"{message_id}", headers=headers)
        assert response.status_code == 404, message_id
        assert response.json["error"]["code"] == "message_not_found"


def test_a_cursor_naming_no_conversation_is_refused(client, owner) -> None:
    _, headers = owner
    cursor = encode_cursor(utcnow(), "'; DROP TABLE conversations; --")
    response = client.get("/api/conversations", query_string={"cursor": cursor},
                          headers=headers)
    assert response.status_code == 400 and response.json["error"]["code"] == "invalid_cursor"


def test_a_full_conversation_asks_for_a_new_one(client, owner, monkeypatch) -> None:
    user, _ = owner
    monkeypatch.setattr(turns, "MAX_MESSAGES", 4)
    turn = create_turn(user, "one", job=create_job(user, status="succeeded", result_text="a"))
    create_turn(user, "two", conversation_id=turn.conversation_id,
                job=create_job(user, status="succeeded", result_text="b"))
    with pytest.raises(ConversationFull):
        begin_turn(user.id, turn.conversation_id, new_turn("three"), model="local-echo")
    assert ConversationMessage.select().count() == 4
