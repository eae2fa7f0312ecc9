"""Helpers of the scheduler tests: scheduler processes whose log a test can wait on, a TCP
proxy that can cut a process off from Redis, message counts on RabbitMQ, and a polling wait
with a deadline."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pika
import pika.exceptions

from app.config import Settings
from tests.workers import PROJECT_ROOT, settings_env, stop_process_group

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def wait_until(condition: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s:g} s: {what}"
        time.sleep(0.05)


class LoggedProcess:
    """A child process whose stderr (the hub's log) is kept, so a test can wait for an event."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def logged(self, event: str) -> bool:
        return any(event in line for line in list(self.lines))

    def wait_for_log(self, event: str, *, timeout_s: float = 30) -> None:
        wait_until(lambda: self.logged(event) or self.proc.poll() is not None,
                   timeout_s=timeout_s, what=f"log event {event}")
        assert self.logged(event), f"exited ({self.proc.returncode}):\n{''.join(self.lines)}"


@contextmanager
def scheduler_process(settings: Settings, module: str = "tests.fast_scheduler",
                      **env: str) -> Iterator[LoggedProcess]:
    """`python -m <module>` with `settings` (and `env`) in its environment; always stopped
    (SIGTERM, which makes a scheduler let its lock go) after."""
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=PROJECT_ROOT,
                            env=settings_env(settings) | env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        yield LoggedProcess(proc)
    finally:
        stop_process_group(proc, timeout_s=20)


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`. `cut()` closes every connection and refuses new
    ones (as a network partition would) until `restore()`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open = True
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if not self._open:
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._sockets |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        for sock in (src, dst):
            self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()
        with self._lock:
            self._sockets.discard(sock)

    def cut(self) -> None:
        self._open = False
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            self._drop(sock)

    def restore(self) -> None:
        self._open = True

    def close(self) -> None:
        self._listener.close()
        self.cut()


class RabbitQueues:
    """Ready-message counts of RabbitMQ queues (0 for a queue not declared yet); deletes the
    queues (and Dramatiq's delay and dead-letter twins) it was asked about when closed."""

    def __init__(self, url: str = AMQP_URL) -> None:
        self._connection = pika.BlockingConnection(pika.URLParameters(url))
        self._channel = self._connection.channel()
        self._seen: set[str] = set()

    def count(self, queue: str) -> int:
        self._seen.add(queue)
        try:
            return self._channel.queue_declare(queue, passive=True).method.message_count
        except pika.exceptions.ChannelClosedByBroker:  # 404: nothing sent to it yet
            self._channel = self._connection.channel()
            return 0

    def close(self) -> None:
        for queue in self._seen:
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                self._channel.queue_delete(name)
        self._connection.close()
