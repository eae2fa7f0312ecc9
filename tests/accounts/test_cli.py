"""Operator commands: users create, users ensure-admin, keys create."""

from __future__ import annotations

from app import create_app
from app.models.users import User
from tests.accounts.helpers import bearer
from tests.conftest import make_settings


def test_users_create_and_keys_create(app) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "Ops@Example.com", "--password",
                                 "a long operator password", "--role", "admin", "--verified"])
    assert result.exit_code == 0, result.output
    user = User.get(User.email == "ops@example.com")
    assert user.role == "admin" and user.is_verified

    duplicate = runner.invoke(args=["users", "create", "ops@example.com", "--password",
                                    "a long operator password"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    weak = runner.invoke(args=["users", "create", "x@example.com", "--password", "short"])
    assert weak.exit_code != 0 and "at least 10 characters" in weak.output

    key = runner.invoke(args=["keys", "create", "ops@example.com", "--name", "deploy"])
    assert key.exit_code == 0
    plaintext = key.output.strip()
    assert plaintext.startswith("hub_")
    assert app.test_client().get("/api/me", headers=bearer(plaintext)).json["id"] == user.id
    missing = runner.invoke(args=["keys", "create", "nobody@example.com", "--name", "x"])
    assert missing.exit_code != 0 and "no account" in missing.output


def test_ensure_admin_generates_a_password_once(app) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["users", "ensure-admin"])
    assert first.exit_code == 0 and "with password: " in first.output
    password = first.output.split("with password: ")[1].split()[0]
    admin = User.get(User.role == "admin")
    response = app.test_client().post("/api/auth/login",
                                      json={"email": admin.email, "password": password})
    assert response.status_code == 200
    second = runner.invoke(args=["users", "ensure-admin"])
    assert "nothing to do" in second.output
    assert User.select().where(User.role == "admin").count() == 1


def test_ensure_admin_from_the_environment(migrated_database) -> None:
    app = create_app(make_settings(HUB_ADMIN_EMAIL="boss@example.com",
                                   HUB_ADMIN_PASSWORD="the boss's long password"))
    result = app.test_cli_runner().invoke(args=["users", "ensure-admin"])
    assert result.exit_code == 0 and "admin account ready: boss@example.com" in result.output
    assert User.get(User.email == "boss@example.com").role == "admin"
