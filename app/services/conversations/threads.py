"""A user's conversations: create, list, read, rename, delete.

A conversation belongs to one user; another user's is indistinguishable from a missing one
(`ConversationNotFound`), whatever their role: conversations are private, unlike jobs, which
staff may read. Deleting one deletes its messages at once; the jobs that answered it stay
(they are the billing record) and are stripped by the retention pass like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from app.models.base import utcnow
from app.models.conversations import Conversation
from app.services.conversations.errors import ConversationNotFound, InvalidConversationInput
from app.services.cursors import InvalidCursor, decode_cursor, encode_cursor

MAX_TITLE_CHARS = 200
UNTITLED = "New conversation"
_ID = re.compile(r"[0-9a-f]{32}")  # `new_conversation_id`: anything else names none


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    model: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ConversationPage:
    items: list[ConversationSummary]
    next_cursor: str | None


def summary_of(conversation: Conversation) -> ConversationSummary:
    return ConversationSummary(id=conversation.id, title=conversation.title or UNTITLED,
                               model=conversation.model, created_at=conversation.created_at,
                               updated_at=conversation.updated_at)


def clean_title(title: str) -> str:
    """The title as kept: one line, trimmed; InvalidConversationInput if empty or too long."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise InvalidConversationInput("title: must not be empty")
    if len(cleaned) > MAX_TITLE_CHARS:
        raise InvalidConversationInput(f"title: at most {MAX_TITLE_CHARS} characters")
    return cleaned


def _valid_id(conversation_id: str) -> bool:
    return _ID.fullmatch(conversation_id) is not None


def owned(user_id: int, conversation_id: str) -> Conversation:
    """The conversation if `user_id` owns it."""
    conversation = Conversation.get_or_none((Conversation.id == conversation_id)
                                            & (Conversation.user == user_id)) \
        if _valid_id(conversation_id) else None
    if conversation is None:
        raise ConversationNotFound()
    return conversation


def create_conversation(user_id: int, *, title: str | None = None,
                        model: str | None = None) -> ConversationSummary:
    """A new, empty conversation (untitled until its first message names it)."""
    now = utcnow()
    conversation = Conversation.create(user=user_id, title=clean_title(title) if title else None,
                                       model=model, created_at=now, updated_at=now)
    return summary_of(conversation)


def list_conversations(user_id: int, *, cursor: str | None, limit: int) -> ConversationPage:
    """Most recently active first, keyset-paginated on (updated_at, id). A conversation that
    gets a new message moves to the top (and may then appear on an earlier page)."""
    query = Conversation.select().where(Conversation.user == user_id)
    if cursor:
        updated_at, conversation_id = decode_cursor(cursor)
        if not _valid_id(conversation_id):
            raise InvalidCursor()
        query = query.where((Conversation.updated_at < updated_at)
                            | ((Conversation.updated_at == updated_at)
                               & (Conversation.id < conversation_id)))
    rows = list(query.order_by(Conversation.updated_at.desc(), Conversation.id.desc())
                .limit(limit + 1))
    next_cursor = encode_cursor(rows[limit - 1].updated_at, rows[limit - 1].id) \
        if len(rows) > limit else None
    return ConversationPage(items=[summary_of(row) for row in rows[:limit]],
                            next_cursor=next_cursor)


def get_conversation(user_id: int, conversation_id: str) -> ConversationSummary:
    return summary_of(owned(user_id, conversation_id))


def rename_conversation(user_id: int, conversation_id: str, title: str) -> ConversationSummary:
    conversation = owned(user_id, conversation_id)
    conversation.title = clean_title(title)
    conversation.save(only=[Conversation.title])
    return summary_of(conversation)


def delete_conversation(user_id: int, conversation_id: str) -> None:
    """Delete the conversation and its messages (the foreign key cascades)."""
    deleted = _valid_id(conversation_id) and Conversation.delete().where(
        (Conversation.id == conversation_id) & (Conversation.user == user_id)).execute()
    if not deleted:
        raise ConversationNotFound()
