"""A conversation's messages as the API shows them: text, sanitized HTML of a settled reply,
the other parts, and the job that answered the turn with its tokens and cost."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from peewee import JOIN

from app.models.base import INTEGER_MAX, utcnow
from app.models.conversations import PENDING, ConversationMessage
from app.models.jobs import TERMINAL_STATUSES, Job
from app.services.conversations.errors import MessageNotFound
from app.services.conversations.markdown import render_markdown
from app.services.conversations.replies import SEND_GRACE, fill_settled
from app.services.conversations.threads import ConversationSummary, owned, summary_of

NOT_SENT = {"code": "not_sent", "message": "This message was not sent; nothing was charged."}


@dataclass(frozen=True)
class JobSummary:
    id: str
    status: str
    model: str
    input_tokens: int
    output_tokens: int
    hold_credits: int
    cost_credits: int | None  # None until the job is settled


@dataclass(frozen=True)
class MessageView:
    id: int
    position: int
    role: str
    status: str
    content: str | None  # None while the reply is pending
    html: str | None  # a settled reply's markdown, sanitized
    parts: list[dict[str, Any]]
    job_id: str | None
    job: JobSummary | None  # on the reply: the turn's job, its tokens and its charge
    error: dict[str, str] | None  # why a reply failed (or was never sent)
    created_at: datetime


@dataclass(frozen=True)
class ConversationView:
    conversation: ConversationSummary
    messages: list[MessageView]


def _job_summary(job: Job) -> JobSummary:
    settled = job.status in TERMINAL_STATUSES
    return JobSummary(id=job.id, status=job.status, model=job.model,
                      input_tokens=job.input_tokens or 0, output_tokens=job.output_tokens or 0,
                      hold_credits=job.hold_credits,
                      cost_credits=job.cost_credits if settled else None)


def _error(job: Job | None) -> dict[str, str] | None:
    if job is None or job.status not in TERMINAL_STATUSES or not job.error_code:
        return None
    return {"code": job.error_code, "message": job.error_message or ""}


def _status(message: ConversationMessage) -> str:
    if message.status == PENDING and message.job_id is None \
            and utcnow() - message.created_at > SEND_GRACE:
        return "not_sent"
    return message.status


def view_of(message: ConversationMessage) -> MessageView:
    """`message` (read with its job, if any) as shown."""
    job = message.job if message.job_id is not None else None
    reply = message.role == "assistant"
    status = _status(message)
    html = render_markdown(message.content) if reply and message.content is not None else None
    return MessageView(id=message.id, position=message.position, role=message.role,
                       status=status, content=message.content, html=html,
                       parts=json.loads(message.parts_json) if message.parts_json else [],
                       job_id=message.job_id,
                       job=_job_summary(job) if reply and job is not None else None,
                       error=NOT_SENT if status == "not_sent" else _error(job) if reply else None,
                       created_at=message.created_at)


def _with_jobs(conversation_id: str):
    return (ConversationMessage.select(ConversationMessage, Job)
            .join(Job, JOIN.LEFT_OUTER, on=(ConversationMessage.job == Job.id))
            .where(ConversationMessage.conversation == conversation_id))


def read_messages(conversation_id: str) -> list[ConversationMessage]:
    """The conversation's messages in order, each settled reply filled from its job."""
    rows = list(_with_jobs(conversation_id).order_by(ConversationMessage.position))
    fill_settled(rows)
    return rows


def open_conversation(user_id: int, conversation_id: str) -> ConversationView:
    """The conversation and all its messages (settled replies copied from their jobs)."""
    conversation = owned(user_id, conversation_id)
    return ConversationView(conversation=summary_of(conversation),
                            messages=[view_of(m) for m in read_messages(conversation.id)])


def get_message(user_id: int, conversation_id: str, message_id: int) -> MessageView:
    """One message (a reply filled from its job once settled)."""
    owned(user_id, conversation_id)
    message = _with_jobs(conversation_id).where(ConversationMessage.id == message_id).first() \
        if 0 < message_id <= INTEGER_MAX else None
    if message is None:
        raise MessageNotFound()
    fill_settled([message])
    return view_of(message)
