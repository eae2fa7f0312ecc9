"""The browser origins the hub trusts with its session cookie on a WebSocket.

A WebSocket handshake is not subject to CORS and carries the hub's cookies whatever page opened
it, so a cookie-authenticated socket is only accepted from the hub's own pages: its
`HUB_PUBLIC_URL`, the origins in `HUB_ALLOWED_REDIRECT_ORIGINS`, and the origin the request
itself was addressed to (scheme from the proxy when `HUB_TRUSTED_PROXY_COUNT` is set).
"""

from __future__ import annotations

from app.config import Settings, origin_of

WS_SCHEMES = {"ws": "http", "wss": "https"}  # some servers report a socket's own scheme


def request_origin(scheme: str, host: str) -> str:
    """The origin a request was addressed to, as a browser page on that host would send it."""
    return origin_of(f"{WS_SCHEMES.get(scheme, scheme)}://{host}")


def trusted_origins(settings: Settings, own_origin: str) -> frozenset[str]:
    return frozenset({origin_of(settings.public_url), *settings.allowed_redirect_origins,
                      own_origin})


def origin_trusted(origin: str | None, *, settings: Settings, own_origin: str) -> bool:
    """True when `origin` (an Origin header) is one of the hub's own; a missing, `null` or
    malformed one is not (browsers always send Origin on a WebSocket handshake)."""
    if not origin or origin == "null":
        return False
    try:
        normalized = origin_of(origin)
    except ValueError:  # a port that is not a number
        return False
    return normalized in trusted_origins(settings, own_origin)
