"""JSON from outside the hub, parsed in one place: request bodies, WebSocket messages, webhooks.

The standard library accepts two things the rest of the hub cannot handle, so `loads` refuses
them as malformed JSON (a `ValueError`, as every caller already expects):

- nesting deeper than the interpreter's recursion limit, which `json.loads` reports as a
  `RecursionError` rather than a `ValueError`;
- a string holding a lone surrogate (`"\\ud800"`, or one encoded in the bytes): valid JSON
  syntax, but not Unicode text, so the tokenizer, PostgreSQL and every encoder fail on it
  (I-JSON, RFC 7493 §2.1, forbids it);
- a string holding the NUL character (`"\\u0000"`): Unicode text, but PostgreSQL's text
  columns and its driver cannot carry it, so a body naming it anywhere (a promo code, a key
  name, a sign-in address) would fail inside the database instead of being refused.

Bytes must be UTF-8 (RFC 8259 §8.1). `init_json_input` makes this parser the app's: Flask's
`request.get_json()` and apiflask's JSON body loader both go through it, and a refused body
answers 400 `invalid_json` (`invalid_unicode` for a lone surrogate) in the route's error shape.
"""

from __future__ import annotations

import json
import re
from typing import Any

from apiflask import APIFlask
from flask import Request, request
from flask.json.provider import DefaultJSONProvider
from webargs.core import missing

from app.errors import HubError

# Cheap tests that run on every body: a surrogate can only come from a \uD800-\uDFFF escape
# (paired ones are joined by the parser) or from a raw code point in a str given to `loads`;
# a NUL only from a \u0000 escape (the parser refuses raw control characters in strings).
_MAYBE_SURROGATE = re.compile(r"[\ud800-\udfff]|\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MAYBE_NUL = "\\u0000"
_NUL = re.compile("\x00")


class JsonTooDeep(ValueError):
    """The document nests deeper than the parser can follow."""


class JsonNotText(ValueError):
    """A string of the document holds a lone surrogate, which is not Unicode text."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path}: holds a lone surrogate, which is not Unicode text")
        self.path = path


class JsonHasNul(ValueError):
    """A string of the document holds the NUL character, which the database cannot store."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path}: holds a NUL character (U+0000), which the hub cannot store")
        self.path = path


def loads(data: str | bytes | bytearray) -> Any:
    """`json.loads`, refusing nesting too deep, lone surrogates and NUL as malformed JSON."""
    text = data.decode("utf-8") if isinstance(data, bytes | bytearray) else data
    try:
        value = json.loads(text)
    except RecursionError:
        raise JsonTooDeep("the document is nested too deeply") from None
    if _MAYBE_SURROGATE.search(text):
        path = _first_string_path(value, _SURROGATE)
        if path is not None:
            raise JsonNotText(path)
    if _MAYBE_NUL in text:
        path = _first_string_path(value, _NUL)
        if path is not None:
            raise JsonHasNul(path)
    return value


def _first_string_path(value: Any, pattern: re.Pattern[str]) -> str | None:
    """Where the first string (key or value) matching `pattern` is, e.g.
    `messages[0].content`; iterative, since the document may nest close to the limit."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if pattern.search(item):
                return path or "the body"
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                if pattern.search(key):
                    return _join(path, _printable(key))
                stack.append((_join(path, key), child))
        elif isinstance(item, list):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(item))))
    return None


def _printable(key: str) -> str:
    """A key as a message can name it: surrogates and NUL written as escapes."""
    return key.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\u0000")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class InvalidJson(HubError):
    """The request body is not valid JSON."""

    http_status = 400
    code = "invalid_json"


class InvalidUnicode(InvalidJson):
    """A string of the request body is not Unicode text."""

    code = "invalid_unicode"


class NulCharacter(InvalidJson):
    """A string of the request body holds the NUL character."""

    code = "nul_character"


class HubJSONProvider(DefaultJSONProvider):
    """Flask's JSON, with `loads` above (so `request.get_json()` refuses what it refuses)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s)


class HubRequest(Request):
    """A request whose body, when not JSON the hub can use, is refused with the reason."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if isinstance(e, JsonNotText):
            raise InvalidUnicode(str(e))
        if isinstance(e, JsonHasNul):
            raise NulCharacter(str(e))
        if e is not None:
            raise InvalidJson(f"the request body is not valid JSON: {_reason(e)}")
        return super().on_json_loading_failed(e)


def _reason(error: ValueError) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at character {error.pos}"
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8"
    return str(error)


def load_json_body(req: Request, schema: Any) -> Any:
    """apiflask's (webargs') JSON location, read with `request.get_json()`: one parser for
    every route, and a body parsed once even when a view reads it again."""
    if not req.is_json or not req.get_data(cache=True):
        return missing
    return req.get_json()


def refuse_nul_in_form_and_query() -> None:
    """The same rule for the other text a request carries: a query argument or a form field
    (a page's sign-in address, say) holding NUL is refused by name before any view reads it."""
    for source in (request.args, request.form):
        for name, values in source.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                raise NulCharacter(str(JsonHasNul(_printable(name))))


def init_json_input(app: APIFlask) -> None:
    from apiflask.schema_adapters.marshmallow import parser

    app.json = HubJSONProvider(app)
    app.request_class = HubRequest
    # apiflask has one parser for the process; registering the same loader again is harmless
    parser.location_loader("json")(load_json_body)
    app.before_request(refuse_nul_in_form_and_query)

