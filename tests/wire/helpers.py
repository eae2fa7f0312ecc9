"""Reading back what a reply writer sent, as a client (or the hub's own adapters) would."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from app.chat.events import ChatError, ChatEvent, Finish, TextDelta
from app.providers.sse import sse_data
from app.wire.base import ReplyWriter


def frames(writer: ReplyWriter, events: Iterable[ChatEvent]) -> list[str]:
    """A streamed reply, in the order the compatible endpoints send it."""
    out = list(writer.start())
    for event in events:
        if isinstance(event, TextDelta):
            out.append(writer.text(event.text))
        elif isinstance(event, ChatError):
            out.append(writer.error(event))
        elif isinstance(event, Finish):
            out.extend(writer.finish(event))
    return out + writer.close()


def payloads(sent: list[str]) -> Iterator[dict[str, Any]]:
    """Each `data:` payload, decoded, up to OpenAI's `[DONE]` (as `StreamClient` reads)."""
    for payload in sse_data(iter(["".join(sent).encode()])):
        if payload == b"[DONE]":
            return
        yield json.loads(payload)
