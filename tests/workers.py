"""Real `dramatiq` worker processes for tests, started and always stopped by a fixture."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from app.config import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that reproduces `settings` in a child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "OPENAI", "ANTHROPIC"))}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        env[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return env


def stop_process_group(proc: subprocess.Popen, *, timeout_s: float) -> None:
    """SIGTERM the process's group, then SIGKILL it if it has not exited in `timeout_s`."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@contextmanager
def dramatiq_workers(settings: Settings, *, processes: int = 1, threads: int = 4,
                     extra_env: dict[str, str] | None = None,
                     output: IO[str] | None = None) -> Iterator[subprocess.Popen]:
    """`dramatiq workers` on `settings`; `output` receives its log (else this process's)."""
    env = settings_env(settings) | (extra_env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "dramatiq", "workers", "--processes", str(processes),
         "--threads", str(threads)],
        cwd=PROJECT_ROOT, env=env, start_new_session=True, stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )
    try:
        yield proc
    finally:
        stop_process_group(proc, timeout_s=20)


@contextmanager
def hub_server(settings: Settings, port: int, *, threads: int = 16,
               extra_env: dict[str, str] | None = None,
               stdout: IO[str] | None = None) -> Iterator[subprocess.Popen]:
    """The hub's web process as production runs it (gunicorn gthread, one worker) on
    127.0.0.1:`port`, returned once it serves. A test may kill it; it is always stopped after.
    `stdout` receives gunicorn's access log (else it goes to this process's stdout).

    Not werkzeug's development server: after a WebSocket closes it writes an HTTP status line
    onto the socket, which Chrome reports as "Invalid frame header"."""
    env = settings_env(settings) | {"PORT": str(port), "HOST": "127.0.0.1",
                                    "WEB_CONCURRENCY": "1", "HUB_WEB_THREADS": str(threads)} \
        | (extra_env or {})
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=PROJECT_ROOT, env=env, start_new_session=True, stdout=stdout, stderr=subprocess.PIPE,
        text=True)
    try:
        for line in proc.stderr:  # gunicorn logs "Booting worker" once it serves
            if "Booting worker" in line:
                break
        else:
            raise RuntimeError("gunicorn exited before serving")
        threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep the pipe drained
        _until_answering(port, proc)  # the worker logs "Booting" before it has loaded the app
        yield proc
    finally:
        stop_process_group(proc, timeout_s=30)


def _until_answering(port: int, proc: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Return once /healthz answers on `port` (a fresh connection each try, closed after, so
    no kept-alive connection holds one of the server's threads)."""
    import http.client

    deadline = time.monotonic() + timeout_s
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout_s)
        try:
            conn.request("GET", "/healthz", headers={"Connection": "close"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start serving") from None
        finally:
            conn.close()
