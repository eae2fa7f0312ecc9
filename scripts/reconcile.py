"""Reconcile payments with Stripe once: `python -m scripts.reconcile [--hours N]` (for cron).

Exit status 0 when the run is `ok`, 1 when Stripe could not be read (the report is stored).
"""

import argparse

from app import create_app
from app.payments_cli import print_report
from app.services.reconcile import reconcile

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=int, default=None,
                        help="look back this many hours (default HUB_RECONCILE_LOOKBACK_HOURS)")
    args = parser.parse_args()
    if args.hours is not None and not 1 <= args.hours <= 24 * 30:
        parser.error("--hours must be between 1 and 720")
    with create_app().app_context():
        run = reconcile(trigger="script", lookback_hours=args.hours)
        print_report(run)
    raise SystemExit(0 if run.status == "ok" else 1)
