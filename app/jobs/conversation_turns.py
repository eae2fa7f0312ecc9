"""Sending a turn of a conversation: one call that writes the user's message and its pending
reply, opens the chat job that answers them through the job API (the same hold, queue, run
and settle as any job), and names the job on the turn.

The job is asked the conversation so far (`app.services.conversations.turns.context_of`),
with `source="conversation"`. If it cannot be opened (not enough credit, a model that cannot
take images, the queue down), the turn is taken back and the error raised: a refused send
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from app.chat.record import messages_from_record
from app.chat.request import ChatRequest
from app.jobs.api import ChatSpec, create_job
from app.jobs.request_scope import RequestScope
from app.models.api_keys import ApiKey
from app.models.jobs import Job
from app.models.users import User
from app.services import conversations
from app.services.conversations import BegunTurn

log = structlog.get_logger(__name__)

SOURCE = "conversation"  # the jobs' `source`


@dataclass(frozen=True)
class SentTurn:
    turn: BegunTurn
    job: Job


def send_turn(user: User, conversation_id: str | None, *, text: str, images: list[str],
              model: str, max_tokens: int | None = None, title: str | None = None,
              api_key: ApiKey | None = None, scope: RequestScope | None = None) -> SentTurn:
    """Send `text` (and `images`) into the conversation (a new one when `conversation_id` is
    None, titled `title` or after the message) and open the job that answers it."""
    checked = conversations.new_turn(text, images)
    turn = conversations.begin_turn(user.id, conversation_id, checked, model=model, title=title)
    needs = ChatRequest(model=model, messages=messages_from_record(turn.context)).needs
    spec = ChatSpec(model=model, messages=turn.context, max_tokens=max_tokens, needs=needs)
    try:
        job = create_job(user, spec, api_key=api_key, source=SOURCE, scope=scope)
    except BaseException:  # refused or failed: the turn was never sent
        conversations.abandon_turn(turn)
        raise
    conversations.attach_job(turn, job.id)
    log.info("conversation_turn_sent", conversation_id=turn.conversation_id, job_id=job.id,
             messages=len(turn.context))
    return SentTurn(turn=turn, job=job)
