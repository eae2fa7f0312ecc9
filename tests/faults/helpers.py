"""The hub as production runs it, for the fault suite: gunicorn (web, `/v1` runs in the web
process) and `dramatiq workers` (RabbitMQ), each a real process a scenario may kill, with this
test process holding an app on the same settings (it runs the reaper as the scheduler would,
and reads the books). Plus the clients (a WebSocket watcher that reconnects, a `/v1` SSE
reader) and the closing check every scenario ends with."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dramatiq
import httpx
import websocket
from flask import Flask

from app import create_app
from app.config import Settings
from app.errors import DATABASE_ERRORS
from app.extensions import db
from app.jobs.reaper import reap_stale_jobs
from app.models.jobs import TERMINAL_STATUSES, Job, UsageRecord
from app.models.ledger import CreditHold, LedgerEntry
from app.queue import install_broker
from app.services import ledger
from app.services.ledger.checker import check_ledger
from app.services.prices import pricing
from scripts.bench.cleanup import delete_rabbitmq_queues
from tests.conftest import QUEUE_PREFIX, make_settings
from tests.factories import auth_headers, create_user
from tests.fake_upstream import FakeUpstream
from tests.faults.services import child_pids, wait_for
from tests.workers import dramatiq_workers, hub_server

BROKER = "amqp://guest:guest@127.0.0.1:5672/"
UPSTREAM = FakeUpstream()  # the suite's own fake OpenAI/Anthropic (started by a fixture)
_hub_numbers = itertools.count(1)


def fault_settings(**overrides: object) -> Settings:
    """Settings of a hub of its own: queues no other test consumes, short leases and timeouts
    so that a dead run is noticed within seconds."""
    base: dict[str, object] = {
        "BROKER_URL": BROKER, "HUB_QUEUE_PREFIX": f"{QUEUE_PREFIX}f{os.getpid()}"
                                                  f"x{next(_hub_numbers)}.",
        "HUB_JOB_LEASE_S": 2, "HUB_CHAT_TIME_LIMIT_S": 30, "HUB_EVENT_TTL_S": 600,
        "HUB_PROVIDER_TIMEOUT_S": 2, "HUB_PROVIDER_RETRY_INITIAL_S": 0.01,
        "HUB_PROVIDER_RETRY_MAX_S": 2, "HUB_LOCAL_TOKEN_DELAY_S": 0.001,
        "HUB_WS_AUTH_TIMEOUT_S": 5,
        "OPENAI_API_KEY": UPSTREAM.api_key, "OPENAI_BASE_URL": UPSTREAM.openai_base_url,
        "ANTHROPIC_API_KEY": UPSTREAM.api_key, "ANTHROPIC_BASE_URL": UPSTREAM.anthropic_base_url,
    }
    return make_settings(**(base | overrides))


@dataclass
class FaultHub:
    settings: Settings
    app: Flask  # this process's app on the same settings: the reaper, reads, sends
    url: str
    web: subprocess.Popen
    log_dir: Path
    database: Any = None  # the app's database (the process-wide `db` proxy is pointed at it)
    workers: subprocess.Popen | None = None
    _workers_cm: Any = None
    _logs: list[Path] = field(default_factory=list)

    # --- dramatiq workers -----------------------------------------------------------------
    def start_workers(self, *, threads: int = 4) -> None:
        """One `dramatiq workers` process (one worker process of `threads` threads)."""
        path = self.log_dir / f"worker-{len(self._logs) + 1}.log"
        self._logs.append(path)
        output = path.open("w")
        self._workers_cm = dramatiq_workers(self.settings, threads=threads, output=output)
        self.workers = self._workers_cm.__enter__()
        output.close()  # the child has its own copy
        wait_for(lambda: child_pids(self.workers.pid), timeout_s=30,
                 what="dramatiq to fork its worker process")

    def stop_workers(self) -> None:
        if self._workers_cm is not None:
            self._workers_cm.__exit__(None, None, None)
            self._workers_cm = self.workers = None

    def kill_worker_process(self) -> None:
        """SIGKILL the worker process (not its supervisor): in-flight work dies unacked. The
        `dramatiq` parent then stops too, as it does when a child dies; started again later
        as a process supervisor would."""
        assert self.workers is not None
        for pid in child_pids(self.workers.pid):
            os.kill(pid, signal.SIGKILL)
        self.workers.wait(timeout=30)
        self.stop_workers()

    def worker_log(self) -> str:
        return "".join(path.read_text() for path in self._logs)

    # --- gunicorn -------------------------------------------------------------------------
    def kill_web_worker(self) -> None:
        """SIGKILL gunicorn's worker (not its master): its streams die mid-way; the master
        boots a new one, which serves without anything being restarted by hand."""
        [old] = child_pids(self.web.pid)
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: [p for p in child_pids(self.web.pid) if p != old], timeout_s=30,
                 what="gunicorn to boot a new worker")
        wait_for(lambda: self.answers("/healthz"), timeout_s=30, what="the new worker to serve")

    def answers(self, path: str) -> bool:
        try:
            return httpx.get(self.url + path, timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    # --- this process's side --------------------------------------------------------------
    @contextmanager
    def context(self) -> Iterator[None]:
        """This hub's app context, on its database and its broker (the `db` proxy and the
        actors' broker are one per process: the last `create_app` pointed them at its own)."""
        if db.obj is not self.database:
            db.initialize(self.database)
        broker = self.app.extensions["hub"].broker
        if dramatiq.get_broker() is not broker:  # actors send where the last app said
            install_broker(self.app, broker, self.settings)
        with self.app.app_context(), db.connection_context():  # given back to the pool after
            yield

    def funded_user(self, amount_credits: int) -> tuple[Any, dict[str, str]]:
        """A new verified user holding `amount_credits`, and its bearer headers."""
        with self.context():
            user = create_user()
            ledger.credit(user.id, amount_credits, kind="promo",
                          idempotency_key=f"faults:{user.id}", memo="funding")
        return user, auth_headers(user, self.settings.SECRET_KEY)

    def job(self, job_id: str) -> Job:
        with self.context():
            return Job.get_by_id(job_id)

    def warm_up(self) -> None:
        """A job through the worker and one `/v1` request through the web process: both have
        loaded what a first request loads (SDKs, the tokenizer) before any fault is injected."""
        _user, headers = self.funded_user(1_000_000)
        job_id = submit_job(self, headers).json()["id"]
        assert SseReader(self.url, headers, chat_body()).join().status == 200
        watched = Watcher(self.url, job_id, headers["Authorization"].split()[1]).join()
        assert watched.events[-1]["data"]["status"] == "succeeded", watched.events
        with self.context():
            pricing.count_tokens("gpt-4o-mini", "warm")  # this process's tokenizer, loaded once

    def reap_until_terminal(self, job_ids: list[str], *, timeout_s: float = 60) -> list[Job]:
        """Run the reaper (as the scheduler does every 15 s) until every job is terminal."""
        def all_terminal() -> list[Job] | None:
            try:
                with self.context():
                    reap_stale_jobs()
                    jobs = list(Job.select().where(Job.id.in_(job_ids)))
            except DATABASE_ERRORS:  # a connection a database restart cut: as the scheduler
                return None  # would, try again at the next round
            done = all(j.status in TERMINAL_STATUSES for j in jobs)
            return sorted(jobs, key=lambda j: job_ids.index(j.id)) if done else None

        return wait_for(all_terminal, timeout_s=timeout_s, every_s=0.25,
                        what=f"jobs {job_ids} to end")


