"""The hub in its production shape for the load test, on 127.0.0.1: gunicorn (gthread) and
`dramatiq` worker processes on PostgreSQL (a database of its own, dropped after), Redis and
RabbitMQ (key and queue prefixes of its own, deleted after), the OpenAI provider pointed at the
fast fake upstream (`scripts.bench.fast_upstream`), and seeded accounts (`seed.py`).

The process helpers are the gateway benchmark's (`scripts.bench.gateway`): one way to start,
meter and stop the hub for every benchmark.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from scripts.bench.cleanup import delete_rabbitmq_queues, delete_redis_keys
from scripts.bench.gateway import (
    ADMIN_URL,
    BROKER_URL,
    PROJECT_ROOT,
    REDIS_URL,
    CpuMeter,
    _children,
    admin_sql,
    free_port,
    hub_env,
    process,
    wait_http,
    wait_until_idle,
)

UPSTREAM_KEY = "sk-fake-upstream"


@dataclass(frozen=True)
class StackShape:
    web_processes: int = 2
    web_threads: int = 128  # HUB_WEB_THREADS: one per live WebSocket or stream, plus requests
    worker_processes: int = 2
    worker_threads: int = 16
    upstream_chunks: int = 50
    upstream_delay_ms: float = 20.0  # between chunks: a model streaming ~50 tokens/s
    accounts: int = 50
    history_entries: int = 20
    settings: dict[str, str] = field(default_factory=dict)  # HUB_… overrides
    autogroup_nice: int = 0  # see set_autogroup_nice


@dataclass
class LoadStack:
    base_url: str  # the hub, http://127.0.0.1:PORT
    upstream_url: str  # the fast fake upstream, without /v1
    users_file: Path  # the seeded accounts (seed.py's JSON)
    web: subprocess.Popen  # the gunicorn master
    workers: subprocess.Popen  # the dramatiq master
    meter: CpuMeter
    log_dir: Path

    def web_workers(self) -> list[int]:
        """The pids of gunicorn's worker processes (the master's children)."""
        return [pid for pid in _children(self.web.pid) if pid != self.web.pid]


def set_autogroup_nice(pid: int, nice: int) -> None:
    """Give the scheduler autogroup of `pid` (its session; every process here is started in one
    of its own) the niceness `nice`.

    Linux shares the CPU between autogroups first, then by niceness inside each: on a machine
    shared with other sessions (test suites, other benchmarks), every busy session takes an equal
    slice, whatever the processes' own `nice`. Below 0 (root only) the load test's processes get
    the cores they ask for before the other sessions do, as on a machine of their own: each run
    reports the niceness it used and the load average."""
    if nice:
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))


def stack_env(db_url: str, prefix: str, port: int, upstream_url: str,
              shape: StackShape) -> dict[str, str]:
    env = hub_env(db_url, prefix, port, upstream_url, str(shape.web_processes))
    env.update({
        "HUB_WEB_THREADS": str(shape.web_threads),
        # every simulated user signs in from 127.0.0.1: the per-address sign-in limit would
        # refuse them (production traffic comes from many addresses)
        "HUB_RATE_LIMIT_LOGIN": "1000000/minute",
    })
    env.update(shape.settings)
    return env


@contextmanager
def _database(label: str) -> Iterator[tuple[str, str]]:
    run_id = uuid.uuid4().hex[:8]
    db_name, prefix = f"hub_load_{label}_{run_id}", f"load{run_id}:"
    admin_sql(f'CREATE DATABASE "{db_name}"')
    try:
        yield urlunparse(urlparse(ADMIN_URL)._replace(path=f"/{db_name}")), prefix
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        delete_redis_keys(REDIS_URL, prefix)
        delete_rabbitmq_queues(BROKER_URL, prefix)


def _seed(env: dict[str, str], shape: StackShape, out: Path) -> None:
    subprocess.run([sys.executable, "-m", "scripts.bench.load.seed", "--accounts",
                    str(shape.accounts), "--entries", str(shape.history_entries), "--out",
                    str(out)], cwd=PROJECT_ROOT, env=env, check=True)


@contextmanager
def running_stack(shape: StackShape, log_dir: Path, *, label: str = "mixed",
                  settle_s: float = 30.0) -> Iterator[LoadStack]:
    """Start everything, seed the accounts, wait until the hub's processes are idle (start-up
    work done; at most `settle_s`); stop and clean up after the block."""
    log_dir.mkdir(parents=True, exist_ok=True)
    upstream_port, hub_port = free_port(), free_port()
    upstream_url = f"http://127.0.0.1:{upstream_port}"
    with ExitStack() as stack:
        db_url, prefix = stack.enter_context(_database(label))
        env = stack_env(db_url, prefix, hub_port, upstream_url, shape)
        upstream = stack.enter_context(process(
            [sys.executable, "-m", "scripts.bench.fast_upstream", "--port", str(upstream_port),
             "--chunks", str(shape.upstream_chunks), "--delay-ms", str(shape.upstream_delay_ms),
             "--api-key", UPSTREAM_KEY], env, str(log_dir / "upstream.log")))
        wait_http(f"{upstream_url}/v1/models")
        users_file = log_dir / "users.json"
        _seed(env, shape, users_file)
        web = stack.enter_context(process(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], env,
            str(log_dir / "web.log")))
        workers = stack.enter_context(process(
            [sys.executable, "-m", "dramatiq", "workers", "--processes",
             str(shape.worker_processes), "--threads", str(shape.worker_threads)], env,
            str(log_dir / "worker.log")))
        for proc in (upstream, web, workers):
            set_autogroup_nice(proc.pid, shape.autogroup_nice)
        base_url = f"http://127.0.0.1:{hub_port}"
        wait_http(f"{base_url}/healthz")
        meter = CpuMeter({"web": web.pid, "worker": workers.pid})
        wait_until_idle(meter, timeout_s=settle_s)
        yield LoadStack(base_url=base_url, upstream_url=upstream_url, users_file=users_file,
                        web=web, workers=workers, meter=meter, log_dir=log_dir)
