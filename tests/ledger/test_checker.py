"""The invariant checker finds every kind of violation, and only violations."""

from __future__ import annotations

import subprocess
import sys

from app.extensions import db
from app.models.ledger import CreditAccount, CreditHold, LedgerEntry
from app.models.promo import PromoCode
from app.services import ledger, promo
from app.services.ledger.checker import check_ledger, report_lines
from tests.conftest import make_settings
from tests.factories import create_user
from tests.workers import PROJECT_ROOT, settings_env


def _busy_ledger(funded):
    user = funded(1_000)
    ledger.debit(user.id, 100, kind="usage", idempotency_key="d")
    hold = ledger.place_hold(user.id, 200, idempotency_key="h1", purpose="chat")
    ledger.settle_hold(hold.hold_id, 50)
    ledger.place_hold(user.id, 300, idempotency_key="h2", purpose="video")
    promo.create_promo_code("FIVE", 5, max_redemptions=2, created_by=None, actor_label="test")
    promo.redeem_promo_code(user.id, "five")
    return user


def test_a_sound_ledger_has_no_violations(funded) -> None:
    _busy_ledger(funded)
    report = check_ledger()
    assert report.ok, report.violations
    assert (report.accounts, report.entries, report.holds) == (1, 4, 1)
    assert report_lines(report) == ["checked 1 accounts, 4 entries, 1 active holds: "
                                    "no violations"]


def test_every_broken_invariant_is_reported(funded) -> None:
    user = _busy_ledger(funded)
    with db.atomic() as txn:  # corrupt the ledger inside a transaction, rolled back after
        for (name,) in db.execute_sql(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'credit_accounts'::regclass "
                "AND contype = 'c'").fetchall():
            db.execute_sql(f'ALTER TABLE credit_accounts DROP CONSTRAINT "{name}"')
        CreditAccount.update(balance=10, held=20).where(CreditAccount.user == user.id).execute()
        first = LedgerEntry.select().order_by(LedgerEntry.id).first()
        LedgerEntry.update(balance_after=999, kind="gift").where(
            LedgerEntry.id == first.id).execute()
        CreditHold.update(status="settled", settle_entry=None).where(
            CreditHold.idempotency_key == "h2").execute()
        PromoCode.update(redemptions=2).execute()

        report = check_ledger()
        txn.rollback()

    assert sorted(v.rule for v in report.violations) == sorted([
        "balance_matches_entries", "held_matches_active_holds", "available_not_negative",
        "entries_chain", "entries_chain", "entry_kind_known", "settled_hold_has_entry",
        "promo_redemptions_counted"])
    lines = report_lines(report)
    assert f"balance_matches_entries: account {user.id}: balance 10 but its entries sum to " \
           f"855" in lines
    assert lines[-1].endswith("8 violation(s)")
    assert check_ledger().ok  # the rollback restored it


def test_negative_held_is_reported(funded) -> None:
    user = funded(10)
    with db.atomic() as txn:
        for (name,) in db.execute_sql(
                "SELECT conname FROM pg_constraint WHERE conrelid = 'credit_accounts'::regclass "
                "AND contype = 'c'").fetchall():
            db.execute_sql(f'ALTER TABLE credit_accounts DROP CONSTRAINT "{name}"')
        CreditAccount.update(held=-5).where(CreditAccount.user == user.id).execute()
        rules = {v.rule for v in check_ledger().violations}
        txn.rollback()
    assert rules == {"held_not_negative", "held_matches_active_holds"}


def test_the_script_exits_non_zero_listing_violations(funded) -> None:
    user = funded(100)
    env = settings_env(make_settings()) | {"HUB_LOG_LEVEL": "WARNING"}

    def run() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "scripts/check_ledger.py"], cwd=PROJECT_ROOT,
                              env=env, capture_output=True, text=True, timeout=60, check=False)

    clean = run()
    CreditAccount.update(balance=101).where(CreditAccount.user == user.id).execute()
    broken = run()

    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.strip() == "checked 1 accounts, 1 entries, 0 active holds: no violations"
    assert broken.returncode == 1
    assert broken.stdout.splitlines()[0] == (f"balance_matches_entries: account {user.id}: "
                                             f"balance 101 but its entries sum to 100")


def test_users_without_movements_have_no_account_to_check(funded) -> None:
    create_user()
    funded(5)
    assert check_ledger().accounts == 1
