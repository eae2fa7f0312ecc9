"""The mail actor: every e-mail the hub sends goes through `send_mail.send(to, template, ctx)`."""

from __future__ import annotations

import smtplib

from jinja2 import TemplateNotFound

from app.queue import hub_actor
from app.services.mailer import deliver


@hub_actor(queue_name="mail", max_retries=5, min_backoff=5_000, max_backoff=300_000,
           time_limit=60_000, throws=(TemplateNotFound, smtplib.SMTPRecipientsRefused))
def send_mail(to: str, template: str, context: dict) -> None:
    """Render `template` (app/templates/mail/) with `context` and send it to `to`.

    An unreachable or failing SMTP server is retried with backoff (5 s … 5 min, 5 times); an
    unknown template or a refused recipient is not retried.
    """
    deliver(to, template, context)
