"""Admin adjustments and promo creation through the JSON API, with the audit trail."""

from __future__ import annotations

import json

from app.models.audit import AuditLogEntry
from app.models.ledger import LedgerEntry
from app.services import ledger
from tests.conftest import make_settings
from tests.factories import auth_headers, create_user


def _adjust(client, headers, user_id: int, amount: int, key: str, reason: str = "goodwill"):
    return client.post(f"/api/admin/users/{user_id}/credits", headers=headers,
                       json={"amount": amount, "reason": reason, "idempotency_key": key})


def test_an_admin_adds_credits_and_the_change_is_audited(client, ctx, admin_headers) -> None:
    user = create_user()

    response = _adjust(client, admin_headers, user.id, 5_000, "ticket-17", "outage on 3 May")

    assert response.status_code == 200
    body = response.json
    assert body == {"entry_id": body["entry_id"], "user_id": user.id, "amount_credits": 5_000,
                    "before": {"balance": 0, "held": 0, "available": 0},
                    "after": {"balance": 5_000, "held": 0, "available": 5_000},
                    "replayed": False}
    entry = LedgerEntry.get_by_id(body["entry_id"])
    assert (entry.kind, entry.memo, entry.idempotency_key) == \
        ("admin_adjustment", "outage on 3 May", "admin:ticket-17")
    audit = AuditLogEntry.get()
    assert (audit.action, audit.target_type, audit.target_id, audit.reason) == \
        ("credits.adjust", "user", str(user.id), "outage on 3 May")
    assert json.loads(audit.before)["balance"] == 0 and json.loads(audit.after)["balance"] == 5_000
    assert audit.actor.role == "admin" and audit.actor_label == audit.actor.email


def test_an_admin_removes_credits_but_never_below_zero(client, funded, admin_headers) -> None:
    user = funded(1_000)
    ledger.place_hold(user.id, 300, idempotency_key="h", purpose="chat")

    removed = _adjust(client, admin_headers, user.id, -600, "k1", "chargeback")
    refused = _adjust(client, admin_headers, user.id, -101, "k2", "too much")

    assert removed.status_code == 200
    assert removed.json["before"] == {"balance": 1_000, "held": 300, "available": 700}
    assert removed.json["after"] == {"balance": 400, "held": 300, "available": 100}
    assert refused.status_code == 402
    assert refused.json["error"]["code"] == "insufficient_credits"
    assert ledger.get_balance(user.id).balance == 400
    assert AuditLogEntry.select().count() == 1


def test_retrying_an_adjustment_with_its_key_changes_nothing(client, ctx, admin_headers):
    user = create_user()
    first = _adjust(client, admin_headers, user.id, 700, "retry-me")
    again = _adjust(client, admin_headers, user.id, 700, "retry-me")
    other = _adjust(client, admin_headers, user.id, 800, "retry-me")

    assert again.status_code == 200
    assert again.json == {**first.json, "replayed": True}
    assert other.status_code == 409
    assert other.json["error"]["code"] == "idempotency_key_reused"
    assert ledger.get_balance(user.id).balance == 700
    assert AuditLogEntry.select().count() == 1


def test_adjustment_input_is_validated(client, ctx, admin_headers) -> None:
    user = create_user()
    cases = [({"amount": 0, "reason": "x", "idempotency_key": "k"}, "amount"),
             ({"amount": 5, "idempotency_key": "k"}, "reason"),
             ({"amount": 5, "reason": "x"}, "idempotency_key"),
             ({"amount": "5", "reason": "x", "idempotency_key": "k"}, "amount"),
             ({"amount": 5, "reason": "", "idempotency_key": "k"}, "reason")]
    for body, field in cases:
        response = client.post(f"/api/admin/users/{user.id}/credits", json=body,
                               headers=admin_headers)
        assert response.status_code == 422, body
        assert response.json["error"]["message"].startswith(f"{field}:"), response.json
    blank = _adjust(client, admin_headers, user.id, 5, "k", reason="   ")
    assert blank.status_code == 422 and blank.json["error"]["message"] == "a reason is required"
    missing = _adjust(client, admin_headers, 987_654, 5, "k")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "user_not_found"
    assert not LedgerEntry.select().exists()


def test_only_admins_adjust_credits(client, ctx) -> None:
    user = create_user()
    for role in ("user", "support"):
        headers = auth_headers(create_user(role=role), make_settings().SECRET_KEY)
        response = _adjust(client, headers, user.id, 5, f"k-{role}")
        assert response.status_code == 403, role
    assert _adjust(client, {}, user.id, 5, "k").status_code == 401
    assert ledger.get_balance(user.id).balance == 0


def test_an_admin_creates_a_promo_code(client, ctx, admin_headers) -> None:
    body = {"code": "spring-25", "amount_credits": 25_000, "max_redemptions": 100,
            "valid_until": "2099-06-01T00:00:00+02:00"}

    created = client.post("/api/admin/promo-codes", json=body, headers=admin_headers)
    duplicate = client.post("/api/admin/promo-codes", json=body, headers=admin_headers)
    bad = client.post("/api/admin/promo-codes", headers=admin_headers,
                      json={**body, "code": "no spaces!"})
    backwards = client.post("/api/admin/promo-codes", headers=admin_headers,
                            json={**body, "code": "BACKWARDS", "valid_from": "2099-07-01"})

    assert created.status_code == 201
    assert created.json == {"id": created.json["id"], "code": "SPRING-25",
                            "amount_credits": 25_000, "max_redemptions": 100, "redemptions": 0,
                            "valid_from": None, "valid_until": "2099-05-31T22:00:00+00:00",
                            "is_active": True}
    assert duplicate.status_code == 409
    assert duplicate.json["error"]["code"] == "promo_code_exists"
    assert bad.status_code == 422 and bad.json["error"]["code"] == "promo_code_invalid"
    assert backwards.status_code == 422
    assert backwards.json["error"]["message"] == "valid_until: must be after valid_from"
