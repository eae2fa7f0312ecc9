"""After sign-in the browser goes to `next` only when a browser reads it as a path on the hub:
tabs, newlines, backslashes, scheme-relative and scheme-only forms all land on the dashboard.
The Location headers are also read by a real browser's URL parser (Chromium's `new URL`)."""

from __future__ import annotations

import pyotp

from app.services import two_factor
from tests.accounts.conftest import PASSWORD
from tests.accounts.helpers import user_with_password
from tests.accounts.test_pages import csrf_from, sign_in, submit

BASE = "http://127.0.0.1:5000/login"  # where the browser is when it reads the Location

HOSTILE_NEXT = [
    "/\t/evil.example/phish",  # ?next=/%09/evil.example/phish
    "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example", "/\t\\evil.example",
    "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
    "\\/evil.example", " //evil.example", "\x01//evil.example", "//evil.example\x1f ",
    "/\\/evil.example", "/\t/\t/evil.example",
    "https:evil.example", "https:/evil.example", "https://evil.example/x",
    "HTTPS://EVIL.example", "http:\\\\evil.example", "javascript:alert(1)",
    "JavaScript:alert(document.domain)", " javascript:alert(1)", "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://evil.example\\@127.0.0.1:5000/", "//127.0.0.1:5000@evil.example",
    "http://127.0.0.1:5000@evil.example/", "//evil.example:443/x",
    "evil.example/x", "／／evil.example", "\u2215\u2215evil.example",
]
# Same-site paths come back as they were (or as the browser reads them).
LOCAL_NEXT = [
    ("/keys", "/keys"),
    ("/credits/payments?paid=1", "/credits/payments?paid=1"),
    ("/chat#top", "/chat#top"),
    ("  /account\t", "/account"),
    ("/%09/evil.example", "/%09/evil.example"),  # a literal %09: a path on the hub
    ("/caf\u00e9", "/caf%C3%A9"),
    ("/a\\b", "/a%5Cb"),
    ("/\u3000/evil", "/%E3%80%80/evil"),  # an ideographic space is not stripped: a path
]


def _next_location(client, target: str) -> str:
    response = client.get("/login", query_string={"next": target})
    assert response.status_code == 302, (target, response.status_code)
    return response.headers["Location"]


def test_next_must_be_a_path_on_the_hub(client) -> None:
    sign_in(client, user_with_password().email)
    landed = {target: _next_location(client, target) for target in HOSTILE_NEXT}
    assert {target: location for target, location in landed.items()
            if location != "/dashboard"} == {}
    for target, expected in LOCAL_NEXT:
        assert _next_location(client, target) == expected, target


def test_a_browser_reads_every_location_as_the_hub(client, browser) -> None:
    sign_in(client, user_with_password().email)
    locations = [_next_location(client, target)
                 for target in HOSTILE_NEXT + [value for value, _ in LOCAL_NEXT]]
    page = browser.new_page()
    origins = page.evaluate("([ls, base]) => ls.map(l => new URL(l, base).origin)",
                            [locations, BASE])
    page.close()
    assert {loc: origin for loc, origin in zip(locations, origins, strict=True)
            if origin != "http://127.0.0.1:5000"} == {}


def _sign_in_with_next(client, email: str, target: str):
    return client.post("/login", query_string={"next": target},
                       data={"csrf_token": csrf_from(client, "/login"), "email": email,
                             "password": PASSWORD})


def test_sign_in_with_a_hostile_next_lands_on_the_dashboard(client) -> None:
    user = user_with_password()
    response = _sign_in_with_next(client, user.email, "/\t/evil.example/phish")
    assert response.headers["Location"] == "/dashboard"


def test_the_two_factor_step_keeps_a_local_next_and_drops_a_hostile_one(app, client) -> None:
    user = user_with_password()
    with app.app_context():
        secret, _ = two_factor.begin_setup(user)
        codes = two_factor.enable(user, pyotp.TOTP(secret).now())
    for target, expected in [("/\t/evil.example", "/dashboard"), ("/keys", "/keys")]:
        first = _sign_in_with_next(client, user.email, target)
        assert first.headers["Location"] == "/login/two-factor"
        done = submit(client, "/login/two-factor", {"code": codes.pop()})
        assert done.headers["Location"] == expected, target
        submit(client, "/logout", {}, page="/dashboard")

