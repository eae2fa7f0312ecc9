"""Ledger benchmark: `python -m scripts.bench.ledger` (or `make bench-ledger`).

Creates its own PostgreSQL database (dropped at the end) and measures, in one run:

1. Debits per second with N concurrent clients (processes), over 1,000 accounts and on one hot
   account: the ledger service (`app.services.ledger.debit`, Redis balance cache included)
   interleaved with the machine's ceiling, a raw psycopg2 loop doing only the bare
   `UPDATE … RETURNING` + `INSERT` a debit needs, on the same tables. Reports both and the ratio.
2. History at scale: seeds 5,000,000 entries over 10,000 accounts with bulk SQL (one deep
   account holds a tenth of them, 500,450), then measures p50/p95 of a keyset history page at random
   depths and of a 30-day per-day usage aggregate, through the service functions the API uses.

3. With `--retention`: seeds a settled job and its usage record (with a 2 kB request) for each
   usage entry, over the same year, runs one retention pass (`app.services.retention`, 90 days)
   and times it, then the same history and aggregate queries again, plus the back office's
   30-day usage summary (which reads the detailed rows and the daily rows) before the pass,
   right after it and after the VACUUM (ANALYZE) autovacuum would run, with its plans.

Options: --seconds (per measurement), --rounds, --clients, --entries, --accounts, --samples;
--smoke runs it all at tiny sizes (scripts.bench.sizes). Seeding writes through the live schema
(scripts.bench.seeding), so a migration that adds a column does not break it.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg2

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SPREAD_ACCOUNTS = 1_000
FUNDS = 10**12
DEEP_SHARE = 0.1  # the share of all entries that belongs to the one deep account


def database_url(name: str) -> str:
    return urlunparse(urlparse(ADMIN_URL)._replace(path=f"/{name}"))


def admin(sql: str) -> None:
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def bench_settings(db_name: str, prefix: str):
    from app.config import load_settings

    return load_settings(HUB_ENV="test", SECRET_KEY="bench-" + "x" * 40,
                         DATABASE_URL=database_url(db_name), REDIS_URL=REDIS_URL,
                         BROKER_URL="", HUB_REDIS_PREFIX=prefix, HUB_QUEUE_PREFIX=prefix,
                         HUB_LOG_LEVEL="WARNING", HUB_DB_POOL_SIZE=2)


# --- throughput -----------------------------------------------------------------------------

def _client(kind: str, hot: bool, db_name: str, prefix: str, seconds: float,
            ready: mp.Barrier, out: mp.Queue) -> None:
    """One benchmark client process: debit 1 credit in a loop for `seconds`."""
    sys.path.insert(0, str(PROJECT_ROOT))
    rng = random.Random()
    tag = uuid.uuid4().hex[:8]
    latencies: list[float] = []
    if kind == "ledger":
        from app import create_app
        from app.extensions import db
        from app.services import ledger

        app = create_app(bench_settings(db_name, prefix))
        ctx = app.app_context()
        ctx.push()
        db.connect()

        def debit(i: int, user_id: int) -> None:
            ledger.debit(user_id, 1, kind="usage", idempotency_key=f"b:{tag}:{i}")
    else:
        from app.models.ledger import LedgerEntry
        from scripts.bench.seeding import insert_parts

        conn = psycopg2.connect(database_url(db_name))
        cur = conn.cursor()
        entry = insert_parts(cur, LedgerEntry, {
            "account_id": "%(user_id)s", "amount_credits": "-1", "kind": "'usage'",
            "balance_after": "%(balance)s", "held_after": "%(held)s",
            "idempotency_key": "%(key)s", "created_at": "now()"})
        insert = f"INSERT INTO {entry.table} ({entry.columns}) VALUES ({entry.expressions})"
        conn.commit()

        def debit(i: int, user_id: int) -> None:
            cur.execute("UPDATE credit_accounts SET balance = balance - 1, updated_at = now() "
                        "WHERE user_id = %s RETURNING balance, held", (user_id,))
            balance, held = cur.fetchone()
            cur.execute(insert, {**entry.params, "user_id": user_id, "balance": balance,
                                 "held": held, "key": f"c:{tag}:{i}"})
            conn.commit()
    ready.wait()
    end, i = time.perf_counter() + seconds, 0
    while (start := time.perf_counter()) < end:
        debit(i, 1 if hot else rng.randint(1, SPREAD_ACCOUNTS))
        latencies.append(time.perf_counter() - start)
        i += 1
    out.put(latencies)


def measure_debits(kind: str, hot: bool, db_name: str, prefix: str, clients: int,
                   seconds: float) -> tuple[int, list[float]]:
    spawn = mp.get_context("spawn")
    ready, out = spawn.Barrier(clients), spawn.Queue()
    procs = [spawn.Process(target=_client, args=(kind, hot, db_name, prefix, seconds, ready, out))
             for _ in range(clients)]
    for proc in procs:
        proc.start()
    latencies = [lat for _ in procs for lat in out.get(timeout=seconds + 120)]
    for proc in procs:
        proc.join()
    return len(latencies), latencies


def seed_throughput_accounts(db_name: str) -> None:
    from app.models.ledger import CreditAccount, LedgerEntry
    from app.models.users import User
    from scripts.bench.seeding import insert_parts

    conn = psycopg2.connect(database_url(db_name))
    with conn, conn.cursor() as cur:
        users = insert_parts(cur, User, {"email": "'bench' || g || '@example.com'"})
        cur.execute(f"INSERT INTO {users.table} ({users.columns}) SELECT {users.expressions} "
                    "FROM generate_series(1, %(count)s) g",
                    {**users.params, "count": SPREAD_ACCOUNTS})
        accounts = insert_parts(cur, CreditAccount, {"user_id": "id", "balance": "%(funds)s"})
        cur.execute(f"INSERT INTO {accounts.table} ({accounts.columns}) "
                    f"SELECT {accounts.expressions} FROM {users.table}",
                    {**accounts.params, "funds": FUNDS})
        entries = insert_parts(cur, LedgerEntry, {
            "account_id": "user_id", "amount_credits": "%(funds)s", "kind": "'purchase'",
            "balance_after": "%(funds)s", "held_after": "0",
            "idempotency_key": "'seed:' || user_id"})
        cur.execute(f"INSERT INTO {entries.table} ({entries.columns}) "
                    f"SELECT {entries.expressions} FROM {accounts.table}",
                    {**entries.params, "funds": FUNDS})
    conn.close()


def throughput(db_name: str, prefix: str, clients: int, seconds: float,
               rounds: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    for workload, hot in (("spread", False), ("hot", True)):
        totals = {"ceiling": [0, []], "ledger": [0, []]}
        for _ in range(rounds):
            for kind in ("ceiling", "ledger"):  # interleaved, so both see the same machine
                count, latencies = measure_debits(kind, hot, db_name, prefix, clients, seconds)
                totals[kind][0] += count
                totals[kind][1].extend(latencies)
                print(f"  {workload:6} {kind:7} {count / seconds:8.0f} debits/s", flush=True)
        for kind, (count, latencies) in totals.items():
            results[f"{workload}/{kind}"] = {
                "per_s": count / (seconds * rounds),
                "p50_ms": statistics.median(latencies) * 1000,
                "p95_ms": statistics.quantiles(latencies, n=20)[18] * 1000}
    return results


# --- history at scale ----------------------------------------------------------------------

# The secondary indexes of the entries table, dropped while seeding and built again after from
# their own definitions (whatever the migrations made them).
INDEXES_SQL = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename = %(table)s
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid =
                  (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)
"""
# Entry k of an account with n entries: k = 1 a purchase, every 100th a refund, the rest usage
# of 3 credits; times spread evenly over the last 365 days; ids follow (account, k).
PLAN_SQL = """
WITH plan AS (
    SELECT g AS id, 1 AS account, g AS k, %(heavy)s AS n FROM generate_series(1, %(heavy)s) g
    UNION ALL
    SELECT %(heavy)s + g, 2 + (g - 1) / %(per_account)s, 1 + (g - 1) %% %(per_account)s,
           %(per_account)s
    FROM generate_series(1, %(spread)s) g
)
"""
ENTRY_VALUES = {
    "id": "id", "account_id": "account",
    "amount_credits": "CASE WHEN k = 1 THEN 3 * n + 1000 WHEN k %% 100 = 0 THEN 3 ELSE -3 END",
    "kind": "CASE WHEN k = 1 THEN 'purchase' WHEN k %% 100 = 0 THEN 'refund' ELSE 'usage' END",
    "balance_after": "3 * n + 1000 + 3 * (k / 100) - 3 * ((k - 1) - k / 100)",
    "held_after": "0", "idempotency_key": "'seed:' || id",
    "created_at": "now() - interval '365 days' + (interval '365 days' * k) / n",
}