@contextmanager
def fault_hub(settings: Settings, log_dir: Path, *, workers: bool = True,
              worker_threads: int = 4, web_threads: int = 16) -> Iterator[FaultHub]:
    """gunicorn (one worker) and, if asked, one `dramatiq workers`, on `settings`."""
    from tests.faults.services import free_port

    port = free_port()
    with ExitStack() as stack:
        access_log = stack.enter_context((log_dir / "access.log").open("w"))
        web = stack.enter_context(hub_server(settings, port, threads=web_threads,
                                             stdout=access_log))
        app = create_app(settings)
        hub = FaultHub(settings=settings, app=app, url=f"http://127.0.0.1:{port}", web=web,
                       log_dir=log_dir, database=db.obj)
        stack.callback(delete_rabbitmq_queues, settings.BROKER_URL, settings.HUB_QUEUE_PREFIX)
        stack.callback(hub.stop_workers)
        if workers:
            hub.start_workers(threads=worker_threads)
        yield hub


# --- clients ----------------------------------------------------------------------------------
class Watcher:
    """A WebSocket client of one job, on its own thread: it collects events until `done`, and
    when its connection drops it reconnects and resumes after the last event it got."""

    def __init__(self, base_url: str, job_id: str, token: str) -> None:
        self.url = base_url.replace("http://", "ws://") + f"/ws/jobs/{job_id}"
        self.token = token
        self.events: list[dict] = []
        self.connections = 0
        self.close_code: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while self.close_code is None:
            last = self.events[-1]["id"] if self.events else None
            try:
                self._follow(f"{self.url}?last_event_id={last}" if last else self.url)
            except (OSError, websocket.WebSocketException):
                threading.Event().wait(0.2)  # the hub (or its Redis) is down: try again

    def _follow(self, url: str) -> None:
        conn = websocket.create_connection(url, timeout=30)
        self.connections += 1
        try:
            conn.send(json.dumps({"type": "auth", "token": self.token}))
            while True:
                opcode, data = conn.recv_data(control_frame=True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                    if code is None or code >= 1002 and code < 4000:
                        raise websocket.WebSocketConnectionClosedException(f"closed {code}")
                    self.close_code = code
                    return
                if opcode == websocket.ABNF.OPCODE_TEXT:
                    self.events.append(json.loads(data))
        finally:
            # not close(): the client already answered the server's close frame, and a socket
            # left open keeps gunicorn's main thread lingering on it (up to 2 s each)
            conn.shutdown()

    def deltas(self) -> int:
        return sum(e["type"] == "delta" for e in self.events)

    def text(self) -> str:
        return "".join(e["data"]["text"] for e in self.events if e["type"] == "delta")

    def join(self, timeout_s: float = 60) -> Watcher:
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), f"the watcher of {self.url} never saw the end"
        return self


