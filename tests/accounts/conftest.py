"""Fixtures of the accounts tests: a real SMTP server (aiosmtpd) on 127.0.0.1, and an app whose
mail goes to it through the real broker and a worker running in this process."""

from __future__ import annotations

import email
import queue
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from app.embedded import start_embedded_worker
from tests.conftest import _truncate_all_tables, make_settings

PASSWORD = "correct horse battery staple"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """Messages the SMTP server received, read in arrival order with a timeout (no sleeps)."""

    def __init__(self) -> None:
        self._queue: queue.Queue[EmailMessage] = queue.Queue()
        self.port = free_port()

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd handler hook
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self._queue.put(message)
        return "250 Message accepted for delivery"

    def next(self, timeout_s: float = 15) -> EmailMessage:
        return self._queue.get(timeout=timeout_s)

    def next_to(self, address: str, timeout_s: float = 15) -> EmailMessage:
        message = self.next(timeout_s)
        assert message["To"] == address, f"expected mail to {address}, got {message['To']}"
        return message

    def empty(self) -> bool:
        return self._queue.empty()


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def settings(migrated_database, mailbox):
    """This area's tests send mail to the test SMTP server."""
    return make_settings(SMTP_URL=f"smtp://127.0.0.1:{mailbox.port}")


class RunningWorker:
    def __init__(self, app) -> None:
        self.broker = app.extensions["hub"].broker
        self.broker.flush_all()
        self.worker = start_embedded_worker(app)

    def drain(self) -> None:
        """Return once every message sent so far has been processed."""
        from app.tasks.mail import send_mail

        self.broker.join(send_mail.queue_name, timeout=15_000)
        self.worker.join()


@pytest.fixture
def worker(app):
    """Dramatiq worker threads consuming this run's queues, started fresh and always stopped."""
    running = RunningWorker(app)
    try:
        yield running
    finally:
        running.worker.stop()


@pytest.fixture(autouse=True)
def _empty_tables_after(migrated_database) -> Iterator[None]:
    """Tests here build extra apps beside the `app` fixture: empty the tables after each."""
    yield
    _truncate_all_tables()
