"""Endings that must settle exactly once: cancel, concurrency, duplicate delivery, video."""

from __future__ import annotations

import threading

from app.models.jobs import Job, UsageRecord
from tests.factories import auth_headers, create_user
from tests.jobs.conftest import balance, chat_job, fund, token_of, wait_done, ws_events


def _ledger_consistent(app, user) -> None:
    from app.services.ledger.checker import check_ledger

    with app.app_context():
        assert check_ledger().violations == []
    now = balance(app, user)
    assert now.held == 0 and now.available == now.balance


def test_fifty_concurrent_jobs_only_the_affordable_ones_run(client, hub, app, settings) -> None:
    user = create_user()
    headers = auth_headers(user, settings.SECRET_KEY)
    quote = client.post("/api/jobs/quote", json={
        "type": "chat", "model": "local-echo", "max_tokens": 64,
        "messages": [{"role": "user", "content": "go"}]}, headers=headers).json
    fund(app, user, quote["hold_credits"] * 20)
    statuses: list[int] = []
    ids: list[str] = []
    lock = threading.Lock()

    def submit() -> None:
        with app.test_client() as c:
            response = chat_job(c, headers, "go")
        with lock:
            statuses.append(response.status_code)
            if response.status_code == 202:
                ids.append(response.json["id"])

    threads = [threading.Thread(target=submit) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(202) == 20
    assert statuses.count(402) == 30
    for job_id in ids:
        assert wait_done(client, headers, job_id, hub)["status"] == "succeeded"
    assert Job.select().count() == 20
    _ledger_consistent(app, user)


def test_duplicate_message_delivery_settles_once(app, client, hub, funded_user, user_headers) -> None:
    from app.tasks.generation import run_chat_job

    job_id = chat_job(client, user_headers, "deliver me twice").json["id"]
    run_chat_job.send(job_id)  # the broker delivers the same job again
    job = wait_done(client, user_headers, job_id, hub)
    assert job["status"] == "succeeded"
    assert UsageRecord.select().where(UsageRecord.job == job_id).count() == 1
    assert balance(app, funded_user).held == 0
    _ledger_consistent(app, funded_user)


def test_cancel_while_queued_releases_the_whole_hold(app, settings) -> None:
    """No worker consumes this app's queues (their own prefix): the job stays queued."""
    from app import create_app
    from tests.conftest import QUEUE_PREFIX
    from tests.jobs.conftest import job_settings

    prefix = f"{QUEUE_PREFIX}idle."
    idle_hub = create_app(job_settings(HUB_QUEUE_PREFIX=prefix))
    user = create_user()
    fund(app, user, 1_000_000)
    headers = auth_headers(user, settings.SECRET_KEY)
    try:
        with idle_hub.test_client() as c:
            job_id = chat_job(c, headers).json["id"]
            assert balance(app, user).held > 0
            canceled = c.post(f"/api/jobs/{job_id}/cancel", headers=headers)
            assert canceled.status_code == 200
            assert canceled.json["status"] == "canceled"
            assert canceled.json["cost_credits"] == 0
            again = c.post(f"/api/jobs/{job_id}/cancel", headers=headers)
            assert again.status_code == 409 and again.json["error"]["code"] == "job_finished"
    finally:
        channel = idle_hub.extensions["hub"].broker.channel
        channel.queue_delete(f"{prefix}chat")
    assert balance(app, user).held == 0
    assert balance(app, user).balance == 1_000_000
    _ledger_consistent(app, user)


def test_video_job_reports_progress_and_serves_the_file(app, client, hub, funded_user,
                                                       user_headers) -> None:
    created = client.post("/api/jobs", json={"type": "video", "model": "local-video",
                                             "prompt": "a calm sea", "seconds": 4},
                          headers=user_headers)
    assert created.status_code == 202, created.json
    job_id = created.json["id"]
    events, _ = ws_events(hub, job_id, token_of(user_headers))
    assert any(e["type"] == "progress" for e in events)
    assert events[-1] == {**events[-1], "type": "done", "data": {"status": "succeeded"}}
    job = client.get(f"/api/jobs/{job_id}", headers=user_headers).json
    # the local clip lasts the four seconds asked (its mvhd): all four charged, at the audio rate
    assert job["usage"] == {"seconds": 4}
    assert (job["hold_credits"], job["cost_credits"]) == (4 * 150, 4 * 150)
    assert job["result"]["content_url"] == f"/api/jobs/{job_id}/content"
    content = client.get(job["result"]["content_url"], headers=user_headers)
    assert content.status_code == 200 and content.mimetype == "video/mp4"
    assert len(content.data) == job["result"]["bytes"] > 0
    assert job["cost_credits"] > 0
    _ledger_consistent(app, funded_user)


def test_a_forgotten_queued_job_is_sent_again(app, settings) -> None:
    """A message the broker lost must not leave a job queued (and its credits held) forever."""
    from datetime import timedelta

    from app import create_app
    from app.jobs.reaper import reap_stale_jobs
    from app.models.base import utcnow
    from tests.jobs.conftest import job_settings

    no_workers = create_app(job_settings(REDIS_URL="", BROKER_URL=""))  # in-memory, unconsumed
    user = create_user()
    fund(app, user, 1_000_000)
    with no_workers.test_client() as c:
        job_id = chat_job(c, auth_headers(user, settings.SECRET_KEY)).json["id"]
    queue = no_workers.extensions["hub"].broker.queues[settings.HUB_QUEUE_PREFIX + "chat"]
    assert queue.qsize() == 1
    with no_workers.app_context():
        reap_stale_jobs()
        assert queue.qsize() == 1  # recently sent: left alone
        Job.update(enqueued_at=utcnow() - timedelta(hours=1)).where(Job.id == job_id).execute()
        reap_stale_jobs()
        assert queue.qsize() == 2  # sent again
        reap_stale_jobs()
        assert queue.qsize() == 2  # once per HUB_JOB_RESEND_AFTER_S, not on every pass
