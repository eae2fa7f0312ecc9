"""Rate limits: per IP on sign-in, registration, forgot-password and codes; per caller on the
API; shared through Redis by every web process; in memory when embedded."""

from __future__ import annotations

import redis

from app import create_app
from app.security.api_limit import build_api_limit
from tests.accounts.helpers import bearer, login, user_with_password
from tests.conftest import make_settings


def _assert_429(response) -> None:
    assert response.status_code == 429
    assert response.json["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_brute_force_login_reaches_429(migrated_database) -> None:
    client = create_app(make_settings(HUB_RATE_LIMIT_LOGIN="3/minute")).test_client()
    user = user_with_password()
    for _ in range(3):
        assert login(client, user.email, "guessing wrong passwords").status_code == 401
    _assert_429(login(client, user.email))  # even the right password is refused now
    other_ip = client.post("/api/auth/login", json={"email": user.email, "password": "x" * 10},
                           environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other_ip.status_code == 401  # the limit is per client IP


def test_the_limit_is_shared_by_two_web_processes(migrated_database) -> None:
    settings = make_settings(HUB_RATE_LIMIT_LOGIN="4/minute")
    first, second = create_app(settings).test_client(), create_app(settings).test_client()
    user = user_with_password()
    for client in (first, second, first, second):
        assert login(client, user.email, "wrong wrong wrong").status_code == 401
    _assert_429(login(first, user.email))
    _assert_429(login(second, user.email))


def test_register_forgot_and_code_routes_are_limited(migrated_database) -> None:
    client = create_app(make_settings(HUB_RATE_LIMIT_REGISTER="1/minute",
                                      HUB_RATE_LIMIT_PASSWORD_FORGOT="1/minute",
                                      HUB_RATE_LIMIT_OTP="2/minute")).test_client()
    body = {"email": "a@example.com", "password": "short"}
    assert client.post("/api/auth/register", json=body).status_code == 422
    _assert_429(client.post("/api/auth/register", json=body))
    assert client.post("/api/auth/password/forgot", json={"email": "a@example.com"}) \
        .status_code == 202
    _assert_429(client.post("/api/auth/password/forgot", json={"email": "b@example.com"}))
    code = {"email": "a@example.com", "code": "000000"}
    client.post("/api/auth/verify-email", json=code)
    client.post("/api/auth/verify-email/resend", json={"email": "a@example.com"})
    _assert_429(client.post("/api/auth/verify-email", json=code))


def test_api_limit_is_per_caller(migrated_database) -> None:
    client = create_app(make_settings(HUB_RATE_LIMIT_API="3/minute")).test_client()
    one, two = user_with_password(), user_with_password()
    token_one = login(client, one.email).json["access_token"]
    token_two = login(client, two.email).json["access_token"]
    for _ in range(3):
        assert client.get("/api/me", headers=bearer(token_one)).status_code == 200
    _assert_429(client.get("/api/me", headers=bearer(token_one)))
    assert client.get("/api/me", headers=bearer(token_two)).status_code == 200
    assert client.get("/healthz").status_code == 200  # outside the API: not limited


def test_embedded_mode_limits_in_memory(migrated_database) -> None:
    client = create_app(make_settings(REDIS_URL="", HUB_RATE_LIMIT_LOGIN="1/minute")).test_client()
    user = user_with_password()
    assert login(client, user.email).status_code == 200
    _assert_429(login(client, user.email))


def test_api_responses_say_where_the_caller_stands(migrated_database) -> None:
    settings = make_settings(HUB_RATE_LIMIT_API="2/minute;100/hour")
    first, second = create_app(settings).test_client(), create_app(settings).test_client()
    user = user_with_password()
    token = login(first, user.email).json["access_token"]

    one = first.get("/api/me", headers=bearer(token))
    two = second.get("/api/me", headers=bearer(token))  # another web process, the same count
    refused = first.get("/api/me", headers=bearer(token))

    assert (one.headers["X-RateLimit-Limit"], one.headers["X-RateLimit-Remaining"]) == ("2", "1")
    assert two.headers["X-RateLimit-Remaining"] == "0"
    _assert_429(refused)
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    reset_at = int(refused.headers["X-RateLimit-Reset"])
    assert reset_at % 60 == 0  # the minute window ends on the minute
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "X-RateLimit-Limit" not in first.get("/healthz").headers


def test_the_api_limit_keeps_counting_while_redis_is_unreachable() -> None:
    unreachable = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    limiter = build_api_limit("2/minute", unreachable, "unreachable:")
    assert [limiter.hit("key:1", now=120.0)[0] for _ in range(3)] == [True, True, False]
    assert limiter.hit("key:1", now=180.0)[0]  # the next minute starts afresh