def seed_history(db_name: str, entries: int, accounts: int) -> float:
    """Replace everything with `accounts` users whose ledgers hold `entries` entries in all, in
    bulk SQL through the live schema (see `scripts.bench.seeding`)."""
    from app.models.ledger import CreditAccount, LedgerEntry
    from app.models.users import User
    from scripts.bench.seeding import insert_parts

    per_account, heavy = layout(entries, accounts)
    sizes = {"accounts": accounts, "heavy": heavy, "per_account": per_account,
             "spread": per_account * (accounts - 1)}
    started = time.perf_counter()
    conn = psycopg2.connect(database_url(db_name))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")  # no per-row foreign-key triggers
        cur.execute("SET maintenance_work_mem = '512MB'")
        users = insert_parts(cur, User, {"id": "g", "email": "'h' || g || '@example.com'",
                                         "created_at": "now() - interval '400 days'"})
        ledger = insert_parts(cur, LedgerEntry, ENTRY_VALUES)
        balance = "3 * n + 1000 + 3 * (n / 100) - 3 * ((n - 1) - n / 100)"
        funded = insert_parts(cur, CreditAccount, {"user_id": "g", "balance": balance,
                                                   "updated_at": "now()"})
        cur.execute(f"TRUNCATE {users.table} RESTART IDENTITY CASCADE")
        cur.execute(INDEXES_SQL, {"table": ledger.table})
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute(f"INSERT INTO {users.table} ({users.columns}) SELECT {users.expressions} "
                    "FROM generate_series(1, %(accounts)s) g", {**users.params, **sizes})
        cur.execute(f"{PLAN_SQL} INSERT INTO {ledger.table} ({ledger.columns}) "
                    f"SELECT {ledger.expressions} FROM plan", {**ledger.params, **sizes})
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{ledger.table}', 'id'), "
                    f"(SELECT max(id) FROM {ledger.table}))")
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{users.table}', 'id'), %(accounts)s)",
                    sizes)
        cur.execute(f"INSERT INTO {funded.table} ({funded.columns}) SELECT {funded.expressions} "
                    "FROM (SELECT g, CASE WHEN g = 1 THEN %(heavy)s ELSE %(per_account)s END "
                    "AS n FROM generate_series(1, %(accounts)s) g) a", {**funded.params, **sizes})
        for _, definition in indexes:
            cur.execute(definition)
        cur.execute("SET session_replication_role = DEFAULT")
        cur.execute(f"VACUUM (ANALYZE) {ledger.table}")
        cur.execute(f"VACUUM (ANALYZE) {funded.table}")
    conn.close()
    return time.perf_counter() - started


