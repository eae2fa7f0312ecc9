"""Verify the ledger's invariants for every account: `python scripts/check_ledger.py`.

The same check as `flask ledger check`: prints every violation and exits 1 if there is any,
0 (with a one-line summary) if the ledger is sound. Settings come from the environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services.ledger.checker import check_ledger, report_lines  # noqa: E402


def main() -> int:
    app = create_app()
    with app.app_context(), db.connection_context():
        report = check_ledger()
    for line in report_lines(report):
        print(line)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
