"""What a reply stream carries, in the hub's terms.

A provider adapter yields output pieces (`TextDelta`, `ToolCallDelta`, `ReasoningDelta`) and
then one `Usage`. The compatible endpoints end the stream they send with a `Finish` (or a
`ChatError` first), which each wire format renders in its own vocabulary: `FinishReason` is
the one list those vocabularies map to and from.

A job's event stream carries each delivered piece as a `delta` event whose data is the
piece's `as_data()` (`{"text": ...}` for text, as always; `{"tool_call": {...}}`,
`{"reasoning": ...}`; `"choice"` when the request asked for several). `piece_of` reads one
back, and `ReplyBuilder` assembles a whole reply from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from app.chat.request import ContentPart, ReasoningPart, TextPart, ToolCallPart


@dataclass(frozen=True, slots=True)
class TextDelta:
    """The next piece of the reply's text (one per upstream chunk: kept as small as can be)."""

    text: str
    choice: int = 0

    def as_data(self) -> dict[str, Any]:
        return {"text": self.text, "choice": self.choice} if self.choice else {"text": self.text}


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """The next piece of the tool call at `index` (OpenAI's numbering: the n-th call of the
    reply). The first piece of a call names it (`id`, `name`); the others carry more of its
    `arguments` JSON text."""

    index: int
    arguments: str = ""
    id: str | None = None
    name: str | None = None
    choice: int = 0

    def as_data(self) -> dict[str, Any]:
        call: dict[str, Any] = {"index": self.index, "arguments": self.arguments}
        if self.id is not None:
            call["id"] = self.id
        if self.name is not None:
            call["name"] = self.name
        data: dict[str, Any] = {"tool_call": call}
        if self.choice:
            data["choice"] = self.choice
        return data


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """The next piece of the model's reasoning (Anthropic's thinking, a reasoning summary);
    `signature` closes an Anthropic thinking block, `redacted` is a redacted block's data."""

    text: str = ""
    signature: str | None = None
    redacted: str | None = None
    choice: int = 0

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"reasoning": self.text}
        if self.signature is not None:
            data["signature"] = self.signature
        if self.redacted is not None:
            data["redacted"] = self.redacted
        if self.choice:
            data["choice"] = self.choice
        return data


@dataclass(frozen=True, slots=True)
class LogprobsDelta:
    """The log probabilities of the text just delivered (OpenAI's `logprobs.content` entries,
    kept as the vendor sent them); not output the caller pays for."""

    content: tuple[dict[str, Any], ...]
    choice: int = 0

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"logprobs": list(self.content)}
        if self.choice:
            data["choice"] = self.choice
        return data


OutputDelta = TextDelta | ToolCallDelta | ReasoningDelta | LogprobsDelta
OUTPUT_DELTAS = (TextDelta, ToolCallDelta, ReasoningDelta, LogprobsDelta)


def piece_of(data: dict[str, Any]) -> OutputDelta:
    """A `delta` event's data as the piece it was made from."""
    choice = data.get("choice", 0)
    if "tool_call" in data:
        call = data["tool_call"]
        return ToolCallDelta(index=call.get("index", 0), arguments=call.get("arguments", ""),
                             id=call.get("id"), name=call.get("name"), choice=choice)
    if "logprobs" in data:
        return LogprobsDelta(tuple(data["logprobs"]), choice=choice)
    if "reasoning" in data or "redacted" in data:
        return ReasoningDelta(text=data.get("reasoning", ""), signature=data.get("signature"),
                              redacted=data.get("redacted"), choice=choice)
    return TextDelta(data.get("text", ""), choice=choice)


def billable_text(piece: OutputDelta) -> str:
    """The text a piece delivered, as counted when a reply ends before the provider reported
    its usage: text, a tool call's name and arguments, and reasoning are all output."""
    if isinstance(piece, TextDelta):
        return piece.text
    if isinstance(piece, ToolCallDelta):
        return (piece.name or "") + piece.arguments
    if isinstance(piece, LogprobsDelta):
        return ""
    return piece.text


def merge_pieces(items: list[Any]) -> list[Any]:
    """Consecutive pieces of one kind and place joined (text of a choice, one tool call's
    arguments, reasoning without a signature): fewer events for one batch of a stream."""
    merged: list[Any] = []
    for item in items:
        last = merged[-1] if merged else None
        if isinstance(item, TextDelta) and isinstance(last, TextDelta) \
                and last.choice == item.choice:
            merged[-1] = TextDelta(last.text + item.text, choice=item.choice)
        elif isinstance(item, ToolCallDelta) and isinstance(last, ToolCallDelta) \
                and (last.choice, last.index) == (item.choice, item.index) \
                and item.id is None and item.name is None:
            merged[-1] = ToolCallDelta(last.index, last.arguments + item.arguments, id=last.id,
                                       name=last.name, choice=last.choice)
        elif isinstance(item, LogprobsDelta) and isinstance(last, LogprobsDelta) \
                and last.choice == item.choice:
            merged[-1] = LogprobsDelta(last.content + item.content, choice=item.choice)
        elif isinstance(item, ReasoningDelta) and isinstance(last, ReasoningDelta) \
                and last.choice == item.choice and last.signature is None \
                and last.redacted is None and item.redacted is None:
            merged[-1] = ReasoningDelta(last.text + item.text, signature=item.signature,
                                        choice=item.choice)
        else:
            merged.append(item)
    return merged


