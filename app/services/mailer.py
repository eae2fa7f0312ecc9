"""Transactional mail: render a template to multipart text + HTML, hand it to a transport.

Templates live in `app/templates/mail/`: `<name>.subject.txt`, `<name>.txt` and `<name>.html`
(which extends `_layout.html`). Adding a mail is adding those three files. Every template also
receives `hub_url` (HUB_PUBLIC_URL).

Transports (chosen from SMTP_URL, here and nowhere else): `SmtpTransport` for `smtp://`
(plain), `smtp+starttls://` (STARTTLS) and `smtps://` (implicit TLS), with optional
`user:password@`; `LogTransport`, the embedded default, writes the message to the log. Since
mails carry secrets (verification codes, reset links), production refuses to start without
SMTP_URL unless HUB_MAIL_LOG_IN_PRODUCTION=true (app.config).
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol
from urllib.parse import unquote, urlparse

import structlog
from flask import render_template

from app.config import Settings
from app.services.runtime import current_settings

log = structlog.get_logger(__name__)

TEMPLATE_DIR = "mail"


class MailTransport(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class LogTransport:
    """The embedded default: the mail goes to the log (so `make run` needs no mail server)."""

    def send(self, message: EmailMessage) -> None:
        body = message.get_body(preferencelist=("plain",))
        log.info("mail_logged", to=message["To"], subject=message["Subject"],
                 text=body.get_content() if body else "")


class SmtpTransport:
    def __init__(self, url: str, *, timeout_s: float) -> None:
        parts = urlparse(url)
        self.scheme = parts.scheme
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or {"smtps": 465, "smtp+starttls": 587}.get(parts.scheme, 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout_s = timeout_s

    def send(self, message: EmailMessage) -> None:
        context = ssl.create_default_context()
        if self.scheme == "smtps":
            client: smtplib.SMTP = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s,
                                                    context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        with client:
            if self.scheme == "smtp+starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            client.send_message(message)
        log.info("mail_sent", to=message["To"], subject=message["Subject"], host=self.host)


def build_transport(settings: Settings) -> MailTransport:
    if settings.SMTP_URL:
        return SmtpTransport(settings.SMTP_URL, timeout_s=settings.HUB_SMTP_TIMEOUT_S)
    return LogTransport()


def render_mail(to: str, template: str, context: dict) -> EmailMessage:
    """Build the multipart message; raises jinja2.TemplateNotFound for an unknown template."""
    settings = current_settings()
    values = {"hub_url": settings.public_url, **context}
    subject = render_template(f"{TEMPLATE_DIR}/{template}.subject.txt", **values).strip()
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())
    message["From"] = settings.HUB_MAIL_FROM
    message["To"] = to
    message["Message-ID"] = make_msgid(domain="smart-ai-hub")
    message.set_content(render_template(f"{TEMPLATE_DIR}/{template}.txt", **values))
    message.add_alternative(render_template(f"{TEMPLATE_DIR}/{template}.html", **values),
                            subtype="html")
    return message


def deliver(to: str, template: str, context: dict) -> None:
    build_transport(current_settings()).send(render_mail(to, template, context))
