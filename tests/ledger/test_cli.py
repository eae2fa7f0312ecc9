"""Operator commands: `flask credits adjust`, `flask credits promo-create`, `flask ledger check`."""

from __future__ import annotations

import subprocess
import sys

from app.models.audit import AuditLogEntry
from app.models.ledger import CreditAccount
from app.models.promo import PromoCode
from app.services import ledger
from tests.conftest import make_settings
from tests.factories import create_user
from tests.workers import PROJECT_ROOT, settings_env


def test_adjust_adds_and_removes_credits_and_prints_before_and_after(app, ctx) -> None:
    user = create_user(email="Ops.Target@example.com")
    runner = app.test_cli_runner()

    added = runner.invoke(args=["credits", "adjust", "ops.target@example.com", "1500",
                                "--reason", "manual top-up"])
    removed = runner.invoke(args=["credits", "adjust", "OPS.TARGET@example.com", "-500",
                                  "--reason", "correction", "--idempotency-key", "fix-1"])
    replayed = runner.invoke(args=["credits", "adjust", "ops.target@example.com", "-500",
                                   "--reason", "correction", "--idempotency-key", "fix-1"])

    assert added.exit_code == 0, added.output
    assert added.output.strip() == ("ops.target@example.com: balance 0 -> 1500 "
                                    "(held 0, available 0 -> 1500)")
    assert removed.output.strip() == ("ops.target@example.com: balance 1500 -> 1000 "
                                      "(held 0, available 1500 -> 1000)")
    assert replayed.output.strip().endswith("; replayed, nothing moved")
    assert ledger.get_balance(user.id).balance == 1_000
    audits = list(AuditLogEntry.select().order_by(AuditLogEntry.id))
    assert [(a.actor_id, a.actor_label.startswith("cli:"), a.reason) for a in audits] == \
        [(None, True, "manual top-up"), (None, True, "correction")]


def test_adjust_refuses_unknown_users_and_overdrafts(app, ctx) -> None:
    create_user(email="poor@example.com")
    runner = app.test_cli_runner()

    unknown = runner.invoke(args=["credits", "adjust", "nobody@example.com", "5", "--reason", "x"])
    overdraft = runner.invoke(args=["credits", "adjust", "poor@example.com", "-5", "--reason", "x"])
    no_reason = runner.invoke(args=["credits", "adjust", "poor@example.com", "5"])

    assert unknown.exit_code == 1 and "no user with e-mail nobody@example.com" in unknown.output
    assert overdraft.exit_code == 1
    assert "not enough credits: 0 available, 5 needed" in str(overdraft.exception)
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    assert not CreditAccount.select().exists()


def test_promo_create(app, ctx) -> None:
    runner = app.test_cli_runner()

    created = runner.invoke(args=["credits", "promo-create", "summer", "20000", "--limit", "50",
                                  "--valid-until", "2099-09-01T00:00:00+00:00"])
    bad_date = runner.invoke(args=["credits", "promo-create", "x-date", "1", "--limit", "1",
                                   "--valid-from", "next week"])
    no_limit = runner.invoke(args=["credits", "promo-create", "nolimit", "1"])

    assert created.exit_code == 0, created.output
    assert created.output.strip() == "created promo code SUMMER: 20000 credits, limit 50"
    code = PromoCode.get(PromoCode.code == "SUMMER")
    assert (code.max_redemptions, code.valid_until.isoformat()) == (50, "2099-09-01T00:00:00")
    assert bad_date.exit_code == 2 and "not an ISO 8601" in bad_date.output
    assert no_limit.exit_code == 2


def test_ledger_check(app, funded) -> None:
    user = funded(100)
    runner = app.test_cli_runner()

    clean = runner.invoke(args=["ledger", "check"])
    CreditAccount.update(balance=90).where(CreditAccount.user == user.id).execute()
    broken = runner.invoke(args=["ledger", "check"])

    assert clean.exit_code == 0
    assert clean.output.strip() == "checked 1 accounts, 1 entries, 0 active holds: no violations"
    assert broken.exit_code == 1
    assert broken.output.splitlines() == [
        f"balance_matches_entries: account {user.id}: balance 90 but its entries sum to 100",
        "checked 1 accounts, 1 entries, 0 active holds: 1 violation(s)"]


def test_a_cli_adjustment_shows_on_the_next_read_of_a_running_hub(client, funded) -> None:
    """The CLI is another process: its write must not hide behind the web process's cache."""
    from tests.factories import auth_headers

    user = funded(100)
    headers = auth_headers(user, make_settings().SECRET_KEY)
    assert client.get("/api/credits/balance", headers=headers).json["balance"] == 100  # cached

    result = subprocess.run(
        [sys.executable, "-m", "flask", "credits", "adjust", user.email, "250", "--reason", "cli"],
        cwd=PROJECT_ROOT, env=settings_env(make_settings()) | {"HUB_LOG_LEVEL": "WARNING"},
        capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stderr
    assert client.get("/api/credits/balance", headers=headers).json == \
        {"balance": 350, "held": 0, "available": 350}