@dataclass(frozen=True)
class Usage:
    """Token usage as the provider reported it, with the provider's own finish reason (kept
    as it came: the job records it; `FinishReason.of` reads it).

    `input_tokens` is the whole prompt (as OpenAI's `prompt_tokens`): `cached_input_tokens`
    of it were read from the provider's prompt cache and `cache_write_tokens` written to it.
    `reasoning_tokens` are part of `output_tokens` (reasoning is billed as output)."""

    input_tokens: int
    output_tokens: int
    finish_reason: str | None
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0


class FinishReason(Enum):
    """Why a reply ended, whatever the vendor called it."""

    STOP = "stop"  # the model finished, hit a stop sequence, or the run ended otherwise
    LENGTH = "length"  # it reached max_tokens
    TOOL_CALLS = "tool_calls"  # it called tools and waits for their results
    CONTENT_FILTER = "content_filter"  # the provider refused or filtered it

    @classmethod
    def of(cls, provider_reason: str | None) -> FinishReason:
        """A provider's finish reason (OpenAI's or Anthropic's word) as the hub's."""
        return PROVIDER_REASONS.get(provider_reason, cls.STOP)  # type: ignore[arg-type]


PROVIDER_REASONS = {"stop": FinishReason.STOP, "end_turn": FinishReason.STOP,
                    "stop_sequence": FinishReason.STOP, "length": FinishReason.LENGTH,
                    "max_tokens": FinishReason.LENGTH, "tool_calls": FinishReason.TOOL_CALLS,
                    "function_call": FinishReason.TOOL_CALLS, "tool_use": FinishReason.TOOL_CALLS,
                    "content_filter": FinishReason.CONTENT_FILTER,
                    "refusal": FinishReason.CONTENT_FILTER}


@dataclass(frozen=True)
class Finish:
    """The end of a reply as the caller is told: why, the usage and the charge.
    `provider_reason`: the provider's own word, for a format that speaks it."""

    reason: FinishReason
    input_tokens: int = 0
    output_tokens: int = 0
    cost_credits: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    provider_reason: str | None = None


@dataclass(frozen=True)
class ChatError:
    """The run failed (after some output, when streaming; before any, it is an HTTP error)."""

    code: str
    message: str


@dataclass(frozen=True)
class Reply:
    """A whole reply, for a caller that did not stream: each choice's content in order."""

    choices: tuple[tuple[ContentPart, ...], ...]
    finish: Finish
    logprobs: tuple[tuple[dict[str, Any], ...] | None, ...] = ()  # each choice's, if asked

    @property
    def content(self) -> tuple[ContentPart, ...]:
        return self.choices[0] if self.choices else ()

    @property
    def text(self) -> str:
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


@dataclass
class ReplyBuilder:
    """Assembles delivered pieces into each choice's content parts, in the order they came:
    text joined, each tool call's arguments joined, reasoning joined up to its signature."""

    parts: dict[int, list[Any]] = field(default_factory=dict)
    logprobs: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    _calls: dict[tuple[int, int], int] = field(default_factory=dict)

    def add(self, piece: OutputDelta) -> None:
        if isinstance(piece, LogprobsDelta):
            self.logprobs.setdefault(piece.choice, []).extend(piece.content)
            return
        parts = self.parts.setdefault(piece.choice, [])
        last = parts[-1] if parts else None
        if isinstance(piece, TextDelta):
            if isinstance(last, TextPart):
                parts[-1] = TextPart(last.text + piece.text)
            elif piece.text:
                parts.append(TextPart(piece.text))
        elif isinstance(piece, ToolCallDelta):
            at = self._calls.get((piece.choice, piece.index))
            if at is None:
                self._calls[(piece.choice, piece.index)] = len(parts)
                parts.append(ToolCallPart(id=piece.id or f"call_{piece.index}",
                                          name=piece.name or "", arguments=piece.arguments))
            else:
                call = parts[at]
                parts[at] = ToolCallPart(id=call.id, name=call.name or piece.name or "",
                                         arguments=call.arguments + piece.arguments)
        elif piece.redacted is not None:
            parts.append(ReasoningPart("", redacted=piece.redacted))
        elif isinstance(last, ReasoningPart) and last.signature is None and last.redacted is None:
            parts[-1] = ReasoningPart(last.text + piece.text, signature=piece.signature)
        else:
            parts.append(ReasoningPart(piece.text, signature=piece.signature))

    def choices(self, n: int = 1) -> tuple[tuple[ContentPart, ...], ...]:
        count = max(n, max(self.parts, default=0) + 1)
        return tuple(tuple(self.parts.get(i, ())) for i in range(count))

    def choice_logprobs(self, n: int = 1) -> tuple[tuple[dict[str, Any], ...] | None, ...]:
        """Each choice's log probabilities (None where none came)."""
        if not self.logprobs:
            return ()
        count = max(n, max(self.parts, default=0) + 1)
        return tuple(tuple(self.logprobs[i]) if i in self.logprobs else None
                     for i in range(count))


ChatEvent = TextDelta | ToolCallDelta | ReasoningDelta | LogprobsDelta | Usage | Finish | ChatError