RETENTION_DAYS = 90
JOB_VALUES = {"id": "md5(e.id::text)", "user_id": "e.account_id", "type": "'chat'",
              "status": "'succeeded'", "model": "'m' || (e.id %% 3)", "provider": "'local'",
              "request_json": "repeat('x', 2000)", "price_id": "0", "result_text": "'answer'",
              "cost_credits": "3", "created_at": "e.created_at", "finished_at": "e.created_at"}
RECORD_VALUES = {"job_id": "md5(e.id::text)", "user_id": "e.account_id",
                 "model": "'m' || (e.id %% 3)", "provider": "'local'", "status": "'succeeded'",
                 "input_tokens": "100", "output_tokens": "20", "cost_credits": "3",
                 "created_at": "e.created_at"}


def seed_usage(db_name: str) -> tuple[int, float]:
    """A settled job and its usage record for each usage entry, written in time order as the
    hub writes them (the entries are laid out account by account: records copied in that order
    scatter each day over the whole table, which no deployment has and which misleads the
    planner after a pass); (records, seconds)."""
    from app.models.jobs import Job, UsageRecord
    from scripts.bench.seeding import insert_parts

    started = time.perf_counter()
    conn = psycopg2.connect(database_url(db_name))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("SET work_mem = '256MB'")
        for model, values in ((Job, JOB_VALUES), (UsageRecord, RECORD_VALUES)):
            parts = insert_parts(cur, model, values)
            cur.execute(f"INSERT INTO {parts.table} ({parts.columns}) SELECT {parts.expressions} "
                        "FROM (SELECT id, account_id, created_at FROM ledger_entries "
                        "WHERE kind = 'usage' ORDER BY created_at, id) e", parts.params)
        cur.execute("SET session_replication_role = DEFAULT")
        cur.execute("VACUUM (ANALYZE) jobs")
        cur.execute("VACUUM (ANALYZE) usage_records")
        cur.execute("SELECT COUNT(*) FROM usage_records")
        records = cur.fetchone()[0]
    conn.close()
    return records, time.perf_counter() - started


