"""Redirect targets that come from input, judged the way a browser will read them.

A browser does not read a URL the way `urllib.parse` does. The WHATWG URL standard, which every
browser follows, first strips leading and trailing C0 control characters and spaces, removes
tabs, carriage returns and line feeds anywhere, and, for http(s), reads `\\` as `/`. So
`/<tab>/evil.example` and `/\\evil.example` are other sites to a browser, and so is the host of
`http://evil.example\\@hub.example/`. Every redirect target taken from input goes through this
module, and anything it cannot vouch for is refused (the caller falls back to a page of its own).
"""

from __future__ import annotations

import re

# What a browser's URL parser strips from both ends, then removes from anywhere.
_C0_CONTROLS_AND_SPACE = "".join(chr(code) for code in range(0x21))
_TAB_AND_NEWLINES = str.maketrans("", "", "\t\n\r")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f]")

_ABSOLUTE_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):(?P<slashes>/*)(?P<rest>.*)",
                           re.DOTALL)
# A plain ASCII host name or IPv4 address, or a bracketed IPv6 address, then an optional port.
# Anything else (percent-escapes, non-ASCII to be IDNA-mapped, userinfo) is not vouched for.
_AUTHORITY = re.compile(r"(?P<host>[a-z0-9._\-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{0,5}))?")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def browser_form(value: str) -> str:
    """`value` as a browser's URL parser starts reading it: leading and trailing C0 controls
    and spaces stripped, tabs and newlines removed anywhere."""
    return value.strip(_C0_CONTROLS_AND_SPACE).translate(_TAB_AND_NEWLINES)


def local_path(target: str | None) -> str | None:
    """`target` as a path on this site (in the form a browser reads), or None when it is empty
    or a browser could read it as anything else: another host (`//host`, `/\\host`), a scheme
    (`https:…`, `javascript:…`), a path relative to the current page, or one with controls."""
    if not target:
        return None
    path = browser_form(target)
    if not path.startswith("/") or path[1:2] in ("/", "\\") or _CONTROLS.search(path):
        return None
    return path


def safe_next(target: str | None, default: str) -> str:
    """Where to send the browser after signing in: `target` if it is a local path, else
    `default` (a path of the hub's own)."""
    return local_path(target) or default


def url_origin(url: str) -> str | None:
    """The origin (`scheme://host[:port]`, lower-case, default port dropped) that a browser
    reads in the absolute http(s) URL `url`, or None when it is not one this module vouches for:
    another scheme, not exactly two slashes after it (`https:evil`, `https:/evil`), userinfo
    (`user@host`), a host other than plain ASCII, or a malformed port. IPv6 hosts come out
    without brackets, as `app.config.origin_of` writes them, so the two compare."""
    match = _ABSOLUTE_URL.fullmatch(browser_form(url).replace("\\", "/"))
    if match is None or match["slashes"] != "//":
        return None
    scheme = match["scheme"].lower()
    authority = re.split(r"[/?#]", match["rest"], maxsplit=1)[0].lower()
    parts = _AUTHORITY.fullmatch(authority)
    if scheme not in _DEFAULT_PORTS or parts is None:
        return None
    port = int(parts["port"]) if parts["port"] else _DEFAULT_PORTS[scheme]
    if port > 65535:
        return None
    suffix = "" if port == _DEFAULT_PORTS[scheme] else f":{port}"
    return f"{scheme}://{parts['host'].strip('[]')}{suffix}"
