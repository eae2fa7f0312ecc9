"""What the wire translators share: the validation error and field checks, and the writer
interface the compatible endpoints drive."""

from __future__ import annotations

from typing import Any, Protocol

from app.chat.events import ChatError, Finish, OutputDelta, Reply
from app.errors import HubError


class InvalidRequest(HubError):
    """The request body is not valid."""

    http_status = 400
    code = "invalid_request_error"


def text_of(content: Any, where: str) -> str:
    """Content that must be text: a string, or a list of text parts (joined)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(part, dict) and part.get("type") == "text"
                                         and isinstance(part.get("text"), str)
                                         for part in content):
        return "".join(part["text"] for part in content)
    raise InvalidRequest(f"{where}: must be a string or a list of text parts")


def schema_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"{where}: must be a JSON schema object")
    return value


def tool_name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidRequest(f"{where}: a non-empty string is required")
    return value


def refuse_unmetered(body: dict[str, Any], refused: dict[str, str]) -> None:
    """Refuse a parameter that would change what the hub is billed in a way it cannot meter
    (each with the reason the caller is given)."""
    for name, why in refused.items():
        if body.get(name) not in (None, False):
            raise InvalidRequest(f"{name}: not supported: {why}")


def passthrough(body: dict[str, Any], known: frozenset[str]) -> dict[str, Any]:
    """The parameters the hub does not interpret: sent untouched to a provider of the same
    format."""
    return {name: value for name, value in body.items() if name not in known}


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
    """A reply in one wire format. Streamed: `start()`, then `text()` for each delta of the
    first choice's text and `piece()` for any other piece (a tool call's, reasoning, another
    choice's text), `error()` where the run failed, `finish()` once, and `close()` at the end
    of the body, each returning SSE frames. Whole: `body()`."""

    def start(self) -> list[str]: ...

    def text(self, text: str) -> str:
        """One delta's frame: takes the text itself, so the per-chunk path builds no event."""

    def piece(self, piece: OutputDelta) -> str: ...

    def error(self, error: ChatError) -> str: ...

    def finish(self, finish: Finish) -> list[str]: ...

    def close(self) -> list[str]: ...

    def body(self, reply: Reply) -> dict[str, Any]: ...