# The back office's 30-day summary reads (app.services.usage_report), written out for EXPLAIN;
# %(since)s is its window's start, as the service binds it.
SUMMARY_PLAN_SQL = {
    "records": "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT model, date(created_at), count(id), "
               "sum(input_tokens), sum(output_tokens), sum(video_seconds), sum(cost_credits) "
               "FROM usage_records WHERE created_at >= %(since)s GROUP BY 1, 2",
    "daily probe": "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT max(day) FROM usage_daily",
}


def retention_pass(db_name: str, prefix: str, samples: int) -> dict:
    """Time the 30-day usage summary, one retention pass, the summary right after it (nothing
    analysed yet), then again after the VACUUM and ANALYZE autovacuum would run."""
    from datetime import datetime, timedelta
    from datetime import time as dt_time

    from app import create_app
    from app.extensions import db
    from app.models.base import utcnow
    from app.services.retention import apply_retention
    from app.services.usage_report import usage_summary

    app = create_app(bench_settings(db_name, prefix))
    with app.app_context(), db.connection_context():
        def summary_ms() -> dict:
            usage_summary()
            out = []
            for _ in range(samples):
                start = time.perf_counter()
                usage_summary()
                out.append(time.perf_counter() - start)
            return _p(out)

        def plans() -> dict[str, list[str]]:
            since = datetime.combine((utcnow() - timedelta(days=30)).date(), dt_time())
            return {name: [row[0] for row in db.execute_sql(sql, {"since": since}).fetchall()]
                    for name, sql in SUMMARY_PLAN_SQL.items()}

        before, plans_before = summary_ms(), plans()
        total_before = usage_summary(days=400).total
        started = time.perf_counter()
        report = apply_retention(utcnow(), RETENTION_DAYS)
        pass_s = time.perf_counter() - started
        right_after, plans_right_after = summary_ms(), plans()
        db.execute_sql("VACUUM (ANALYZE) usage_records")
        db.execute_sql("ANALYZE usage_daily")
        after, plans_after = summary_ms(), plans()
        total_after = usage_summary(days=400).total
    return {"pass_s": pass_s, "report": report, "summary_before": before,
            "summary_right_after": right_after, "summary_after": after,
            "plans": {"before the pass": plans_before,
                      "right after the pass": plans_right_after,
                      "after VACUUM (ANALYZE)": plans_after},
            "totals_equal": total_before == total_after}


def layout(entries: int, accounts: int) -> tuple[int, int]:
    """(entries of each typical account, entries of the deep account 1)."""
    per_account = int(entries * (1 - DEEP_SHARE)) // (accounts - 1)
    return per_account, entries - per_account * (accounts - 1)


def _p(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": statistics.median(samples) * 1000,
            "p95_ms": statistics.quantiles(samples, n=20)[18] * 1000}


