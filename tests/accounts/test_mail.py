"""The mail actor: multipart mail over real SMTP; the embedded default logs instead."""

from __future__ import annotations

import pytest
from jinja2 import TemplateNotFound

from app import create_app
from app.services.mailer import SmtpTransport
from app.tasks.mail import send_mail
from tests.accounts.conftest import html_of, text_of
from tests.conftest import make_settings


def test_actor_sends_multipart_mail_over_smtp(app, mailbox) -> None:
    with app.app_context():
        send_mail.fn("ada@example.com", "password_reset",
                     {"name": "Ada <script>", "reset_url": "http://hub.test/reset?token=t",
                      "expires_minutes": 30})
    message = mailbox.next_to("ada@example.com")
    assert message["Subject"] == "Reset your Smart AI Hub password"
    assert message["From"] == "Smart AI Hub <no-reply@localhost>"
    assert message.get_content_type() == "multipart/alternative"
    assert "Hello Ada <script>," in text_of(message)
    assert "Ada &lt;script&gt;" in html_of(message)  # HTML is escaped
    assert 'href="http://hub.test/reset?token=t"' in html_of(message)


def test_mail_goes_through_the_broker_and_a_worker(app, mailbox, worker) -> None:
    with app.app_context():
        send_mail.send("bob@example.com", "password_changed", {"name": "Bob"})
    assert "was just changed" in text_of(mailbox.next_to("bob@example.com"))


def test_unknown_template_is_not_retried(app) -> None:
    assert TemplateNotFound in send_mail.options["throws"]
    with app.app_context(), pytest.raises(TemplateNotFound):
        send_mail.fn("ada@example.com", "no_such_template", {})


def test_embedded_default_writes_mail_to_the_log(migrated_database, capsys) -> None:
    app = create_app(make_settings(REDIS_URL="", SMTP_URL=""))
    with app.app_context():
        send_mail.fn("log@example.com", "password_changed", {"name": "Lou"})
    logged = [line for line in capsys.readouterr().err.splitlines() if "mail_logged" in line]
    assert logged and "to=log@example.com" in logged[0] and "Hello Lou" in logged[0]


def test_smtp_url_forms() -> None:
    plain = SmtpTransport("smtp://user:p%40ss@mail.test:2525", timeout_s=3)
    assert (plain.host, plain.port, plain.username, plain.password) == \
        ("mail.test", 2525, "user", "p@ss")
    assert SmtpTransport("smtps://mail.test", timeout_s=3).port == 465
    assert SmtpTransport("smtp+starttls://mail.test", timeout_s=3).port == 587