class SseReader:
    """A `/v1/chat/completions` stream read on its own thread; the text as it arrives."""

    def __init__(self, base_url: str, headers: dict[str, str], body: dict) -> None:
        self.job_id: str | None = None
        self.status: int | None = None
        self.payloads: list[Any] = []
        self.error: Exception | None = None
        self._args = (f"{base_url}/v1/chat/completions", headers, body)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        url, headers, body = self._args
        try:
            with httpx.stream("POST", url, json=body, headers=headers, timeout=30) as response:
                self.status, self.job_id = response.status_code, \
                    response.headers.get("x-hub-job-id")
                if response.status_code != 200:
                    self.payloads.append(json.loads(response.read()))
                    return
                for line in response.iter_lines():
                    if line.startswith("data: "):
                        payload = line[len("data: "):]
                        self.payloads.append(payload if payload == "[DONE]" else
                                             json.loads(payload))
        except (httpx.HTTPError, json.JSONDecodeError) as exc:
            self.error = exc

    def text(self) -> str:
        return "".join(p["choices"][0]["delta"].get("content") or "" for p in self.payloads
                       if isinstance(p, dict) and p.get("choices"))

    def pieces(self) -> int:
        return sum(1 for p in self.payloads if isinstance(p, dict) and p.get("choices")
                   and p["choices"][0]["delta"].get("content"))

    def join(self, timeout_s: float = 60) -> SseReader:
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "the /v1 stream never ended"
        return self


def chat_body(*, model: str = "gpt-4o-mini", max_tokens: int = 600, text: str = "go on",
              stream: bool = True) -> dict:
    return {"model": model, "stream": stream, "max_tokens": max_tokens,
            "messages": [{"role": "user", "content": text}]}


def submit_job(hub: FaultHub, headers: dict[str, str], **body: Any) -> httpx.Response:
    """POST /api/jobs over HTTP to the gunicorn process."""
    payload = {"type": "chat", "model": "gpt-4o-mini", "max_tokens": 600,
               "messages": [{"role": "user", "content": "go on"}]} | body
    return httpx.post(f"{hub.url}/api/jobs", json=payload, headers=headers, timeout=30)


# --- the closing check -----------------------------------------------------------------------
def assert_books_balanced(hub: FaultHub, funding: dict[int, int]) -> list[Job]:
    """Every job of these users is terminal and settled exactly once: its hold settled by one
    ledger entry and one usage record, both for the job's cost; the ledger check is clean,
    nothing stays held, and each balance is its funding less the jobs' costs. The jobs."""
    with hub.context():
        jobs = list(Job.select().where(Job.user.in_(list(funding))))
        for job in jobs:
            assert job.status in TERMINAL_STATUSES, (job.id, job.status)
            usage = list(UsageRecord.select().where(UsageRecord.job == job.id))
            assert [u.cost_credits for u in usage] == [job.cost_credits], job.id
            hold = CreditHold.get_by_id(job.hold_id)
            settles = list(LedgerEntry.select().where(
                LedgerEntry.idempotency_key == f"hold:{hold.id}:settle"))
            assert hold.status == "settled", (job.id, hold.status)
            assert [e.amount_credits for e in settles] == [-job.cost_credits], job.id
        assert check_ledger().violations == []
        for user_id, funded in funding.items():
            now = ledger.get_balance(user_id)
            spent = sum(j.cost_credits for j in jobs if j.user_id == user_id)
            assert (now.balance, now.held) == (funded - spent, 0), user_id
    return jobs


def assert_charged_for(hub: FaultHub, job: Job, delivered: str) -> None:
    """A job that ended early is charged for `delivered` (the text its watchers got), counted
    with the tokenizer that sized its hold, plus its prompt: no more, no less."""
    with hub.context():
        output_tokens = pricing.count_tokens(job.model, delivered) if delivered else 0
        expected = pricing.chat_cost(job.price_id, job.prompt_tokens_estimate, output_tokens) \
            if delivered else 0
    assert job.result_text == delivered
    assert job.output_tokens == output_tokens
    assert job.cost_credits == expected
