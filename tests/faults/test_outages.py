"""Redis restarted, PostgreSQL stopped for a few seconds: mid-traffic, without restarting the
hub. The hub here runs on a Redis and a PostgreSQL cluster of its own (the machine's shared
servers are never stopped), RabbitMQ on queues of its own."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app import create_app, migrations
from app.models.jobs import Job
from app.services import api_keys
from app.services.runtime import current_events
from tests.conftest import make_settings
from tests.faults.helpers import (
    FaultHub,
    SseReader,
    Watcher,
    assert_books_balanced,
    assert_charged_for,
    chat_body,
    fault_hub,
    fault_settings,
    submit_job,
)
from tests.faults.services import OwnPostgres, OwnRedis, wait_for

pytestmark = pytest.mark.faults
FUNDS = 10_000_000


@pytest.fixture(scope="module")
def own_redis() -> Iterator[OwnRedis]:
    redis = OwnRedis().start()
    yield redis
    redis.kill()


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    postgres = OwnPostgres().init()
    postgres.start()
    yield postgres
    postgres.remove()


@pytest.fixture(autouse=True)
def _servers_back_up(own_redis, own_postgres) -> Iterator[None]:
    """A scenario that fails while a server is down leaves it up again for the next one."""
    yield
    own_redis.ensure_running()
    own_postgres.ensure_running()


@pytest.fixture(scope="module")
def outage_hub(migrated_database, faults_upstream_server, own_redis, own_postgres,
               tmp_path_factory) -> Iterator[FaultHub]:
    """gunicorn and one `dramatiq workers` (1 thread) on the own Redis and PostgreSQL."""
    settings = fault_settings(DATABASE_URL=own_postgres.create_database("hub"),
                              REDIS_URL=own_redis.url, HUB_REDIS_PREFIX="faults:")
    create_app(settings)
    migrations.upgrade()
    try:
        with fault_hub(settings, tmp_path_factory.mktemp("outage-hub"),
                       worker_threads=1) as hub:
            hub.warm_up()
            yield hub
    finally:
        create_app(make_settings())  # this process's database proxy back on the shared one


def _ready(hub: FaultHub) -> httpx.Response:
    return httpx.get(f"{hub.url}/readyz", timeout=10)


def _mirrored(hub: FaultHub, job_id: str) -> str:
    """The text the job's event stream holds now."""
    with hub.context():
        return "".join(e.data["text"] for e in current_events().read(job_id) if e.type == "delta")


def _api_key_headers(hub: FaultHub, user) -> dict[str, str]:
    with hub.context():
        return {"Authorization": f"Bearer {api_keys.create_key(user, 'faults').plaintext}"}


def _refused_while_down(hub: FaultHub, headers: dict[str, str], dependency: str) -> None:
    """Requests that need the dead dependency get a clear 503 in their API's shape."""
    job = submit_job(hub, headers)
    assert job.status_code == 503, job.text
    assert job.json()["error"]["code"] == "service_unavailable"
    assert dependency in job.json()["error"]["message"]
    v1 = httpx.post(f"{hub.url}/v1/chat/completions", json=chat_body(stream=False),
                    headers=headers, timeout=30)
    assert v1.status_code == 503, v1.text
    assert v1.json()["error"]["type"] == "server_error" and dependency in v1.json()["error"]["message"]


def _jobs_of(hub: FaultHub, user) -> list[Job]:
    with hub.context():
        return list(Job.select().where(Job.user == user.id).order_by(Job.created_at))


