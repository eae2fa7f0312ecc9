"""A chat request: the model, the conversation as messages of content parts, the sampling.

A content part is a small tagged union (`ContentPart`): each kind is a frozen dataclass with
a `type` tag, and code that reads parts matches on the class. A new kind of part (a tool call,
a tool result, reasoning) is one more dataclass added to the union, and each translator
learns to read or refuse it; nothing that handles text changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    type: ClassVar[str] = "text"


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image by URL (a `data:` URL carries it inline). No public endpoint accepts one yet;
    the token counter and the Anthropic adapter already read them from a stored request."""

    url: str
    type: ClassVar[str] = "image"


ContentPart = TextPart | ImagePart


@dataclass(frozen=True, slots=True)
class Message:
    """One turn. `role` is system, user or assistant (a translator refuses any other); system
    turns stay in place, as OpenAI's format allows them anywhere (Anthropic's top-level
    `system` becomes the first message, and its adapter gathers them back)."""

    role: str
    content: tuple[ContentPart, ...]
    name: str | None = None

    @property
    def text(self) -> str:
        """The message's text parts, joined."""
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


def text_message(role: str, text: str) -> Message:
    return Message(role=role, content=(TextPart(text),))


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A chat request in the hub's terms. `max_tokens` is None until the job core sizes it
    (a provider always gets a number); `stream` and `include_usage` are how the caller wants
    the reply, not part of what the provider is asked."""

    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    stream: bool = False
    include_usage: bool = False

    @property
    def system(self) -> str:
        """The system turns' text, in order, separated by blank lines (for formats with one
        system prompt)."""
        return "\n\n".join(text for text in (m.text for m in self.messages
                                             if m.role == "system") if text)
