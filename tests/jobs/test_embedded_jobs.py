"""`make run`'s shape: SQLite, no Redis, the in-memory broker with worker threads in-process.
A chat and a video job run to the end and settle, through the same HTTP API."""

from __future__ import annotations

import json

import pytest

from app.embedded import start_embedded_worker
from app.jobs.streaming.relay import follow
from app.services import ledger
from app.services.ledger.checker import check_ledger
from tests.conftest import sqlite_app
from tests.factories import auth_headers, create_user


@pytest.fixture
def embedded(tmp_path, migrated_database):
    with sqlite_app(tmp_path, BROKER_URL="", HUB_LOCAL_TOKEN_DELAY_S=0.001,
                    HUB_LOCAL_VIDEO_RENDER_S=0.1, HUB_STORAGE_DIR=tmp_path / "storage") as app:
        worker = start_embedded_worker(app)
        yield app, app.extensions["hub"].settings
        worker.stop()


def _finish(app, job_id: str) -> list:
    with app.app_context():
        return [e for e in follow(job_id, idle_timeout_s=30) if e is not None]


def test_chat_and_video_jobs_in_one_process(embedded) -> None:
    app, settings = embedded
    client = app.test_client()
    with app.app_context():
        user = create_user()
        ledger.credit(user.id, 1_000_000, kind="promo", idempotency_key="embedded-funds")
    headers = auth_headers(user, settings.SECRET_KEY)

    chat = client.post("/api/jobs", headers=headers, json={
        "type": "chat", "model": "local-echo", "max_tokens": 50,
        "messages": [{"role": "user", "content": "offline hello"}]})
    assert chat.status_code == 202, chat.json
    events = _finish(app, chat.json["id"])
    assert events[-1].type == "done" and events[-1].data == {"status": "succeeded"}
    assert "offline hello" in "".join(e.data["text"] for e in events if e.type == "delta")

    video = client.post("/api/jobs", headers=headers, json={
        "type": "video", "model": "local-video", "prompt": "waves", "seconds": 4})
    assert video.status_code == 202, video.json
    assert _finish(app, video.json["id"])[-1].data == {"status": "succeeded"}
    content = client.get(f"/api/jobs/{video.json['id']}/content", headers=headers)
    assert content.status_code == 200 and content.data[4:8] == b"ftyp"

    jobs = client.get("/api/jobs", headers=headers).json["items"]
    charged = sum(j["cost_credits"] for j in jobs)
    assert charged > 0
    with app.app_context():
        assert ledger.get_balance(user.id).balance == 1_000_000 - charged
        assert ledger.get_balance(user.id).held == 0
        assert check_ledger().violations == []


def test_v1_stream_runs_in_the_serving_thread_on_sqlite(embedded) -> None:
    app, settings = embedded
    client = app.test_client()
    with app.app_context():
        user = create_user()
        ledger.credit(user.id, 1_000_000, kind="promo", idempotency_key="embedded-v1-funds")
    headers = auth_headers(user, settings.SECRET_KEY)

    response = client.post("/v1/chat/completions", headers=headers, json={
        "model": "local-echo", "stream": True, "max_tokens": 50,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "offline gateway"}]})
    assert response.status_code == 200
    payloads = [line[len("data: "):] for line in response.get_data(as_text=True).splitlines()
                if line.startswith("data: ")]
    assert payloads[-1] == "[DONE]"
    chunks = [json.loads(p) for p in payloads[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "offline gateway" in text
    cost = chunks[-1]["usage"]["cost_credits"]
    assert cost > 0

    job = client.get(f"/api/jobs/{response.headers['X-Hub-Job-Id']}", headers=headers).json
    assert job["status"] == "succeeded" and job["cost_credits"] == cost
    assert job["result"]["text"] == text
    events = _finish(app, job["id"])  # the in-process event stream has the whole run too
    assert "".join(e.data["text"] for e in events if e.type == "delta") == text
    with app.app_context():
        assert ledger.get_balance(user.id).balance == 1_000_000 - cost
        assert ledger.get_balance(user.id).held == 0
        assert check_ledger().violations == []


def test_a_video_with_choices_charges_its_delivered_seconds_on_sqlite(embedded) -> None:
    """The SQLite store records the delivered seconds too: the local clip of an 8 s request
    without audio says it lasts 8 s and costs 8 seconds at the per-second rate."""
    import base64

    from app.models.jobs import Job, UsageRecord
    from app.providers.video import first_frame_path

    app, settings = embedded
    client = app.test_client()
    with app.app_context():
        user = create_user()
        ledger.credit(user.id, 1_000_000, kind="promo", idempotency_key="embedded-video")
    headers = auth_headers(user, settings.SECRET_KEY)
    frame = b"\xff\xd8\xff\xe0 a jpeg first frame"
    video = client.post("/api/jobs", headers=headers, json={
        "type": "video", "model": "local-video", "prompt": "waves", "seconds": 8,
        "audio": False, "negative_prompt": "no boats",
        "first_frame": "data:image/jpeg;base64," + base64.b64encode(frame).decode()})
    assert video.status_code == 202 and video.json["hold_credits"] == 800, video.json
    assert _finish(app, video.json["id"])[-1].data == {"status": "succeeded"}

    job = client.get(f"/api/jobs/{video.json['id']}", headers=headers).json
    assert (job["usage"], job["cost_credits"]) == ({"seconds": 8}, 800)
    with app.app_context():
        assert first_frame_path(job["id"], "image/jpeg").read_bytes() == frame
        assert json.loads(Job.get_by_id(job["id"]).request_json)["first_frame"] == {
            "mime_type": "image/jpeg", "bytes": len(frame)}
        assert UsageRecord.get(UsageRecord.job == job["id"]).video_seconds == 8
        assert ledger.get_balance(user.id).balance == 1_000_000 - 800
        assert ledger.get_balance(user.id).held == 0
        assert check_ledger().violations == []
