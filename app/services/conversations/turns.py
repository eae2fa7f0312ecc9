"""A turn of a conversation: the user's message and the pending reply, written before the job
that answers them is opened, and what that job is asked (the conversation so far).

The turn is written first so that two turns sent into one conversation at once cannot both
take the same place (the unique position refuses the second before any credit is held). If
opening the job is then refused (402, a model that cannot take images, …), `abandon_turn`
takes the turn back, as if never sent. `app.jobs.conversation_turns` runs the three steps.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import peewee

from app.models.base import utcnow
from app.models.conversations import PENDING, Conversation, ConversationMessage
from app.services.conversations.errors import (
    ConversationFull,
    InvalidConversationInput,
    ReplyInProgress,
)
from app.services.conversations.messages import read_messages
from app.services.conversations.replies import SEND_GRACE
from app.services.conversations.threads import clean_title, owned
from app.transactions import write_transaction

MAX_MESSAGES = 1000  # per conversation (two per turn)
MAX_TEXT_CHARS = 100_000
MAX_IMAGES = 4
MAX_IMAGE_URL_CHARS = 2_000  # an http(s) image URL; a data URL is bounded by the body size
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
TITLE_FROM_TEXT_CHARS = 60
_DATA_URL = re.compile(r"data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>[A-Za-z0-9+/=\s]+)")


@dataclass(frozen=True)
class NewTurn:
    """A user's message, checked: its text and its images (URLs)."""

    text: str
    images: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """The message as a job stores it (`app.chat.record`)."""
        return {"role": "user", "content": _content_record(self.text, self.image_parts())}

    def image_parts(self) -> list[dict[str, Any]]:
        return [{"type": "image_url", "image_url": {"url": url}} for url in self.images]


@dataclass(frozen=True)
class BegunTurn:
    conversation_id: str
    created_conversation: bool
    user_message_id: int
    reply_message_id: int
    context: list[dict[str, Any]]  # the messages the job is asked, this turn last
    before: tuple[str | None, str | None, datetime]  # title, model, updated_at: to take back


def new_turn(text: str, images: list[str] | None = None) -> NewTurn:
    """Check a user's message: some text or an image, at most MAX_IMAGES images, each a
    base64 `data:` URL of a PNG, JPEG, WebP or GIF, or an http(s) URL."""
    images = [url.strip() for url in images or []]
    if not text.strip() and not images:
        raise InvalidConversationInput("content: type a message or attach an image")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidConversationInput(f"content: at most {MAX_TEXT_CHARS} characters")
    if len(images) > MAX_IMAGES:
        raise InvalidConversationInput(f"images: at most {MAX_IMAGES} per message")
    for index, url in enumerate(images):
        _check_image(url, f"images[{index}]")
    return NewTurn(text=text, images=tuple(images))


