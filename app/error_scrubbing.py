"""Removes secrets from an error event before it leaves the process.

Sentry's own scrubber already blanks the usual header and field names; this one walks the whole
event (request data, headers, query string, breadcrumbs, exception values, stack-frame variables,
extra, contexts) because secrets also hide inside free text: a hub API key in an exception
message, a Stripe key in a settings repr, a reset token in a URL. Two rules, applied everywhere:

* a value under a secret-sounding name (`password`, `authorization`, `stripe-signature`,
  `token`, `code`, `*_secret`, ...) is replaced whole;
* inside any string, anything shaped like a credential (hub keys, bearer tokens, JWTs, Stripe and
  provider keys, Stripe signatures, `token=`/`code=` query values, URL passwords) is replaced.

Over-scrubbing is the accepted failure mode: a lost clue costs less than a leaked key.
"""

from __future__ import annotations

import re
from typing import Any

FILTERED = "[Filtered]"

# Names (lower case, `-` read as `_`) whose values are always secret.
SECRET_NAMES = frozenset({
    "authorization", "proxy_authorization", "cookie", "cookies", "set_cookie", "x_api_key",
    "api_key", "apikey", "key", "stripe_signature", "password", "passwd", "secret", "token",
    "code", "otp", "session", "dsn",
})
SECRET_NAME_SUFFIXES = ("password", "_secret", "_token", "secret_key", "_api_key")

# (pattern, replacement) applied to every string, in order.
_VALUE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {FILTERED}"),
    (re.compile(r"\bhub_[A-Za-z0-9]{8}_[A-Za-z0-9]+"), FILTERED),  # hub API keys
    (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), FILTERED),  # JWTs
    (re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+"), FILTERED),  # Stripe secret keys
    (re.compile(r"\bwhsec_[A-Za-z0-9]+"), FILTERED),  # Stripe webhook secrets
    (re.compile(r"\bv[01]=[0-9a-f]{16,}"), FILTERED),  # Stripe-Signature's HMACs
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), FILTERED),  # OpenAI and Anthropic keys
    (re.compile(r"\bAIza[0-9A-Za-z_-]{20,}"), FILTERED),  # Google API keys
    (re.compile(r"(://[^/\s:@]+:)[^/\s@]+@"), rf"\1{FILTERED}@"),  # passwords in URLs
    # query and form values: `?token=…`, `&code=…`, Gemini's `?key=…`
    (re.compile(r"(?i)((?:^|[?&;])(?:access_token|refresh_token|id_token|token|code|key|api_key"
                r"|password|secret|client_secret|signature|sig)=)(?!\[Filtered\])[^&#\s\"']+"),
     rf"\1{FILTERED}"),
    # `name=value` / `'name': 'value'` in reprs, logs and messages
    (re.compile(r"(?i)(\b[a-z_]*(?:password|passwd|secret|token|secret_key|api_key)[\"']?"
                r"\s*[:=]\s*[\"']?)(?!\[Filtered\])[^\"'&\s,;}\])]+"), rf"\1{FILTERED}"),
)


def is_secret_name(name: str) -> bool:
    normal = name.strip().lower().replace("-", "_")
    return normal in SECRET_NAMES or normal.endswith(SECRET_NAME_SUFFIXES)


def scrub_text(text: str) -> str:
    for pattern, replacement in _VALUE_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub(value: Any) -> Any:
    """`value` with every secret replaced: dicts by name and content, lists and strings by
    content. Other values (numbers, None) pass through."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: FILTERED if isinstance(key, str) and is_secret_name(key) and item
                else scrub(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub_pair(item) if _is_pair(item) else scrub(item) for item in value]
    return value


def _is_pair(item: Any) -> bool:
    return isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)


def _scrub_pair(item: Any) -> list[Any]:
    """Headers and query strings sometimes travel as [name, value] pairs."""
    name, value = item
    return [name, FILTERED if is_secret_name(name) and value else scrub(value)]
