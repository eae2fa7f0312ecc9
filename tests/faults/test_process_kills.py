"""A process dies mid-stream (SIGKILL): a `dramatiq` worker process with jobs streaming and jobs
waiting in its prefetch, and a gunicorn worker with `/v1` streams open. Nothing is lost, nothing
runs twice, the hub serves on without a hand restart (a supervisor restarting `dramatiq`
aside), and each job is charged for what its watchers were sent.

(tests/jobs/test_job_failures.py and test_web_executor.py cover one job and a whole process
group; these add what the broker and gunicorn's master do about it.)"""

from __future__ import annotations

import pika
import pytest

from app.models.jobs import Job
from app.services.runtime import current_events
from tests.faults.helpers import (
    SseReader,
    Watcher,
    assert_books_balanced,
    assert_charged_for,
    chat_body,
    submit_job,
)
from tests.faults.services import wait_for

pytestmark = pytest.mark.faults
FUNDS = 10_000_000


def _ready_messages(settings, queue: str) -> int:
    conn = pika.BlockingConnection(pika.URLParameters(settings.BROKER_URL))
    try:
        return conn.channel().queue_declare(settings.HUB_QUEUE_PREFIX + queue,
                                            passive=True).method.message_count
    finally:
        conn.close()


def test_worker_process_killed_with_jobs_streaming_and_prefetched_loses_nothing(
        app, shared_hub, upstream) -> None:
    # given: a worker process of 2 threads streaming 2 jobs; of 3 more, it has prefetched 2
    # (unacked: dramatiq prefetches twice its threads) and 1 waits in RabbitMQ
    upstream.chunk_count, upstream.chunk_delay_s = 400, 0.02
    hub = shared_hub
    user, headers = hub.funded_user(FUNDS)
    token = headers["Authorization"].split()[1]
    ids = [submit_job(hub, headers).json()["id"] for _ in range(5)]
    watchers = {job_id: Watcher(hub.url, job_id, token) for job_id in ids}
    wait_for(lambda: sum(w.deltas() >= 3 for w in watchers.values()) == 2, timeout_s=30,
             what="two jobs streaming")
    streaming = [i for i in ids if watchers[i].deltas()]
    wait_for(lambda: _ready_messages(hub.settings, "chat") == 1, timeout_s=10,
             what="the worker to prefetch two of the three waiting messages")
    waiting = [i for i in ids if i not in streaming]

    # when: the worker process is killed, then started again (as a supervisor would)
    hub.kill_worker_process()
    upstream.chunk_count, upstream.chunk_delay_s = 5, 0.0
    hub.start_workers(threads=2)
    jobs = dict(zip(ids, hub.reap_until_terminal(ids), strict=True))

    # then: the streaming jobs fail (`worker_lost`), charged for what their watchers got;
    # the broker redelivered the unacked messages: the waiting jobs ran, once each, and
    # the redelivered messages of the dead runs did nothing
    for job_id in streaming:
        job = jobs[job_id]
        assert (job.status, job.error_code) == ("failed", "worker_lost")
        text = watchers[job_id].join().text()
        assert text and watchers[job_id].events[-1]["type"] == "done"
        assert_charged_for(hub, job, text)
    for job_id in waiting:
        assert (jobs[job_id].status, jobs[job_id].attempts) == ("succeeded", 1)
        assert watchers[job_id].join().text() == upstream.reply_text()
    assert len(upstream.requests_to("/v1/chat/completions")) == 5
    wait_for(lambda: all(_skipped(hub.worker_log(), i) for i in streaming), timeout_s=20,
             what="the redelivered messages of the dead runs to be skipped")
    assert_books_balanced(hub, {user.id: FUNDS})


def _skipped(log: str, job_id: str) -> bool:
    """Whether the worker log shows a message of the job found it taken and did nothing."""
    return any("job_claim_skipped" in line and f"job_id={job_id}" in line
               for line in log.splitlines())


def test_gunicorn_worker_killed_mid_v1_streams_is_replaced_and_bills_what_was_sent(
        app, shared_hub, upstream) -> None:
    # given: two /v1 streams run by the gunicorn worker, one also watched over a WebSocket
    upstream.chunk_count, upstream.chunk_delay_s = 400, 0.02
    hub = shared_hub
    user, headers = hub.funded_user(FUNDS)
    readers = [SseReader(hub.url, headers, chat_body()) for _ in range(2)]
    wait_for(lambda: all(r.pieces() >= 3 for r in readers), timeout_s=30,
             what="both streams to flow")
    watcher = Watcher(hub.url, readers[0].job_id, headers["Authorization"].split()[1])
    wait_for(lambda: watcher.deltas() >= 3, timeout_s=30, what="the watcher to follow")

    # when: the worker process is killed; gunicorn's master boots another
    hub.kill_web_worker()
    upstream.chunk_count, upstream.chunk_delay_s = 5, 0.0

    # then: the callers' streams broke; the hub answers the next request at once
    for reader in readers:
        reader.join()
        assert reader.error is not None and "[DONE]" not in reader.payloads
    after = SseReader(hub.url, headers, chat_body()).join()
    assert after.status == 200 and after.text() == upstream.reply_text()
    assert after.payloads[-1] == "[DONE]"

    # the reaper fails both runs (never run again: their callers are gone), charging what
    # the event stream shows was sent; the watcher reconnected to the new worker and
    # resumed, missing nothing and seeing nothing twice
    jobs = hub.reap_until_terminal([r.job_id for r in readers])
    for reader, job in zip(readers, jobs, strict=True):
        assert (job.status, job.error_code, job.attempts) == ("failed", "worker_lost", 1)
        with hub.context():
            mirrored = "".join(e.data["text"] for e in current_events().read(job.id)
                               if e.type == "delta")
        assert mirrored.startswith(reader.text())  # the caller got all but at most the last
        assert_charged_for(hub, job, mirrored)
    watcher.join()
    assert watcher.connections >= 2 and watcher.close_code == 1000
    ids = [e["id"] for e in watcher.events]
    assert len(ids) == len(set(ids)) and watcher.text() == jobs[0].result_text
    assert [e["type"] for e in watcher.events[-3:]] == ["usage", "error", "done"]
    assert len(upstream.requests_to("/v1/chat/completions")) == 3
    with hub.context():
        assert Job.select().where(Job.user == user.id).count() == 3
    assert_books_balanced(hub, {user.id: FUNDS})
