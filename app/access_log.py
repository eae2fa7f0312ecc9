"""gunicorn's access log, with secrets in URLs redacted (gunicorn.conf.py's `logger_class`).

Password reset links mailed before the token moved to the fragment carry `?token=…`, and
Google's sign-in callback a one-time `?code=…`. gunicorn's default format logs the request line
(`%(r)s`) and the Referer (`%(f)s`, which repeats the page's URL on every asset it loads); this
logger replaces those parameters' values with `[redacted]` in every atom that can hold a URL.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

SECRET_PARAMETERS = ("token", "code")
REDACTED = "[redacted]"
_NAMES = "|".join(SECRET_PARAMETERS)
_SECRET = re.compile(rf"(^|[?&;#])((?:{_NAMES})=)[^&;#\s\"]*", re.IGNORECASE)
# request line, query string, Referer, Location (any format that names them)
_URL_ATOMS = ("r", "q", "f", "{referer}i", "{location}o", "{raw_uri}e", "{query_string}e",
              "{http_referer}e")


def redact_url(value: str) -> str:
    """`/reset?token=abc&x=1` → `/reset?token=[redacted]&x=1`."""
    return _SECRET.sub(rf"\1\2{REDACTED}", value)


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        for name in _URL_ATOMS:
            value = atoms.get(name)
            if isinstance(value, str) and "=" in value:
                atoms[name] = redact_url(value)
        return atoms
