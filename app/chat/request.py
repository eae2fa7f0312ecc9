"""A chat request: the model, the conversation as messages of content parts, the tools, the
sampling and the other choices a client made.

A content part is a small tagged union (`ContentPart`): each kind is a frozen dataclass with
a `type` tag, and code that reads parts matches on the class. Each wire translator reads its
format's blocks into these parts and each provider adapter writes them in its vendor's; a kind
one side cannot express is refused there with a clear message.

What a request needs from its model (`needs`: tools, vision, structured output, reasoning) is
derived from the request itself, so the job core can refuse a model that lacks one before
any hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class TextPart:
    text: str
    cache_control: dict[str, Any] | None = None  # Anthropic's breakpoint, kept as sent
    type: ClassVar[str] = "text"


@dataclass(frozen=True, slots=True)
class ImagePart:
    """An image by URL (a `data:` URL carries it inline); `detail` is OpenAI's hint."""

    url: str
    detail: str | None = None
    cache_control: dict[str, Any] | None = None
    type: ClassVar[str] = "image"


@dataclass(frozen=True, slots=True)
class ToolCallPart:
    """A call the assistant made: `arguments` is the JSON text of its input, as OpenAI sends
    it (Anthropic's `input` object is rendered to and read from it)."""

    id: str
    name: str
    arguments: str
    type: ClassVar[str] = "tool_call"


@dataclass(frozen=True, slots=True)
class ToolResultPart:
    """What a tool returned, for the call `tool_call_id`."""

    tool_call_id: str
    content: tuple[TextPart | ImagePart, ...]
    is_error: bool = False
    cache_control: dict[str, Any] | None = None
    type: ClassVar[str] = "tool_result"

    @property
    def text(self) -> str:
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


@dataclass(frozen=True, slots=True)
class ReasoningPart:
    """The model's reasoning from an earlier turn (Anthropic's thinking block, which must go
    back with its `signature`; `redacted`: a redacted thinking block's data)."""

    text: str
    signature: str | None = None
    redacted: str | None = None
    type: ClassVar[str] = "reasoning"


ContentPart = TextPart | ImagePart | ToolCallPart | ToolResultPart | ReasoningPart


@dataclass(frozen=True, slots=True)
class Message:
    """One turn. `role` is system, user, assistant or tool (a tool turn holds the results of
    the assistant's calls). System turns stay in place, as OpenAI's format allows them
    anywhere (Anthropic's top-level `system` becomes the first message, and its adapter
    gathers them back)."""

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
class Tool:
    """A function the model may call: its JSON schema as `parameters`."""

    name: str
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    strict: bool | None = None
    cache_control: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ToolChoice:
    """`auto`, `none`, `required` (Anthropic's `any`) or `tool` (then `name` says which)."""

    mode: Literal["auto", "none", "required", "tool"]
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """A chat request in the hub's terms. `max_tokens` is None until the job core sizes it
    (a provider always gets a number); `stream` and `include_usage` are how the caller wants
    the reply, not part of what the provider is asked.

    `reasoning_effort` is OpenAI's knob and `thinking_budget` Anthropic's; each adapter
    maps the other's when only one is given. `extra`: parameters the hub does not interpret,
    sent untouched to a provider of the format they came in (`extra_format`) and left out for
    the other vendor, whose API would refuse them.
    """

    model: str
    messages: tuple[Message, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    stream: bool = False
    include_usage: bool = False
    tools: tuple[Tool, ...] = ()
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    n: int = 1
    extra: dict[str, Any] = field(default_factory=dict)
    extra_format: str | None = None  # "openai" or "anthropic"

    @property
    def system(self) -> str:
        """The system turns' text, in order, separated by blank lines (for formats with one
        system prompt)."""
        return "\n\n".join(text for text in (m.text for m in self.messages
                                             if m.role == "system") if text)

    @property
    def needs(self) -> tuple[str, ...]:
        """The capabilities a model must have to answer this request (catalog names)."""
        needs = []
        if self.tools or any(isinstance(part, ToolCallPart | ToolResultPart)
                             for message in self.messages for part in message.content):
            needs.append("tools")
        if any(_has_image(part) for message in self.messages for part in message.content):
            needs.append("vision")
        if self.response_format and self.response_format.get("type") != "text":
            needs.append("structured_output")
        if self.reasoning_effort not in (None, "none", "minimal") or self.thinking_budget:
            needs.append("reasoning")
        if self.extra.get("logprobs") and self.extra_format == "openai":
            needs.append("logprobs")
        return tuple(needs)


def _has_image(part: ContentPart) -> bool:
    if isinstance(part, ImagePart):
        return True
    return isinstance(part, ToolResultPart) and any(isinstance(p, ImagePart) for p in part.content)
