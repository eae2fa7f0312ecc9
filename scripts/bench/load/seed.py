"""Accounts for the load test: `python -m scripts.bench.load.seed --accounts N --entries M --out F`,
run with the hub's environment (the stack's own database, migrated here).

Each account is a verified user with a password (one argon2 hash, shared: hashing once per
account would only slow the seeding), a funded ledger with `--entries` credits (so its history
has pages to read), and a hub API key. `--out` receives a JSON list of
`{"email", "password", "api_key"}`, what the locustfile's users sign in and call with.
"""

from __future__ import annotations

import argparse
import json
import secrets
from pathlib import Path

FUNDS_CREDITS = 10**13  # enough that no run ends for want of credits
HISTORY_CREDITS = 1_000


def seed(accounts: int, entries: int, run_id: str) -> list[dict[str, str]]:
    from app.models.base import utcnow
    from app.models.users import User
    from app.security.passwords import hash_password
    from app.services import ledger
    from app.services.api_keys import create_key

    password = f"load-{secrets.token_urlsafe(12)}"
    password_hash = hash_password(password)
    out = []
    for i in range(accounts):
        user = User.create(email=f"load{i}-{run_id}@example.com", name=f"Load {i}",
                           password_hash=password_hash, email_verified_at=utcnow())
        ledger.credit(user.id, FUNDS_CREDITS, kind="promo", idempotency_key=f"load:funds:{i}")
        for n in range(entries):
            ledger.credit(user.id, HISTORY_CREDITS, kind="promo",
                          idempotency_key=f"load:history:{i}:{n}")
        out.append({"email": user.email, "password": password,
                    "api_key": create_key(user, "load test").plaintext})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--entries", type=int, default=20, help="ledger entries per account")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--run-id", default=secrets.token_hex(4))
    args = parser.parse_args()

    from app import create_app, migrations
    from app.extensions import db

    app = create_app()
    with app.app_context():
        migrations.upgrade()
        with db.connection_context():
            users = seed(args.accounts, args.entries, args.run_id)
    args.out.write_text(json.dumps(users))


if __name__ == "__main__":
    main()