def history(db_name: str, prefix: str, accounts: int, samples: int) -> dict[str, dict]:
    from datetime import timedelta

    from app import create_app
    from app.extensions import db
    from app.models.base import utcnow
    from app.models.ledger import LedgerEntry
    from app.services.cursors import encode_cursor
    from app.services.ledger.history import HistoryFilter, list_entries, usage_per_day

    app = create_app(bench_settings(db_name, prefix))
    rng = random.Random(7)
    results: dict[str, dict] = {}
    with app.app_context(), db.connection_context():

        def cursor_at(user_id: int, kind: str | None = None) -> str | None:
            """A cursor at a random depth: the first entry after a random time of the year."""
            since = utcnow() - timedelta(days=365 * rng.random())
            query = LedgerEntry.select(LedgerEntry.id, LedgerEntry.created_at).where(
                (LedgerEntry.account == user_id) & (LedgerEntry.created_at >= since))
            if kind:
                query = query.where(LedgerEntry.kind == kind)
            row = query.order_by(LedgerEntry.created_at, LedgerEntry.id).first()
            return encode_cursor(row.created_at, row.id) if row else None

        def timed(fn, arg_sets) -> list[float]:
            out = []
            for args in arg_sets:
                start = time.perf_counter()
                fn(*args)
                out.append(time.perf_counter() - start)
            return out

        cases = {
            "history page, deep account, random depth": (
                lambda c: list_entries(1, cursor=c, limit=50),
                [(cursor_at(1),) for _ in range(samples)]),
            "history page of refunds, deep account, random depth": (
                lambda c: list_entries(1, cursor=c, limit=50,
                                       where=HistoryFilter(kind="refund")),
                [(cursor_at(1, "refund"),) for _ in range(samples)]),
            "history page, typical account, random depth": (
                lambda u, c: list_entries(u, cursor=c, limit=50),
                [(u, cursor_at(u)) for u in
                 (rng.randint(2, accounts) for _ in range(samples))]),
            "30-day usage per day, deep account": (
                lambda: usage_per_day(1, days=30), [() for _ in range(samples)]),
            "30-day usage per day, typical account": (
                lambda u: usage_per_day(u, days=30),
                [(rng.randint(2, accounts),) for _ in range(samples)]),
        }
        for name, (fn, arg_sets) in cases.items():
            fn(*arg_sets[0])  # warm the connection and the plan
            results[name] = _p(timed(fn, arg_sets))
            print(f"  {name}: p50 {results[name]['p50_ms']:.2f} ms, "
                  f"p95 {results[name]['p95_ms']:.2f} ms", flush=True)
        plans = {}
        for name, sql in (
                ("page", "EXPLAIN (ANALYZE, COSTS OFF) SELECT * FROM ledger_entries WHERE account_id = 1 AND "
                         "(created_at, id) < (now() - interval '200 days', 1000000) ORDER BY "
                         "created_at DESC, id DESC LIMIT 51"),
                ("usage", "EXPLAIN (ANALYZE, COSTS OFF) SELECT date_trunc('day', created_at), SUM(amount_credits), "
                          "COUNT(id) FROM ledger_entries WHERE account_id = 1 AND kind = 'usage' "
                          "AND created_at >= now() - interval '30 days' GROUP BY 1")):
            plans[name] = [row[0] for row in db.execute_sql(sql).fetchall()]
        results["plans"] = plans
    return results


def checker(db_name: str, prefix: str) -> tuple[bool, float, int]:
    from app import create_app
    from app.extensions import db
    from app.services.ledger.checker import check_ledger

    app = create_app(bench_settings(db_name, prefix))
    with app.app_context(), db.connection_context():
        started = time.perf_counter()
        report = check_ledger()
        return report.ok, time.perf_counter() - started, report.entries


def report(args, debits, seeding_s, hist, checks) -> None:
    print("\n## Ledger benchmark results\n")
    print(f"{args.clients} client processes, {args.rounds} × {args.seconds:g} s per figure, "
          "interleaved; PostgreSQL default synchronous_commit.\n")
    print("| debits | ceiling (bare SQL) /s | ledger service /s | ratio | ledger p50 / p95 ms |")
    print("|---|---|---|---|---|")
    for workload, label in (("spread", f"over {SPREAD_ACCOUNTS:,} accounts"),
                            ("hot", "one hot account")):
        ceiling, service = debits[f"{workload}/ceiling"], debits[f"{workload}/ledger"]
        print(f"| {label} | {ceiling['per_s']:,.0f} | {service['per_s']:,.0f} | "
              f"{service['per_s'] / ceiling['per_s']:.2f} | "
              f"{service['p50_ms']:.1f} / {service['p95_ms']:.1f} |")
    print(f"\nInvariant check after the debit runs: {checks[0]}\n")
    if hist is None:
        return
    per_account, heavy = layout(args.entries, args.accounts)
    print(f"History: {args.entries:,} entries over {args.accounts:,} accounts seeded in "
          f"{seeding_s:.0f} s (one deep account holds {heavy:,}, the others {per_account:,} "
          f"each); {args.samples} samples each.\n")
    print("| query | p50 ms | p95 ms |")
    print("|---|---|---|")
    for name, figures in hist.items():
        if name != "plans":
            print(f"| {name} | {figures['p50_ms']:.2f} | {figures['p95_ms']:.2f} |")
    print(f"\nInvariant check of the seeded ledger: {checks[1]}\n")
    for name, lines in hist["plans"].items():
        print(f"Plan ({name}):\n" + "\n".join(f"    {line}" for line in lines) + "\n")


