"""The fake upstream's deterministic content: words, token counts, tool calls, vectors.

Pure functions with no HTTP in them, shared by the OpenAI and Anthropic routes so that the
same request yields the same numbers on every wire format.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import struct
import uuid
from typing import Any

WORDS = ("Hello", "from", "the", "fake", "upstream", "streaming", "tokens", "one", "by", "one")
THINKING = ("Thinking", " it", " over")  # reasoning / thinking pieces, in this order
TOOL_PREAMBLE = "Let me check."  # Anthropic's text block before a tool_use block
IMAGE_TOKENS = 85  # per image part, as OpenAI bills a low-detail image
ARGUMENT_PIECES = 3  # a tool call's JSON arguments arrive in this many pieces
DEFAULT_EMBEDDING_DIMENSIONS = 8
LOGPROB = -0.1


def split_in(text: str, count: int) -> list[str]:
    """`text` cut into `count` roughly equal pieces that join back to it."""
    bounds = [round(i * len(text) / count) for i in range(count + 1)]
    return [text[bounds[i]:bounds[i + 1]] for i in range(count)]


def new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


# --- token counts --------------------------------------------------------------------------
def content_tokens(content: Any) -> int:
    """Words of a string, or of the text parts of a list; 85 per image part."""
    if isinstance(content, str):
        return len(content.split())
    total = 0
    for part in content or []:
        if not isinstance(part, dict):
            continue
        if part.get("type") in ("image_url", "image", "input_image"):
            total += IMAGE_TOKENS
        else:
            total += len(str(part.get("text", "")).split())
    return total


def input_tokens(messages: list[dict], system: Any = None) -> int:
    """Content tokens of every message + 3 per message, and of the system prompt + 3."""
    total = sum(content_tokens(m.get("content")) + 3 for m in messages)
    return total + (content_tokens(system) + 3 if system else 0)


# --- who asked what ------------------------------------------------------------------------
def text_of(content: Any) -> str:
    """The text of a message's content: the string, or its text parts joined by a space."""
    if isinstance(content, str):
        return content
    return " ".join(str(p["text"]) for p in content or []
                    if isinstance(p, dict) and isinstance(p.get("text"), str))


def last_user_text(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def tool_arguments(messages: list[dict]) -> str:
    """A tool call's arguments: `{"query": "<text of the last user message>"}`."""
    return json.dumps({"query": last_user_text(messages)})


def tool_name(tool: dict) -> str:
    """A tool's name: nested under `function` (chat completions) or flat (others)."""
    return str((tool.get("function") or {}).get("name") or tool.get("name") or "")


def called_tools(tools: list[dict], named: str | None, parallel: bool) -> list[str]:
    """Names to call: the named tool, else the first one, or the first two when parallel."""
    if named:
        return [named]
    count = 2 if parallel and len(tools) >= 2 else 1
    return [tool_name(tool) for tool in tools[:count]]


# --- embeddings ----------------------------------------------------------------------------
def embedding_inputs(raw: Any) -> list[tuple[str, int]]:
    """Each input as (text to hash, tokens): strings count words, token-id lists their length."""
    if isinstance(raw, str):
        raw = [raw]
    elif isinstance(raw, list) and raw and all(isinstance(x, int) for x in raw):
        raw = [raw]  # one input given as a single list of token ids
    inputs = []
    for item in raw or []:
        if isinstance(item, str):
            inputs.append((item, max(1, len(item.split()))))
        else:
            inputs.append((json.dumps(item), max(1, len(item))))
    return inputs


def embedding(text: str, dimensions: int) -> list[float]:
    """A unit-length vector derived from a hash of `text`: the same text, the same vector."""
    values = []
    for i in range(dimensions):
        digest = hashlib.sha256(f"{i}:{text}".encode()).digest()
        values.append(int.from_bytes(digest[:8], "little") / 2**63 - 1.0)
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def as_base64(vector: list[float]) -> str:
    """Little-endian float32, base64-encoded: what OpenAI sends for encoding_format=base64."""
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()


def logprob(token: str) -> dict:
    return {"token": token, "logprob": LOGPROB, "bytes": list(token.encode()), "top_logprobs": []}
