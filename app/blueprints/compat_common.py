"""Parsing and response headers shared by the OpenAI- and Anthropic-compatible endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, jsonify, request, stream_with_context

from app.errors import HubError
from app.security import current_principal


class InvalidRequest(HubError):
    """The request body is not valid."""

    http_status = 400
    code = "invalid_request_error"


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


def text_of(content: Any, where: str) -> str:
    """Plain text from a string or a list of text parts; other parts are refused clearly."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if not isinstance(part, dict) or part.get("type") != "text" \
                    or not isinstance(part.get("text"), str):
                raise InvalidRequest(f"{where}: only text content is supported")
            parts.append(part["text"])
        return "".join(parts)
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


def stop_list(value: Any, name: str) -> list[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values) \
            or len(values) > 4:
        raise InvalidRequest(f"{name}: a string or up to 4 strings")
    return values


def caller() -> tuple[Any, Any]:
    """The user and the API key (if any) the request came with."""
    principal = current_principal()
    return principal.user, principal.api_key


def sse_response(events: Iterator[str], job_id: str, overhead_ms: float | None) -> Response:
    """A streamed reply with the hub's headers (the charge is not known yet when they leave).

    The body runs inside the request's context: a job run by this thread needs the app."""
    return Response(stream_with_context(events), mimetype="text/event-stream", headers={
        "X-Hub-Overhead-Ms": f"{overhead_ms or 0:.2f}", "X-Hub-Job-Id": job_id,
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def json_response(body: dict[str, Any], job_id: str, result: dict[str, Any]) -> Response:
    """A whole reply with the hub's headers, the charge included."""
    response = jsonify(body)
    response.headers["X-Hub-Overhead-Ms"] = f"{result['overhead_ms']:.2f}"
    response.headers["X-Hub-Cost-Credits"] = str(result["usage"].get("cost_credits", 0))
    response.headers["X-Hub-Job-Id"] = job_id
    return response
