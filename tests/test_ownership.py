"""Another account's jobs, keys and payments stay invisible: an id of theirs answers 404, as
if it did not exist, and lists hold only the caller's own rows, whichever credential asks.

Already pinned elsewhere: reading and cancelling another user's job and its WebSocket
(tests/jobs/test_job_api.py), rotating and deleting another user's key through the API
(tests/accounts/test_api_keys.py), the payment list (tests/payments/test_history.py). There is
no route that takes a payment id for its owner.
"""

from __future__ import annotations

import re

import pytest

from app.models.api_keys import ApiKey
from tests.factories import auth_headers, create_job, create_payment_flag, create_user


@pytest.fixture
def owner(app, settings):
    user = create_user()
    return user, auth_headers(user, settings.SECRET_KEY)


@pytest.fixture
def strangers(client, settings) -> list[dict[str, str]]:
    """Another account's credentials: its access token, and one of its API keys."""
    headers = auth_headers(create_user(), settings.SECRET_KEY)
    key = client.post("/api/keys", json={"name": "theirs"}, headers=headers).json["key"]
    return [headers, {"Authorization": f"Bearer {key}"}]


def test_another_accounts_video_is_404_and_never_sent(client, owner, strangers,
                                                      tmp_path) -> None:
    user, headers = owner
    video = tmp_path / "video.mp4"
    video.write_bytes(b"owner's video")
    job = create_job(user, type="video", model="sora-2", status="succeeded",
                     content_path=str(video), content_bytes=13)

    assert client.get(f"/api/jobs/{job.id}/content", headers=headers).data == b"owner's video"
    for stranger in strangers:
        for path in (f"/api/jobs/{job.id}/content", f"/api/jobs/{job.id}"):
            response = client.get(path, headers=stranger)
            assert response.status_code == 404, (path, stranger)
            assert response.json["error"]["code"] == "job_not_found"
            assert b"owner's video" not in response.data and job.model not in response.text


def test_lists_hold_only_the_callers_own_jobs_keys_and_payments(client, owner,
                                                                strangers) -> None:
    user, headers = owner
    create_job(user)
    client.post("/api/keys", json={"name": "mine"}, headers=headers)
    create_payment_flag(user)

    token, key = strangers
    assert len(client.get("/api/jobs", headers=headers).json["items"]) == 1
    assert client.get("/api/jobs", headers=key).json["items"] == []
    assert [k["name"] for k in client.get("/api/keys", headers=token).json["items"]] == \
        ["theirs"]
    assert client.get("/api/payments", headers=token).json["items"] == []
    assert len(client.get("/api/payments", headers=headers).json["items"]) == 1


def test_another_accounts_key_is_untouched_by_the_keys_page(app, client, owner) -> None:
    _, headers = owner
    mine = client.post("/api/keys", json={"name": "mine"}, headers=headers).json
    page = app.test_client()
    with page.session_transaction() as session:
        session["_user_id"] = create_user().get_id()
        session["_fresh"] = True
    token = re.search(rb'name="csrf-token" content="([^"]+)"', page.get("/keys").data).group(1)
    before = ApiKey.get_by_id(mine["id"])

    rotated = page.post(f"/keys/{mine['id']}/rotate", data={"csrf_token": token.decode()})
    revoked = page.post(f"/keys/{mine['id']}/revoke", data={"csrf_token": token.decode()})

    assert mine["key"].encode() not in rotated.data and mine["prefix"].encode() not in \
        rotated.data
    assert rotated.status_code == revoked.status_code == 302
    after = ApiKey.get_by_id(mine["id"])
    assert (after.secret_hash, after.revoked_at) == (before.secret_hash, None)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {mine['key']}"}
                      ).status_code == 200
