"""The back office: support reads, admin writes; the same role rule as the API."""

from __future__ import annotations

import re

from app.models.users import User
from tests.factories import create_user


def _signed_in(app, user):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
    token = re.search(rb'name="csrf-token" content="([^"]+)"', client.get("/forgot").data)
    return client, token.group(1).decode()


def test_support_reads_but_cannot_edit(app) -> None:
    target = create_user(name="Target")
    client, token = _signed_in(app, create_user(role="support"))
    listing = client.get("/admin/users/")
    assert listing.status_code == 200 and target.email.encode() in listing.data
    assert client.get(f"/admin/users/details/?id={target.id}").status_code == 200
    response = client.post(f"/admin/users/edit/?id={target.id}",
                           data={"csrf_token": token, "name": "Hacked", "role": "admin"})
    assert response.status_code == 302  # Flask-Admin refuses and sends back to the list
    assert User.get_by_id(target.id).role == "user"
    assert User.get_by_id(target.id).name == "Target"


def test_admin_edits_role_but_never_sees_secrets(app) -> None:
    target = create_user(name="Target")
    client, token = _signed_in(app, create_user(role="admin"))
    details = client.get(f"/admin/users/details/?id={target.id}").data
    assert b"password_hash" not in details.lower().replace(b" ", b"_")
    response = client.post(f"/admin/users/edit/?id={target.id}",
                           data={"csrf_token": token, "name": "Target", "role": "support",
                                 "is_active": "y"})
    assert response.status_code == 302
    assert User.get_by_id(target.id).role == "support"
    refused = client.post(f"/admin/users/edit/?id={target.id}",
                          data={"name": "Target", "role": "admin", "is_active": "y"})
    assert refused.status_code == 400  # no CSRF token
    assert User.get_by_id(target.id).role == "support"
