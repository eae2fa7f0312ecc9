"""What the wire translators share: the validation error and field checks, and the writer
interface the compatible endpoints drive."""

from __future__ import annotations

from typing import Any, Protocol

from app.chat.events import ChatError, Finish, Reply
from app.chat.request import ContentPart, TextPart
from app.errors import HubError


class InvalidRequest(HubError):
    """The request body is not valid."""

    http_status = 400
    code = "invalid_request_error"


def content_parts(content: Any, where: str) -> tuple[ContentPart, ...]:
    """A message's content as parts: a string, or a list of text parts (joined into one, as
    the reply to each is the same); any other kind of part is refused clearly."""
    if isinstance(content, str):
        return (TextPart(content),)
    if isinstance(content, list):
        texts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" \
                    or not isinstance(part.get("text"), str):
                raise InvalidRequest(f"{where}: only text content is supported")
            texts.append(part["text"])
        return (TextPart("".join(texts)),)
    raise InvalidRequest(f"{where}: content must be a string or a list of text parts")


def positive_int(body: dict, name: str, *, required: bool = False) -> int | None:
    value = body.get(name)
    if value is None:
        if required:
            raise InvalidRequest(f"{name}: required")
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidRequest(f"{name}: must be a positive integer")
    return value


def number(body: dict, name: str, low: float, high: float) -> float | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not low <= value <= high:
        raise InvalidRequest(f"{name}: must be a number from {low:g} to {high:g}")
    return float(value)


def stop_list(value: Any, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values) \
            or len(values) > 4:
        raise InvalidRequest(f"{name}: a string or up to 4 strings")
    return tuple(values)


class ReplyWriter(Protocol):
    """A reply in one wire format. Streamed: `start()`, then `text()` for each delta (and
    `error()` where the run failed), `finish()` once, and `close()` at the end of the body,
    each returning SSE frames. Whole: `body()`."""

    def start(self) -> list[str]: ...

    def text(self, text: str) -> str:
        """One delta's frame: takes the text itself, so the per-chunk path builds no event."""

    def error(self, error: ChatError) -> str: ...

    def finish(self, finish: Finish) -> list[str]: ...

    def close(self) -> list[str]: ...

    def body(self, reply: Reply) -> dict[str, Any]: ...
