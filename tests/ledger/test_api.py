"""The credits API as users see it: balance, history pages, CSV, usage, redemption."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from app.models.base import utcnow
from app.models.ledger import LedgerEntry
from app.services import ledger, promo
from tests.conftest import make_settings
from tests.factories import auth_headers, create_user


def _headers(user) -> dict[str, str]:
    return auth_headers(user, make_settings().SECRET_KEY)


def test_balance_shows_balance_held_and_available(client, funded) -> None:
    user = funded(1_000)
    ledger.place_hold(user.id, 250, idempotency_key="h", purpose="chat")

    response = client.get("/api/credits/balance", headers=_headers(user))

    assert response.status_code == 200
    assert response.json == {"balance": 1_000, "held": 250, "available": 750}


def test_credits_routes_need_a_signed_in_user(client) -> None:
    for path in ("/api/credits/balance", "/api/credits/transactions",
                 "/api/credits/transactions.csv", "/api/credits/usage"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json["error"]["code"] == "unauthorized"
    assert client.post("/api/credits/redeem", json={"code": "X"}).status_code == 401


def _spend(user, count: int, *, kind: str = "usage") -> None:
    for i in range(count):
        if kind == "usage":
            ledger.debit(user.id, i + 1, kind="usage", idempotency_key=f"{user.id}:u{i}")
        else:
            ledger.credit(user.id, i + 1, kind=kind, idempotency_key=f"{user.id}:{kind}{i}")


def test_history_pages_are_newest_first_and_stay_stable_as_entries_arrive(client, funded):
    user = funded(100_000)
    _spend(user, 12)
    headers = _headers(user)

    first = client.get("/api/credits/transactions?limit=5", headers=headers).json
    for i in range(3):  # new entries arrive between pages
        ledger.credit(user.id, 1, kind="refund", idempotency_key=f"late{i}")
    pages = [first]
    while pages[-1]["next_cursor"]:
        pages.append(client.get(f"/api/credits/transactions?limit=5&cursor="
                                f"{pages[-1]['next_cursor']}", headers=headers).json)

    ids = [item["id"] for page in pages for item in page["items"]]
    assert len(pages) == 3 and pages[-1]["next_cursor"] is None
    assert ids == sorted(ids, reverse=True) and len(ids) == len(set(ids)) == 13
    top = first["items"][0]
    assert top == {"id": top["id"], "created_at": top["created_at"], "kind": "usage",
                   "amount_credits": -12, "balance_after_credits": 100_000 - 78,
                   "reference": "", "memo": ""}
    assert top["created_at"].endswith("+00:00")
    assert pages[-1]["items"][-1]["kind"] == "purchase"
    fresh = client.get("/api/credits/transactions?limit=3", headers=headers).json
    assert [i["kind"] for i in fresh["items"]] == ["refund"] * 3


def test_history_filters_by_kind_and_date_range(client, funded) -> None:
    user = funded(1_000)
    _spend(user, 3)
    _spend(user, 2, kind="refund")
    old = LedgerEntry.get(LedgerEntry.idempotency_key == f"seed:{user.id}")
    LedgerEntry.update(created_at=utcnow() - timedelta(days=40)).where(
        LedgerEntry.id == old.id).execute()
    headers = _headers(user)

    usage = client.get("/api/credits/transactions?kind=usage", headers=headers).json
    recent = client.get(f"/api/credits/transactions?from={(utcnow() - timedelta(days=1)).date()}",
                        headers=headers).json
    older = client.get(f"/api/credits/transactions?to="
                       f"{(utcnow() - timedelta(days=30)).isoformat()}Z", headers=headers).json

    assert [i["amount_credits"] for i in usage["items"]] == [-3, -2, -1]
    assert len(recent["items"]) == 5
    assert [i["kind"] for i in older["items"]] == ["purchase"]


def test_history_rejects_bad_parameters(client, funded) -> None:
    headers = _headers(funded(10))
    for query, field in (("kind=gift", "kind"), ("limit=0", "limit"), ("limit=201", "limit"),
                         ("from=yesterday", "from")):
        response = client.get(f"/api/credits/transactions?{query}", headers=headers)
        assert response.status_code == 422, query
        assert response.json["error"]["message"].startswith(f"{field}:"), response.json
    response = client.get("/api/credits/transactions?cursor=not-a-cursor", headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_cursor"


def test_users_see_only_their_own_history(client, funded) -> None:
    mine, theirs = funded(10), funded(20)
    items = client.get("/api/credits/transactions", headers=_headers(mine)).json["items"]
    assert [i["amount_credits"] for i in items] == [10]
    assert client.get("/api/credits/balance", headers=_headers(theirs)).json["balance"] == 20


def test_csv_export_has_every_matching_entry_and_defuses_formulas(client, funded) -> None:
    user = funded(5_000)
    _spend(user, 4)
    ledger.credit(user.id, 7, kind="refund", idempotency_key="r1", memo="=HYPERLINK(\"x\")",
                  reference="+1 refund")

    response = client.get("/api/credits/transactions.csv", headers=_headers(user))
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    only_usage = client.get("/api/credits/transactions.csv?kind=usage", headers=_headers(user))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="credits-')
    assert rows[0] == ["id", "created_at", "kind", "amount_credits", "balance_after_credits",
                       "reference", "memo"]
    assert [r[2] for r in rows[1:]] == ["refund", "usage", "usage", "usage", "usage", "purchase"]
    assert rows[1][3:] == ["7", "4997", "'+1 refund", "'=HYPERLINK(\"x\")"]
    assert rows[1][1].endswith("Z")
    usage_rows = list(csv.reader(io.StringIO(only_usage.get_data(as_text=True))))
    assert len(usage_rows) == 5


def test_csv_export_streams_long_histories_in_chunks(client, funded) -> None:
    user = funded(10**9)
    LedgerEntry.insert_many([
        {"account": user.id, "amount_credits": -1, "kind": "usage",
         "balance_after": 10**9 - i - 1, "held_after": 0, "idempotency_key": f"bulk{i}",
         "created_at": utcnow() + timedelta(microseconds=i + 1)} for i in range(1_200)
    ]).execute()
    response = client.get("/api/credits/transactions.csv", headers=_headers(user))
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1 + 1_201
    assert rows[1][4] == str(10**9 - 1_200)


def test_usage_per_day_lists_every_day_oldest_first(client, funded) -> None:
    user = funded(10_000)
    _spend(user, 3)  # 6 credits today
    hold = ledger.place_hold(user.id, 100, idempotency_key="h", purpose="chat")
    ledger.settle_hold(hold.hold_id, 40)
    ledger.debit(user.id, 9, kind="usage", idempotency_key="old")
    LedgerEntry.update(created_at=utcnow() - timedelta(days=2)).where(
        LedgerEntry.idempotency_key == "old").execute()

    response = client.get("/api/credits/usage?days=7", headers=_headers(user))

    items = response.json["items"]
    assert response.status_code == 200 and len(items) == 7
    assert items[-1] == {"day": utcnow().date().isoformat(), "usage_credits": 46, "entries": 4}
    assert items[-3]["usage_credits"] == 9
    assert sum(i["usage_credits"] for i in items) == 55
    assert client.get("/api/credits/usage?days=0", headers=_headers(user)).status_code == 422


def test_redeeming_a_promo_code(client, ctx) -> None:
    user = create_user()
    promo.create_promo_code("Welcome-2025", 50_000, max_redemptions=5,
                            created_by=None, actor_label="test")

    response = client.post("/api/credits/redeem", json={"code": " welcome-2025 "},
                           headers=_headers(user))
    again = client.post("/api/credits/redeem", json={"code": "WELCOME-2025"},
                        headers=_headers(user))

    assert response.status_code == 200
    assert response.json == {"code": "WELCOME-2025", "amount_credits": 50_000,
                             "balance": 50_000, "held": 0, "available": 50_000}
    assert again.status_code == 409
    assert again.json["error"] == {"code": "promo_code_already_redeemed",
                                   "message": "you have already redeemed WELCOME-2025"}
    assert ledger.get_balance(user.id).balance == 50_000


def test_promo_code_errors_are_clear_and_change_nothing(client, ctx) -> None:
    now = utcnow()
    promo.create_promo_code("OLD", 10, max_redemptions=5, valid_until=now - timedelta(hours=1),
                            created_by=None, actor_label="test")
    promo.create_promo_code("SOON", 10, max_redemptions=5, valid_from=now + timedelta(days=1),
                            created_by=None, actor_label="test")
    promo.create_promo_code("ONE", 10, max_redemptions=1, created_by=None, actor_label="test")
    off = promo.create_promo_code("OFF", 10, max_redemptions=5, created_by=None, actor_label="test")
    off.is_active = False
    off.save()
    promo.redeem_promo_code(create_user().id, "one")
    user = create_user()

    cases = {"NOPE": (404, "promo_code_not_found"), "old": (410, "promo_code_expired"),
             "soon": (409, "promo_code_not_yet_valid"), "one": (410, "promo_code_exhausted"),
             "off": (410, "promo_code_expired")}
    for code, (status, error) in cases.items():
        response = client.post("/api/credits/redeem", json={"code": code},
                               headers=_headers(user))
        assert (response.status_code, response.json["error"]["code"]) == (status, error), code
    assert ledger.get_balance(user.id).balance == 0
    missing = client.post("/api/credits/redeem", json={}, headers=_headers(user))
    assert missing.status_code == 422 and missing.json["error"]["message"].startswith("code:")


def test_redeeming_needs_a_verified_email(client, ctx) -> None:
    promo.create_promo_code("FREE", 10, max_redemptions=5, created_by=None, actor_label="test")
    user = create_user(verified=False)
    response = client.post("/api/credits/redeem", json={"code": "FREE"}, headers=_headers(user))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "email_not_verified"
    assert ledger.get_balance(user.id).balance == 0


def test_the_openapi_document_lists_the_credits_routes(client) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    for path in ("/api/credits/balance", "/api/credits/transactions",
                 "/api/credits/transactions.csv", "/api/credits/usage", "/api/credits/redeem",
                 "/api/admin/users/{user_id}/credits", "/api/admin/promo-codes"):
        assert path in paths, path
    assert "text/csv" in paths["/api/credits/transactions.csv"]["get"]["responses"]["200"][
        "content"]


def test_pages_break_ties_between_entries_of_the_same_instant_by_id(client, funded) -> None:
    user = funded(100)
    same_instant = utcnow() + timedelta(seconds=1)
    LedgerEntry.insert_many([
        {"account": user.id, "amount_credits": -1, "kind": "usage", "balance_after": 99 - i,
         "held_after": 0, "idempotency_key": f"tie{i}", "created_at": same_instant}
        for i in range(7)]).execute()
    headers, seen, cursor = _headers(user), [], ""

    while True:
        page = client.get(f"/api/credits/transactions?limit=3{cursor}", headers=headers).json
        seen += [item["id"] for item in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"

    assert len(seen) == len(set(seen)) == 8
    assert seen[:7] == sorted(seen[:7], reverse=True)