def retention_step(args, db_name: str, prefix: str) -> None:
    print("seeding jobs and usage records...", flush=True)
    records, seeded_s = seed_usage(db_name)
    entries_before = checker(db_name, prefix)[2]
    result = retention_pass(db_name, prefix, args.summary_samples)
    print("history after the retention pass:", flush=True)
    hist = history(db_name, prefix, args.accounts, args.samples)
    ok, check_s, entries = checker(db_name, prefix)
    r = result["report"]
    print(f"\n## Retention ({RETENTION_DAYS} days)\n")
    print(f"{records:,} usage records and jobs seeded in {seeded_s:.0f} s; one pass in "
          f"{result['pass_s']:.1f} s: {r.usage_records_rolled_up:,} records rolled up into "
          f"{r.daily_rows_upserted:,} daily rows, {r.jobs_stripped:,} jobs stripped, "
          f"{r.batches:,} batches. Usage totals unchanged: {result['totals_equal']}. Ledger "
          f"entries before/after: {entries_before:,}/{entries:,}; check "
          f"{'clean' if ok else 'VIOLATIONS'} ({check_s:.1f} s). Load average at the end "
          f"(1/5/15 min): {' / '.join(f'{x:.2f}' for x in os.getloadavg())}.\n")
    print("| query | p50 ms | p95 ms |")
    print("|---|---|---|")
    for name, label in (("summary_before", "before the pass"),
                        ("summary_right_after", "right after the pass"),
                        ("summary_after", "after VACUUM (ANALYZE)")):
        figures = result[name]
        print(f"| back-office 30-day usage summary, {label} | {figures['p50_ms']:.2f} | "
              f"{figures['p95_ms']:.2f} |")
    for name, figures in hist.items():
        if name != "plans":
            print(f"| {name} (after the pass) | {figures['p50_ms']:.2f} | "
                  f"{figures['p95_ms']:.2f} |")
    for when, plans in result["plans"].items():
        for name, lines in plans.items():
            print(f"\nPlan (summary, {name}, {when}):\n" +
                  "\n".join(f"    {line}" for line in lines))


def main() -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    from app import create_app, migrations
    from scripts.bench.sizes import parse_sizes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debits-only", action="store_true", help="skip the history part")
    parser.add_argument("--retention", action="store_true",
                        help="then seed jobs and usage records, run a retention pass, and time "
                             "the history queries again")
    args = parse_sizes(parser, {
        "seconds": (5.0, 0.5, "seconds per measurement"),
        "rounds": (2, 1, "interleaved rounds per figure"),
        "clients": (8, 1, "client processes"),
        "entries": (5_000_000, 2_000, "ledger entries seeded for the history part"),
        "accounts": (10_000, 20, "accounts they belong to"),
        "samples": (300, 5, "samples per history query"),
        "summary-samples": (50, 5, "samples of the usage summary, each time (--retention)"),
    })

    run_id = uuid.uuid4().hex[:8]
    db_name, prefix = f"hub_bench_{run_id}", f"hubbench:{run_id}:"
    admin(f'CREATE DATABASE "{db_name}"')
    try:
        with create_app(bench_settings(db_name, prefix)).app_context():
            migrations.upgrade()
        seed_throughput_accounts(db_name)
        print("debits (interleaved):", flush=True)
        debits = throughput(db_name, prefix, args.clients, args.seconds, args.rounds)
        ok, check_s, entries = checker(db_name, prefix)
        first_check = f"{'clean' if ok else 'VIOLATIONS'} ({entries:,} entries, {check_s:.1f} s)"
        if args.debits_only:
            report(args, debits, None, None, (first_check, None))
            return
        print("seeding history...", flush=True)
        seeding_s = seed_history(db_name, args.entries, args.accounts)
        print(f"  seeded in {seeding_s:.0f} s", flush=True)
        hist = history(db_name, prefix, args.accounts, args.samples)
        ok, check_s, entries = checker(db_name, prefix)
        second_check = f"{'clean' if ok else 'VIOLATIONS'} ({entries:,} entries, {check_s:.1f} s)"
        report(args, debits, seeding_s, hist, (first_check, second_check))
        if args.retention:
            retention_step(args, db_name, prefix)
    finally:
        from app.extensions import db

        if db.obj is not None and hasattr(db.obj, "close_all"):
            db.obj.close_all()
        admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        from scripts.bench.cleanup import delete_redis_keys

        delete_redis_keys(REDIS_URL, prefix)


if __name__ == "__main__":
    main()