def _check_image(url: str, where: str) -> None:
    if url.startswith(("https://", "http://")):
        if len(url) > MAX_IMAGE_URL_CHARS:
            raise InvalidConversationInput(f"{where}: a URL of at most {MAX_IMAGE_URL_CHARS} "
                                           "characters")
        return
    match = _DATA_URL.fullmatch(url)
    if match is None:
        raise InvalidConversationInput(f"{where}: an image as a base64 data: URL "
                                       "(data:image/png;base64,...) or an http(s) URL")
    if match["mime"].lower() not in IMAGE_TYPES:
        raise InvalidConversationInput(f"{where}: one of {', '.join(IMAGE_TYPES)}")
    try:
        data = base64.b64decode(re.sub(r"\s+", "", match["data"]), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidConversationInput(f"{where}: not valid base64") from None
    if not data:
        raise InvalidConversationInput(f"{where}: the image is empty")


def _content_record(text: str, parts: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    if not parts:
        return text
    return ([{"type": "text", "text": text}] if text else []) + parts


def title_from(turn: NewTurn) -> str:
    """An untitled conversation's title, from its first message."""
    line = " ".join(turn.text.split())
    if not line:
        return "Image" if turn.images else "New conversation"
    return line if len(line) <= TITLE_FROM_TEXT_CHARS \
        else line[:TITLE_FROM_TEXT_CHARS - 1].rstrip() + "…"


def context_of(messages: list[ConversationMessage]) -> list[dict[str, Any]]:
    """The conversation so far as a job's messages: each turn whose reply has text (a stopped
    reply counts; a turn that failed with nothing written is left out), the reply as its text
    only (tool calls made without tools being offered cannot be answered)."""
    records, by_position = [], {m.position: m for m in messages}
    for message in messages:
        reply = by_position.get(message.position + 1)
        if message.role != "user" or reply is None or reply.role != "assistant" \
                or not reply.content:
            continue
        images = json.loads(message.parts_json) if message.parts_json else []
        records.append({"role": "user", "content": _content_record(message.content or "",
                                                                   images)})
        records.append({"role": "assistant", "content": reply.content})
    return records


def begin_turn(user_id: int, conversation_id: str | None, turn: NewTurn, *, model: str,
               title: str | None = None) -> BegunTurn:
    """Write the user's message and its pending reply (into a new conversation when
    `conversation_id` is None); the job's context. ReplyInProgress if a reply is still being
    written in it (or another turn is being sent into it at this moment)."""
    now = utcnow()
    with write_transaction():
        if conversation_id is None:
            conversation = Conversation.create(user=user_id, created_at=now, updated_at=now,
                                               title=clean_title(title) if title else None)
        else:
            conversation = owned(user_id, conversation_id)
        before = (conversation.title, conversation.model, conversation.updated_at)
        history = read_messages(conversation.id)
        _check_can_send(history, now)
        position = history[-1].position + 1 if history else 0
        try:
            user_message = ConversationMessage.create(
                conversation=conversation.id, position=position, role="user", status="sent",
                content=turn.text, created_at=now,
                parts_json=json.dumps(turn.image_parts()) if turn.images else None)
            reply = ConversationMessage.create(
                conversation=conversation.id, position=position + 1, role="assistant",
                status=PENDING, created_at=now)
        except peewee.IntegrityError:  # another turn took this place first
            raise ReplyInProgress() from None
        conversation.model, conversation.updated_at = model, now
        conversation.title = conversation.title or title_from(turn)
        conversation.save(only=[Conversation.model, Conversation.updated_at,
                                Conversation.title])
    return BegunTurn(conversation_id=conversation.id, created_conversation=conversation_id is None,
                     user_message_id=user_message.id, reply_message_id=reply.id,
                     context=[*context_of(history), turn.record()], before=before)


def _check_can_send(history: list[ConversationMessage], now: datetime) -> None:
    if len(history) + 2 > MAX_MESSAGES:
        raise ConversationFull()
    last = history[-1] if history else None
    if last is None or last.status != PENDING:
        return
    if last.job_id is not None or now - last.created_at <= SEND_GRACE:
        raise ReplyInProgress()  # settled replies were filled on reading: this one runs


def attach_job(turn: BegunTurn, job_id: str) -> None:
    """Name the job that answers the turn, on both of its messages."""
    (ConversationMessage.update(job=job_id)
     .where(ConversationMessage.id.in_([turn.user_message_id, turn.reply_message_id]))
     .execute())


def abandon_turn(turn: BegunTurn) -> None:
    """Take back a turn whose job could not be opened, as if it had never been sent: its
    messages, and the conversation as it was (or gone, if the turn created it)."""
    with write_transaction():
        if turn.created_conversation:
            Conversation.delete().where(Conversation.id == turn.conversation_id).execute()
            return
        (ConversationMessage.delete()
         .where(ConversationMessage.id.in_([turn.user_message_id, turn.reply_message_id]))
         .execute())
        title, model, updated_at = turn.before
        (Conversation.update(title=title, model=model, updated_at=updated_at)
         .where(Conversation.id == turn.conversation_id).execute())
