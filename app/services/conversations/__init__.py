"""Chat conversations kept on the server: a user's conversations (`threads`), their messages
as shown (`messages`), a turn written before its job is opened (`turns`), and each settled
reply copied from its job into the conversation's own row (`replies`), so a conversation
outlives the retention of job details. Replies are rendered from markdown to sanitized HTML
(`markdown`). Sending a turn, which opens a job, is `app.jobs.conversation_turns`."""

from app.services.conversations.errors import (
    ConversationFull,
    ConversationNotFound,
    InvalidConversationInput,
    MessageNotFound,
    ReplyInProgress,
)
from app.services.conversations.messages import (
    ConversationView,
    JobSummary,
    MessageView,
    get_message,
    open_conversation,
)
from app.services.conversations.replies import fill_replies_before
from app.services.conversations.threads import (
    ConversationPage,
    ConversationSummary,
    create_conversation,
    delete_conversation,
    get_conversation,
    list_conversations,
    rename_conversation,
)
from app.services.conversations.turns import (
    BegunTurn,
    NewTurn,
    abandon_turn,
    attach_job,
    begin_turn,
    new_turn,
)

__all__ = [
    "BegunTurn", "ConversationFull", "ConversationNotFound", "ConversationPage",
    "ConversationSummary", "ConversationView", "InvalidConversationInput", "JobSummary",
    "MessageNotFound", "MessageView", "NewTurn", "ReplyInProgress", "abandon_turn",
    "attach_job", "begin_turn", "create_conversation", "delete_conversation",
    "fill_replies_before", "get_conversation", "get_message", "list_conversations",
    "new_turn", "open_conversation", "rename_conversation",
]
