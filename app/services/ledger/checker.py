"""The invariant checker behind `flask ledger check` and `scripts/check_ledger.py`.

It reads one consistent snapshot and reports every violation of the design's invariants:
`balance == sum(entries)`, `held == sum(active holds)`, `held >= 0`, `balance - held >= 0`,
each entry's `balance_after` continuing the one before it, and holds and promo codes whose
bookkeeping disagrees with the journal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.extensions import db
from app.models.ledger import HOLD_STATUSES, KINDS
from app.transactions import snapshot_transaction


@dataclass(frozen=True)
class Violation:
    rule: str
    detail: str  # names the account, entry, hold or promo code

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


@dataclass
class CheckReport:
    accounts: int = 0
    entries: int = 0
    holds: int = 0
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)  # constants from the code, never user input


# (rule, SQL returning one row per violation, the message template for that row)
CHECKS: list[tuple[str, str, str]] = [
    ("balance_matches_entries", """
        SELECT a.user_id, a.balance, COALESCE(s.total, 0)
        FROM credit_accounts a
        LEFT JOIN (SELECT account_id, SUM(amount_credits) AS total
                   FROM ledger_entries GROUP BY account_id) s ON s.account_id = a.user_id
        WHERE a.balance <> COALESCE(s.total, 0)""",
     "account {0}: balance {1} but its entries sum to {2}"),
    ("held_matches_active_holds", """
        SELECT a.user_id, a.held, COALESCE(h.total, 0)
        FROM credit_accounts a
        LEFT JOIN (SELECT account_id, SUM(amount_credits) AS total FROM credit_holds
                   WHERE status = 'active' GROUP BY account_id) h ON h.account_id = a.user_id
        WHERE a.held <> COALESCE(h.total, 0)""",
     "account {0}: held {1} but its active holds sum to {2}"),
    ("held_not_negative", "SELECT user_id, held FROM credit_accounts WHERE held < 0",
     "account {0}: held is {1}"),
    ("available_not_negative", """
        SELECT user_id, balance, held FROM credit_accounts WHERE balance - held < 0""",
     "account {0}: balance {1} is below held {2}"),
    ("entries_chain", """
        SELECT id, account_id, previous, amount_credits, balance_after FROM (
            SELECT id, account_id, amount_credits, balance_after,
                   LAG(balance_after, 1, 0) OVER (PARTITION BY account_id ORDER BY id)
                       AS previous
            FROM ledger_entries) chained
        WHERE balance_after <> previous + amount_credits""",
     "entry {0} (account {1}): {2} {3:+d} should give {2} + {3} but records {4}"),
    ("entry_kind_known",
     f"SELECT id, kind FROM ledger_entries WHERE kind NOT IN ({_in(KINDS)})",  # noqa: S608  # nosec B608  # the module's constant kinds
     "entry {0}: unknown kind {1!r}"),
    ("hold_status_known",
     f"SELECT id, status FROM credit_holds WHERE status NOT IN ({_in(HOLD_STATUSES)})",  # noqa: S608  # nosec B608  # the module's constant statuses
     "hold {0}: unknown status {1!r}"),
    ("settled_hold_has_entry", """
        SELECT id FROM credit_holds WHERE status = 'settled' AND settle_entry_id IS NULL""",
     "hold {0}: settled without a usage entry"),
    ("promo_redemptions_counted", """
        SELECT p.id, p.code, p.redemptions, COUNT(r.id), p.max_redemptions
        FROM promo_codes p LEFT JOIN promo_redemptions r ON r.promo_id = p.id
        GROUP BY p.id, p.code, p.redemptions, p.max_redemptions
        HAVING p.redemptions <> COUNT(r.id) OR COUNT(r.id) > p.max_redemptions""",
     "promo code {0} ({1}): counter {2}, {3} redemptions, limit {4}"),
]


def check_ledger() -> CheckReport:
    """Run every check on one snapshot; the report lists each violation found."""
    report = CheckReport()
    with snapshot_transaction():
        report.accounts = db.execute_sql("SELECT COUNT(*) FROM credit_accounts").fetchone()[0]
        report.entries = db.execute_sql("SELECT COUNT(*) FROM ledger_entries").fetchone()[0]
        report.holds = db.execute_sql(
            "SELECT COUNT(*) FROM credit_holds WHERE status = 'active'").fetchone()[0]
        for rule, sql, template in CHECKS:
            for row in db.execute_sql(sql).fetchall():
                report.violations.append(Violation(rule=rule, detail=template.format(*row)))
    return report


def report_lines(report: CheckReport) -> list[str]:
    """Every violation, one a line, then a summary line (what the CLI and script print)."""
    summary = (f"checked {report.accounts} accounts, {report.entries} entries, "
               f"{report.holds} active holds: ")
    summary += f"{len(report.violations)} violation(s)" if report.violations else "no violations"
    return [*(str(v) for v in report.violations), summary]
