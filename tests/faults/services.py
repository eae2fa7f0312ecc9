"""Servers of the fault suite's own, which a test may stop and start again: a Redis and a
PostgreSQL cluster on free ports (the machine's shared ones are never stopped), and the small
process tools the scenarios use (free ports, child processes, waiting with a deadline)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import psycopg2
import redis as redis_lib

T = TypeVar("T")
_tick = threading.Event()  # never set: waiting on it is a pause between two looks


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], T], *, timeout_s: float, what: str,
             every_s: float = 0.05) -> T:
    """Look at `condition` until it is truthy (returned) or `timeout_s` passed (fails the test
    naming `what`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout_s:g} s for {what}")
        _tick.wait(every_s)


def child_pids(pid: int) -> list[int]:
    """The live child processes of `pid` (a gunicorn or dramatiq master's workers)."""
    children: list[int] = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            children += [int(p) for p in Path(path).read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return children


class OwnRedis:
    """A throwaway `redis-server` (no persistence: a restart loses every key, as it would on a
    Redis without AOF or snapshots)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> OwnRedis:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis_lib.Redis(port=self.port, socket_connect_timeout=1)
        wait_for(lambda: self._answers(client), timeout_s=10, what="redis-server to answer")
        client.close()
        return self

    @staticmethod
    def _answers(client: redis_lib.Redis) -> bool:
        try:
            return bool(client.ping())
        except redis_lib.ConnectionError:
            return False

    def kill(self) -> None:
        """Stop it at once (SIGKILL): open connections drop, every key is lost."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def ensure_running(self) -> None:
        """Start it again if a scenario that stopped it failed before doing so."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()


def _pg_binary(name: str) -> str:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    if not found:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (Debian: apt-get install "
                           "postgresql)")
    return found if isinstance(found, str) else found[0]


class OwnPostgres:
    """A throwaway PostgreSQL cluster in a temporary directory (as the `postgres` user when
    this runs as root: the server refuses root), trusting loopback, fsync off."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="hub-faults-pg-"))
        self.data = self.directory / "data"
        self._as_root = os.geteuid() == 0
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_root else []
        subprocess.run([*prefix, *command], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, cwd=self.directory)

    def init(self) -> OwnPostgres:
        if self._as_root:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run(_pg_binary("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                  "-E", "UTF8", "--no-sync")
        return self

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
                   f"-c unix_socket_directories={self.directory} -c full_page_writes=off")
        self._run(_pg_binary("pg_ctl"), "-D", str(self.data), "-l",
                  str(self.directory / "server.log"), "-o", options, "-w", "start")
        self.running = True

    def stop(self) -> None:
        """Stop it (fast: open sessions are ended, as on a server restart)."""
        self._run(_pg_binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        self.running = False

    def ensure_running(self) -> None:
        """Start it again if a scenario that stopped it failed before doing so."""
        if not self.running:
            self.start()

    def create_database(self, name: str) -> str:
        conn = psycopg2.connect(self.url(), connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self._run(_pg_binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w",
                          "stop")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(self.directory, ignore_errors=True)
