"""Chat conversations kept on the server: each turn's text and parts in the conversation's own
rows, and the job that answered it (`app.services.conversations`)."""

from __future__ import annotations

import uuid

from peewee import (
    AutoField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from app.models.base import BaseModel, utcnow
from app.models.jobs import Job
from app.models.users import User

MESSAGE_ROLES = ("user", "assistant")
PENDING = "pending"  # an assistant message whose reply is not copied from its job yet


def new_conversation_id() -> str:
    return uuid.uuid4().hex


class Conversation(BaseModel):
    id = CharField(primary_key=True, max_length=32, default=new_conversation_id)
    user = ForeignKeyField(User, on_delete="CASCADE", index=False)
    title = CharField(max_length=200, null=True)  # None: untitled (named after its first turn)
    model = CharField(max_length=100, null=True)  # the model of its latest turn
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "conversations"
        # a user's conversations, most recently active first (the list's keyset order)
        indexes = ((("user", "updated_at", "id"), False),)


class ConversationMessage(BaseModel):
    """One turn. `content` is the text: the user's as typed, the assistant's as its job
    delivered it (a stopped reply keeps what was written), NULL while it is PENDING.
    `parts_json`: the other content parts in `app.chat.record`'s stored form (the user's
    images; the reply's tool calls and reasoning). `job`: the job that answered this turn,
    on the user's message and on the reply."""

    id = AutoField()
    conversation = ForeignKeyField(Conversation, on_delete="CASCADE", index=False)
    position = IntegerField()
    role = CharField(max_length=16)
    status = CharField(max_length=12)  # user: sent; assistant: pending, then the job's status
    content = TextField(null=True)
    parts_json = TextField(null=True)
    job = ForeignKeyField(Job, null=True, on_delete="SET NULL", index=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "conversation_messages"
        indexes = ((("conversation", "position"), True),)
