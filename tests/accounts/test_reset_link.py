"""The password reset link keeps its token out of every URL the server sees: the mail links to
`/reset#token=…` (a fragment never leaves the browser), the page's script copies it into the
form, and the form posts it in its body. Links mailed before carried `?token=`: they still work,
and gunicorn's access log redacts the token (in the request line and the Referer)."""

from __future__ import annotations

import re

import httpx

from tests.accounts.conftest import free_port, html_of, text_of
from tests.accounts.helpers import reset_token_from, user_with_password
from tests.accounts.test_browser import Session, live_server  # noqa: F401 — fixtures
from tests.accounts.test_pages import csrf_from, sign_in
from tests.browser import WIDTHS
from tests.workers import hub_server

NEW_PASSWORD = "a new and long passphrase"


def mailed_reset(client, mailbox, email: str):
    client.post("/api/auth/password/forgot", json={"email": email})
    return mailbox.next_to(email)


def hidden_token(page: bytes) -> str:
    match = re.search(rb'<input id="token" name="token" type="hidden" value="([^"]*)">', page)
    assert match, page
    return match.group(1).decode()


def test_the_mailed_link_carries_the_token_in_its_fragment(client, mailbox, worker,
                                                           settings) -> None:
    user = user_with_password()
    message = mailed_reset(client, mailbox, user.email)
    token = reset_token_from(message)
    link = f"{settings.public_url}/reset#token={token}"
    assert link in text_of(message) and f'href="{link}"' in html_of(message)
    assert "?token=" not in text_of(message) + html_of(message)


def test_the_form_posts_the_token_in_its_body(client, mailbox, worker) -> None:
    user = user_with_password()
    token = reset_token_from(mailed_reset(client, mailbox, user.email))
    page = client.get("/reset")  # what the browser requests for /reset#token=…
    assert page.status_code == 200 and hidden_token(page.data) == ""
    assert b'<form method="post" action="/reset"' in page.data
    assert b'src="/static/js/reset.js"' in page.data

    response = client.post("/reset", data={"csrf_token": csrf_from(client, "/reset"),
                                           "token": token, "password": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert sign_in(client, user.email, NEW_PASSWORD).headers["Location"] == "/dashboard"


def test_a_link_mailed_before_still_opens_the_form(client, mailbox, worker) -> None:
    user = user_with_password()
    token = reset_token_from(mailed_reset(client, mailbox, user.email))
    page = client.get(f"/reset?token={token}")
    assert page.status_code == 200 and hidden_token(page.data) == token
    assert b'action="/reset"' in page.data  # the form no longer posts the token in the URL


def test_the_page_reads_the_fragment_in_a_browser(browser, live_server, mailbox,  # noqa: F811
                                                  worker, tmp_path) -> None:
    user = user_with_password()
    session = Session(browser, live_server, WIDTHS["desktop"], tmp_path, "desktop")
    session.page.request.post(f"{live_server}/api/auth/password/forgot",
                              data={"email": user.email})
    token = reset_token_from(mailbox.next_to(user.email))
    page = session.go(f"/reset#token={token}")
    page.wait_for_function("document.getElementById('token').value !== ''")
    assert page.input_value("#token") == token
    assert page.url == f"{live_server}/reset"  # gone from the address bar and the history
    page.fill("#password", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/login")
    assert "Your password is changed" in page.inner_text("main")
    assert session.errors == []  # the script satisfied the CSP


def test_the_access_log_redacts_tokens_of_older_links(settings, tmp_path) -> None:
    secret = "Sekr3tResetTokenValue"
    log_path, port = tmp_path / "access.log", free_port()
    with log_path.open("w") as out, hub_server(settings, port, threads=4, stdout=out), \
            httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
        assert http.get(f"/reset?token={secret}").status_code == 200
        referer = f"http://127.0.0.1:{port}/reset?token={secret}&x=1"  # the page's assets
        assert http.get("/static/hub.css", headers={"Referer": referer}).status_code == 200
    log = log_path.read_text()  # gunicorn has stopped: everything it logged is there
    assert '"GET /reset?token=[redacted] HTTP/1.1" 200' in log
    assert "/reset?token=[redacted]&x=1" in log
    assert secret not in log
