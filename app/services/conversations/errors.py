"""What a conversation request can be refused for, each mapped to its HTTP status once."""

from __future__ import annotations

from app.errors import Conflict, HubError, NotFound


class ConversationNotFound(NotFound):
    """No such conversation."""

    code = "conversation_not_found"


class MessageNotFound(NotFound):
    """No such message in this conversation."""

    code = "message_not_found"


class InvalidConversationInput(HubError):
    """A title, a message or an image the hub cannot keep (the message says which)."""

    http_status = 422
    code = "invalid_conversation_input"


class ReplyInProgress(Conflict):
    """A reply is still being written in this conversation: wait for it (or stop it) before
    sending the next message."""

    code = "reply_in_progress"


class ConversationFull(Conflict):
    """The conversation has as many messages as one may hold: start a new one."""

    code = "conversation_full"
