"""The request as a job stores it (`Job.request_json`): OpenAI-style messages, as always.

A message whose content is one text part is stored as a string, so every job row reads as
before; other content as a list of `{"type": ...}` parts. Reading is lenient (a stored row was
validated when it came in): unknown parts are skipped, as the token counter always did.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from app.chat.request import ChatRequest, ContentPart, ImagePart, Message, TextPart


def messages_to_record(messages: Iterable[Message]) -> list[dict[str, Any]]:
    return [_message_record(message) for message in messages]


def _message_record(message: Message) -> dict[str, Any]:
    content = message.content
    record: dict[str, Any] = {"role": message.role, "content": content[0].text
                              if len(content) == 1 and isinstance(content[0], TextPart)
                              else [_part_record(part) for part in content]}
    if message.name:
        record["name"] = message.name
    return record


def _part_record(part: ContentPart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    return {"type": "image_url", "image_url": {"url": part.url}}


def messages_from_record(records: Iterable[dict[str, Any]]) -> tuple[Message, ...]:
    return tuple(Message(role=str(record.get("role", "")),
                         content=_parts_from_record(record.get("content")),
                         name=record.get("name") or None) for record in records)


def _parts_from_record(content: Any) -> tuple[ContentPart, ...]:
    if isinstance(content, str):
        return (TextPart(content),)
    parts: list[ContentPart] = []
    for part in content or ():
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text":
            parts.append(TextPart(str(part.get("text", ""))))
        elif part.get("type") == "image_url":
            parts.append(ImagePart(str((part.get("image_url") or {}).get("url", ""))))
        elif part.get("type") == "image":
            parts.append(ImagePart(str((part.get("source") or {}).get("url", ""))))
    return tuple(parts)


def request_from_record(model: str, record: dict[str, Any]) -> ChatRequest:
    """The provider's request for a stored job (its model as the job names it)."""
    stop = record.get("stop")
    return ChatRequest(model=model, messages=messages_from_record(record["messages"]),
                       max_tokens=record["max_tokens"], temperature=record.get("temperature"),
                       top_p=record.get("top_p"), stop=tuple(stop) if stop else None)