def test_redis_restarted_mid_streams_everything_recovers(outage_hub, own_redis, upstream) -> None:
    hub = outage_hub
    user, headers = hub.funded_user(FUNDS)
    key_headers = _api_key_headers(hub, user)
    token = headers["Authorization"].split()[1]
    upstream.chunk_count, upstream.chunk_delay_s = 400, 0.02

    # given: a job streaming on the worker (watched over a WebSocket), one queued behind it
    # (the worker has one thread), and a /v1 stream run by gunicorn
    streaming = submit_job(hub, headers).json()["id"]
    queued = submit_job(hub, headers).json()["id"]
    watcher = Watcher(hub.url, streaming, token)
    reader = SseReader(hub.url, headers, chat_body())
    wait_for(lambda: watcher.deltas() >= 3 and reader.pieces() >= 3, timeout_s=30,
             what="both streams to flow")
    upstream.chunk_count = 5  # replies started from now on are short

    # when: Redis dies (every key lost: it keeps nothing on disk) and comes back
    own_redis.kill()
    down = wait_for(lambda: (r := _ready(hub)).status_code == 503 and r, timeout_s=10,
                    what="/readyz to say 503")
    assert down.json()["error"]["message"] == "not ready: redis unreachable"
    _refused_while_down(hub, headers, "Redis")  # a session token: its revocation check
    refused = submit_job(hub, key_headers)  # an API key gets as far as the job's announcement
    assert refused.status_code == 503, refused.text
    assert len(_jobs_of(hub, user)) == 3  # nothing was left behind by the refusals
    own_redis.start()
    wait_for(lambda: _ready(hub).status_code == 200, timeout_s=30, what="/readyz to say 200")

    # then: without restarting anything, every job ends, settled once; the streams that were
    # cut are charged what their event stream shows was sent (nothing: it was lost with
    # Redis; see docs/guarantees.md), never more than their watchers got
    reader.join()
    assert reader.error is not None  # the /v1 caller's stream broke
    jobs = hub.reap_until_terminal([streaming, queued, reader.job_id])
    assert [(j.status, j.error_code) for j in jobs] == [
        ("failed", "worker_lost"), ("succeeded", None), ("failed", "worker_lost")]
    assert jobs[1].attempts <= 2  # a first run that died on Redis before any token: requeued
    for job, sent in ((jobs[0], watcher.join().text()), (jobs[2], reader.text())):
        billed = _mirrored(hub, job.id)
        assert sent.startswith(billed)
        assert_charged_for(hub, job, billed)
    # the watcher reconnected (Redis was gone, then its stream) and resumed to the end
    assert watcher.connections >= 2 and watcher.close_code == 1000
    assert watcher.events[-1] == {**watcher.events[-1], "type": "done",
                                  "data": {"status": "failed"}}
    after = SseReader(hub.url, key_headers, chat_body()).join()
    assert after.status == 200 and after.text() == upstream.reply_text()
    assert_books_balanced(hub, {user.id: FUNDS})


def test_postgres_stopped_mid_traffic_everything_recovers(outage_hub, own_postgres,
                                                          upstream) -> None:
    hub = outage_hub
    user, headers = hub.funded_user(FUNDS)
    token = headers["Authorization"].split()[1]
    upstream.chunk_count, upstream.chunk_delay_s = 400, 0.02

    # given: a job streaming on the worker (watched), one queued behind it, a /v1 stream
    streaming = submit_job(hub, headers).json()["id"]
    queued = submit_job(hub, headers).json()["id"]
    watcher = Watcher(hub.url, streaming, token)
    reader = SseReader(hub.url, headers, chat_body())
    wait_for(lambda: watcher.deltas() >= 3 and reader.pieces() >= 3, timeout_s=30,
             what="both streams to flow")
    upstream.chunk_count = 5

    # when: PostgreSQL stops (open sessions ended) for a few seconds
    own_postgres.stop()
    down = wait_for(lambda: (r := _ready(hub)).status_code == 503 and r, timeout_s=10,
                    what="/readyz to say 503")
    assert down.json()["error"]["message"] == "not ready: database unreachable"
    _refused_while_down(hub, headers, "database")
    reader.join()  # the /v1 run could not renew its lease: it stopped, the stream broke
    assert reader.error is not None
    own_postgres.start()

    # then: the hub serves again at once, nothing restarted: the requests right after the
    # restart get fresh connections, not ones the restart cut
    wait_for(lambda: _ready(hub).status_code == 200, timeout_s=30, what="/readyz to say 200")
    after = SseReader(hub.url, headers, chat_body()).join()
    assert after.status == 200 and after.text() == upstream.reply_text()
    # every job ends, settled once: the cut streams charged what their watchers were sent;
    # the queued one, whose message a worker took while the database was down, delivered
    # again by the broker and run once (the reaper's resend is minutes away: not that)
    jobs = hub.reap_until_terminal([streaming, queued, reader.job_id])
    assert [(j.status, j.error_code, j.attempts) for j in jobs] == [
        ("failed", "worker_lost", 1), ("succeeded", None, 1), ("failed", "worker_lost", 1)]
    assert_charged_for(hub, jobs[0], watcher.join().text())
    billed = _mirrored(hub, jobs[2].id)
    assert billed.startswith(reader.text())  # mirrored before its caller got it
    assert_charged_for(hub, jobs[2], billed)
    assert watcher.close_code == 1000 and watcher.events[-1]["type"] == "done"
    # no partial writes: the refused requests left no job, hold or ledger entry behind
    assert len(_jobs_of(hub, user)) == 4
    assert_books_balanced(hub, {user.id: FUNDS})
