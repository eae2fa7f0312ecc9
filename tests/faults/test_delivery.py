"""A job's message delivered more than once, or never: it runs exactly once either way.

Through the real broker (RabbitMQ) and worker process; tests/jobs/test_job_lifecycle.py covers
one extra copy sent right away, and the reaper's resend into an in-memory queue."""

from __future__ import annotations

import pytest

from app import create_app
from app.jobs.runs import send_run
from tests.faults.helpers import (
    Watcher,
    assert_books_balanced,
    fault_settings,
    submit_job,
)
from tests.faults.services import wait_for

pytestmark = pytest.mark.faults
FUNDS = 10_000_000


def _skips(hub, job_id: str) -> int:
    """How many messages of the job the worker found taken (claimed or finished) and dropped."""
    return sum("job_claim_skipped" in line and f"job_id={job_id}" in line
               for line in hub.worker_log().splitlines())


def _upstream_calls(upstream, prompt: str) -> int:
    return sum(r.body["messages"][-1]["content"] == prompt
               for r in upstream.requests_to("/v1/chat/completions"))


def test_copies_of_a_message_racing_mid_run_and_after_the_end_run_the_job_once(
        app, shared_hub, upstream) -> None:
    hub = shared_hub
    user, headers = hub.funded_user(FUNDS)
    token = headers["Authorization"].split()[1]
    upstream.chunk_count, upstream.chunk_delay_s = 100, 0.02

    # given: two jobs; the first one's message is sent twice more at once (three copies race
    # for the claim on the worker's two threads), the second one's while it streams
    racing = submit_job(hub, headers, messages=[{"role": "user", "content": "race"}]).json()["id"]
    with hub.context():
        send_run("chat", racing)
        send_run("chat", racing)
    streaming = submit_job(hub, headers,
                           messages=[{"role": "user", "content": "stream"}]).json()["id"]
    watchers = [Watcher(hub.url, job_id, token) for job_id in (racing, streaming)]
    wait_for(lambda: watchers[1].deltas() >= 3, timeout_s=30, what="the second job to stream")
    with hub.context():
        send_run("chat", streaming)
        send_run("chat", streaming)
    wait_for(lambda: _skips(hub, streaming) == 2, timeout_s=30,
             what="the copies sent mid-run to be dropped")

    # when: both end, and each one's message is delivered once more after the end
    for watcher in watchers:
        watcher.join()
    with hub.context():
        send_run("chat", racing)
        send_run("chat", streaming)

    # then: every copy but one was dropped; each job ran once, and its watcher saw each event
    # once, one `done` last
    wait_for(lambda: _skips(hub, racing) == 3 and _skips(hub, streaming) == 3, timeout_s=30,
             what="every extra copy to be dropped")
    for job_id, watcher, prompt in zip((racing, streaming), watchers, ("race", "stream"),
                                       strict=True):
        job = hub.job(job_id)
        assert (job.status, job.attempts) == ("succeeded", 1)
        assert _upstream_calls(upstream, prompt) == 1
        ids = [e["id"] for e in watcher.events]
        assert len(ids) == len(set(ids))
        assert [e["type"] for e in watcher.events].count("done") == 1
        assert watcher.events[-1]["data"] == {"status": "succeeded"}
        assert watcher.text() == job.result_text == upstream.reply_text()
    assert_books_balanced(hub, {user.id: FUNDS})


def test_a_message_that_never_reached_the_broker_is_sent_again_and_the_job_runs(
        app, shared_hub, upstream) -> None:
    hub = shared_hub
    user, headers = hub.funded_user(FUNDS)

    # given: a job whose message was lost on its way: the web side that created it handed
    # it to a broker no worker reads (an in-memory one), so RabbitMQ never had it
    lossy = create_app(fault_settings(BROKER_URL="", REDIS_URL="",
                                      HUB_QUEUE_PREFIX=hub.settings.HUB_QUEUE_PREFIX))
    with lossy.test_client() as client:
        created = client.post("/api/jobs", headers=headers, json={
            "type": "chat", "model": "gpt-4o-mini", "max_tokens": 64,
            "messages": [{"role": "user", "content": "lost"}]})
    assert created.status_code == 202, created.json
    job_id = created.json["id"]
    assert hub.job(job_id).status == "queued"

    # when: the reaper runs (the scheduler's every 15 s), past HUB_JOB_RESEND_AFTER_S (2 s)
    [job] = hub.reap_until_terminal([job_id])

    # then: it sent the message again; the worker ran the job once, and it is settled
    assert (job.status, job.attempts) == ("succeeded", 1)
    assert _upstream_calls(upstream, "lost") == 1
    assert job.result_text == upstream.reply_text()
    assert_books_balanced(hub, {user.id: FUNDS})
