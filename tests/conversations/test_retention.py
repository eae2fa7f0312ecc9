"""A conversation outlives the retention of job details: a reply nobody read before its job
was stripped is copied into the conversation first, and its tokens and cost stay readable."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from app.extensions import db
from app.models.base import utcnow
from app.models.conversations import ConversationMessage
from app.models.jobs import Job
from app.services.conversations import open_conversation
from app.services.retention import STUB_REQUEST_JSON, apply_retention
from tests.conftest import sqlite_app
from tests.factories import create_job, create_turn, create_user

DAYS = 30


@pytest.fixture(params=["postgres", "sqlite"])
def backend(request, tmp_path) -> Iterator[str]:
    if request.param == "postgres":
        app = request.getfixturevalue("app")
        with app.app_context(), db.connection_context():
            yield "postgres"
    else:
        with sqlite_app(tmp_path) as app, app.app_context(), db.connection_context():
            yield "sqlite"


def test_old_replies_are_kept_in_their_conversation_when_their_jobs_are_stripped(
        backend) -> None:
    user = create_user()
    old = utcnow() - timedelta(days=DAYS + 5)
    read = create_job(user, status="succeeded", result_text="read **before**", created_at=old,
                      input_tokens=10, output_tokens=4, cost_credits=21,
                      request_json='{"messages": []}')
    unread = create_job(user, status="canceled", result_text="never opened, stopped",
                        created_at=old, input_tokens=30, output_tokens=2, cost_credits=8,
                        request_json='{"messages": []}', output_json='[{"reasoning": "hm"}]')
    first = create_turn(user, "one", job=read)
    open_conversation(user.id, first.conversation_id)  # the page read this reply: copied
    second = create_turn(user, "two", job=unread, conversation_id=first.conversation_id)
    assert ConversationMessage.get_by_id(second.reply_message_id).status == "pending"

    report = apply_retention(utcnow(), DAYS)

    assert report.conversation_replies_filled == 1 and report.jobs_stripped == 2
    for job in (read, unread):
        stripped = Job.get_by_id(job.id)
        assert stripped.result_text is None and stripped.request_json == STUB_REQUEST_JSON
    messages = open_conversation(user.id, first.conversation_id).messages
    assert [(m.role, m.status, m.content) for m in messages] == [
        ("user", "sent", "one"), ("assistant", "succeeded", "read **before**"),
        ("user", "sent", "two"), ("assistant", "canceled", "never opened, stopped")]
    assert messages[1].html == "<p>read <strong>before</strong></p>\n"
    assert messages[3].parts == [{"type": "reasoning", "text": "hm", "signature": None,
                                  "redacted": None}]
    assert [(m.job.input_tokens, m.job.output_tokens, m.job.cost_credits)
            for m in (messages[1], messages[3])] == [(10, 4, 21), (30, 2, 8)]
    assert apply_retention(utcnow(), DAYS).conversation_replies_filled == 0


def test_a_reply_still_running_is_left_pending(backend) -> None:
    user = create_user()
    running = create_job(user, status="running", created_at=utcnow() - timedelta(days=DAYS + 5))
    turn = create_turn(user, "slow", job=running)
    assert apply_retention(utcnow(), DAYS).conversation_replies_filled == 0
    assert ConversationMessage.get_by_id(turn.reply_message_id).status == "pending"
