"""Copying a settled reply from its job into the conversation's own row.

An assistant message is written PENDING with its job when the turn is sent. Once the job is
settled (its status terminal), the reply it delivered — the text, even of a reply the user
stopped, and its tool calls and reasoning — is copied into the message, with the job's status.
This happens when the message is read (`fill_settled`: the page reads it when the reply's
`done` event arrives; another device when it opens the conversation), and, for a message
nobody read, by the retention pass before it strips old jobs (`fill_replies_before`). From
then on the conversation needs nothing of the job but its usage and cost, which retention
keeps.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from peewee import JOIN

from app.chat.events import ReplyBuilder, TextDelta, piece_of
from app.chat.record import messages_to_record
from app.chat.request import Message, ReasoningPart, ToolCallPart
from app.models.conversations import PENDING, ConversationMessage
from app.models.jobs import TERMINAL_STATUSES, Job

DEFAULT_BATCH_SIZE = 500
# A pending reply with no job is a turn still being sent, for this long; after it, a turn whose
# send never finished (its process died between writing the turn and opening the job), shown
# as not sent and no longer in the way of the next one.
SEND_GRACE = timedelta(minutes=2)


def reply_parts(output_json: str | None) -> list[dict[str, Any]]:
    """The first choice's tool calls and reasoning from a job's `output_json` (its delta
    events' data), as `app.chat.record` stores parts; text is the job's `result_text`."""
    if not output_json:
        return []
    builder = ReplyBuilder()
    for data in json.loads(output_json):
        piece = piece_of(data)
        if not isinstance(piece, TextDelta) and not getattr(piece, "choice", 0):
            builder.add(piece)
    parts = [part for part in builder.choices()[0]
             if isinstance(part, ToolCallPart | ReasoningPart)]
    if not parts:
        return []
    return messages_to_record([Message(role="assistant", content=tuple(parts))])[0]["content"]


def fill_reply(message: ConversationMessage, job: Job) -> bool:
    """Copy `job`'s settled reply into `message` (if still pending); whether this call did."""
    if job.status not in TERMINAL_STATUSES or message.status != PENDING:
        return False
    content, parts = job.result_text or "", reply_parts(job.output_json)
    parts_json = json.dumps(parts, separators=(",", ":")) if parts else None
    updated = (ConversationMessage
               .update(status=job.status, content=content, parts_json=parts_json)
               .where((ConversationMessage.id == message.id)
                      & (ConversationMessage.status == PENDING))
               .execute())
    message.status, message.content, message.parts_json = job.status, content, parts_json
    return bool(updated)


def fill_settled(messages: Iterable[ConversationMessage]) -> None:
    """Fill each pending reply among `messages` (read with their `job`) whose job is settled."""
    for message in messages:
        if message.status == PENDING and message.job_id is not None \
                and message.job.status in TERMINAL_STATUSES:
            fill_reply(message, message.job)


def fill_replies_before(cutoff: datetime, *, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Fill every pending reply whose job was created before `cutoff` and is settled (the
    retention pass calls this before it strips those jobs); the number filled."""
    filled = 0
    while True:
        batch = list(ConversationMessage.select(ConversationMessage, Job)
                     .join(Job, JOIN.INNER, on=(ConversationMessage.job == Job.id))
                     .where((ConversationMessage.status == PENDING)
                            & (Job.created_at < cutoff) & Job.status.in_(TERMINAL_STATUSES))
                     .order_by(ConversationMessage.id).limit(batch_size))
        filled += sum(fill_reply(message, message.job) for message in batch)
        if len(batch) < batch_size:
            return filled
