"""What a reply stream carries, in the hub's terms.

A provider adapter yields `TextDelta`s and then one `Usage`. The compatible endpoints end the
stream they send with a `Finish` (or a `ChatError` first), which each wire format renders in
its own vocabulary: `FinishReason` is the one list those vocabularies map to and from.

New kinds of output (a tool call, reasoning) are new event classes next to `TextDelta`, and a
new `FinishReason` member (`TOOL_CALLS`) where the reply ends for a new reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from app.chat.request import ContentPart, TextPart


@dataclass(frozen=True, slots=True)
class TextDelta:
    """The next piece of the reply's text (one per upstream chunk: kept as small as can be)."""

    text: str


@dataclass(frozen=True)
class Usage:
    """Token usage as the provider reported it, with the provider's own finish reason (kept
    as it came: the job records it; `FinishReason.of` reads it)."""

    input_tokens: int
    output_tokens: int
    finish_reason: str | None


class FinishReason(Enum):
    """Why a reply ended, whatever the vendor called it."""

    STOP = "stop"  # the model finished, hit a stop sequence, or the run ended otherwise
    LENGTH = "length"  # it reached max_tokens

    @classmethod
    def of(cls, provider_reason: str | None) -> FinishReason:
        """A provider's finish reason (OpenAI's or Anthropic's word) as the hub's."""
        return PROVIDER_REASONS.get(provider_reason, cls.STOP)  # type: ignore[arg-type]


PROVIDER_REASONS = {"stop": FinishReason.STOP, "end_turn": FinishReason.STOP,
                    "stop_sequence": FinishReason.STOP, "length": FinishReason.LENGTH,
                    "max_tokens": FinishReason.LENGTH}


@dataclass(frozen=True)
class Finish:
    """The end of a reply as the caller is told: why, the usage and the charge."""

    reason: FinishReason
    input_tokens: int = 0
    output_tokens: int = 0
    cost_credits: int = 0


@dataclass(frozen=True)
class ChatError:
    """The run failed (after some output, when streaming; before any, it is an HTTP error)."""

    code: str
    message: str


@dataclass(frozen=True)
class Reply:
    """A whole reply, for a caller that did not stream."""

    content: tuple[ContentPart, ...]
    finish: Finish

    @property
    def text(self) -> str:
        return "".join(part.text for part in self.content if isinstance(part, TextPart))


ChatEvent = TextDelta | Usage | Finish | ChatError
