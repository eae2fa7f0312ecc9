"""KPI benchmark: `python -m scripts.bench.kpis`.

Creates its own PostgreSQL database (dropped at the end), seeds a year of a busy hub with bulk
SQL through the live schema (`scripts.bench.seeding`), and times the queries behind the
back-office home and the dashboard (`app.services.kpis`), through the service functions the
pages call:

- `--entries` ledger entries over `--accounts` accounts, spread evenly over 365 days (one deep
  account holds a tenth of them; every 1,000th entry is a purchase, with its payment, every
  5,000th a promo code, the rest usage charges);
- a settled job per usage entry (a fiftieth failed, a two-hundredth canceled; six models on
  four providers), and its usage record for the last `--record-days` days; the older usage is
  in `usage_daily`, as a retention pass of that many days leaves it.

Each query's p50/p95 over `--samples` calls, for the last 1, 7 and 30 days, and the time
PostgreSQL spent on its statements (EXPLAIN ANALYZE of each, once), checking that none reads
`ledger_entries`, `jobs`, `usage_records` or `usage_daily` with a sequential scan. `--before`
also builds the indexes migration 019 replaced and times every query on them too, sample by
sample in turn with the new ones (each in a transaction that drops the other set, rolled back).
`--smoke` runs it all at tiny sizes (`scripts.bench.sizes`) with sequential scans disabled for
the EXPLAIN, so the check still says whether an index can serve each query.
"""

from __future__ import annotations

import argparse
import importlib
import os
import random
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg2

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BIG_TABLES = ("ledger_entries", "jobs", "usage_records", "usage_daily")
MODELS = (("gpt-4o-mini", "openai"), ("gpt-4o", "openai"), ("claude-sonnet-4", "anthropic"),
          ("claude-haiku-4", "anthropic"), ("veo-3.1-generate-preview", "google"),
          ("local-echo", "local"))
NOW = "timezone('UTC', now())"


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


# --- seeding ----------------------------------------------------------------------------------

def _array(values: list[str]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


MODEL_OF = f"({_array([m for m, _ in MODELS])})[1 + e.id %% {len(MODELS)}]"
PROVIDER_OF = f"({_array([p for _, p in MODELS])})[1 + e.id %% {len(MODELS)}]"
STATUS_OF = ("CASE WHEN e.id %% 200 = 3 THEN 'canceled' WHEN e.id %% 50 = 7 THEN 'failed' "
             "ELSE 'succeeded' END")
# Entry g: one in ten belongs to the deep account 1, the others go round the rest; every
# 1,000th a purchase, every 5,000th a promo, the rest usage; times evenly over 365 days.
ENTRY_VALUES = {
    "id": "g", "account_id": "CASE WHEN g %% 10 = 0 THEN 1 ELSE 2 + g %% (%(accounts)s - 1) END",
    "kind": "CASE WHEN g %% 1000 = 1 THEN 'purchase' WHEN g %% 5000 = 2 THEN 'promo' "
            "ELSE 'usage' END",
    "amount_credits": "CASE WHEN g %% 1000 = 1 THEN 500000 WHEN g %% 5000 = 2 THEN 10000 "
                      "ELSE -(3 + g %% 97) END",
    "balance_after": "0", "held_after": "0", "idempotency_key": "'seed:' || g",
    "reference": "md5(g::text)",
    "created_at": f"{NOW} - interval '365 days' + (interval '365 days' * g) / %(entries)s",
}
JOB_VALUES = {
    "id": "e.reference", "user_id": "e.account_id",
    "type": "CASE WHEN e.id %% 6 = 4 THEN 'video' ELSE 'chat' END", "status": STATUS_OF,
    "outcome": STATUS_OF, "model": MODEL_OF, "provider": PROVIDER_OF, "channel": PROVIDER_OF,
    "request_json": "'{\"retained\": true}'", "price_id": "0", "hold_credits": "-e.amount_credits",
    "cost_credits": "-e.amount_credits", "input_tokens": "e.id %% 4000",
    "output_tokens": "e.id %% 700", "error_code": f"CASE WHEN {STATUS_OF} = 'failed' "
                                                  "THEN 'upstream_error' END",
    "created_at": "e.created_at - interval '3 seconds'", "started_at": "e.created_at",
    "finished_at": "e.created_at", "enqueued_at": "e.created_at",
}
RECORD_VALUES = {
    "job_id": "e.reference", "user_id": "e.account_id", "model": MODEL_OF,
    "provider": PROVIDER_OF, "status": STATUS_OF, "input_tokens": "e.id %% 4000",
    "output_tokens": "e.id %% 700", "video_seconds": "CASE WHEN e.id %% 6 = 4 THEN 8 ELSE 0 END",
    "cost_credits": "-e.amount_credits", "created_at": "e.created_at",
}
PAYMENT_VALUES = {
    "user_id": "e.account_id", "package_slug": "'starter'", "package_name": "'Starter'",
    "amount_cents": "500", "currency": "'usd'", "amount_credits": "e.amount_credits",
    "status": "'paid'", "stripe_session_id": "'cs_seed_' || e.id", "ledger_entry_id": "e.id",
    "created_at": "e.created_at", "credited_at": "e.created_at",
}
# The secondary indexes of a table (not those behind a constraint), with their definitions.
INDEXES_SQL = """
SELECT i.indexname, i.indexdef FROM pg_indexes i
WHERE i.schemaname = current_schema() AND i.tablename = %(table)s
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid =
                  (quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)
"""
SEEDED = ("users", "credit_accounts", "ledger_entries", "jobs", "usage_records", "usage_daily",
          "payments")


def seed(db_name: str, args: argparse.Namespace) -> dict:
    """Fill the tables in bulk with their secondary indexes dropped, then build the indexes
    again from their own definitions (timed: migration 019's are what a deploy waits for)."""
    from app.models.jobs import Job, UsageRecord
    from app.models.ledger import CreditAccount, LedgerEntry
    from app.models.payments import Payment
    from app.models.users import User
    from scripts.bench.seeding import insert_parts

    sizes = {"entries": args.entries, "accounts": args.accounts,
             "record_days": args.record_days}
    started = time.perf_counter()
    conn = psycopg2.connect(database_url(db_name))
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET session_replication_role = replica")  # no per-row foreign-key triggers
    cur.execute("SET maintenance_work_mem = '512MB'")
    indexes = []
    for table in SEEDED:
        cur.execute(INDEXES_SQL, {"table": table})
        indexes += cur.fetchall()
    for name, _ in indexes:
        cur.execute(f'DROP INDEX "{name}"')
    users = insert_parts(cur, User, {"id": "g", "email": "'k' || g || '@example.com'"})
    cur.execute(f"INSERT INTO {users.table} ({users.columns}) SELECT {users.expressions} "
                "FROM generate_series(1, %(accounts)s) g", {**users.params, **sizes})
    cur.execute(f"SELECT setval(pg_get_serial_sequence('{users.table}', 'id'), %(accounts)s)",
                sizes)
    funded = insert_parts(cur, CreditAccount, {"user_id": "id", "balance": "1000000000"})
    cur.execute(f"INSERT INTO {funded.table} ({funded.columns}) SELECT {funded.expressions} "
                f"FROM {users.table}", funded.params)
    entries = insert_parts(cur, LedgerEntry, ENTRY_VALUES)
    cur.execute(f"INSERT INTO {entries.table} ({entries.columns}) SELECT {entries.expressions} "
                "FROM generate_series(1, %(entries)s) g", {**entries.params, **sizes})
    cur.execute(f"SELECT setval(pg_get_serial_sequence('{entries.table}', 'id'), %(entries)s)",
                sizes)
    usage = "FROM ledger_entries e WHERE e.kind = 'usage'"
    recent = f"e.created_at >= {NOW} - interval '1 day' * %(record_days)s"
    for model, values, where in ((Job, JOB_VALUES, usage),
                                 (UsageRecord, RECORD_VALUES, f"{usage} AND {recent}"),
                                 (Payment, PAYMENT_VALUES,
                                  "FROM ledger_entries e WHERE e.kind = 'purchase'")):
        parts = insert_parts(cur, model, values)
        cur.execute(f"INSERT INTO {parts.table} ({parts.columns}) SELECT {parts.expressions} "
                    f"{where}", {**parts.params, **sizes})
    cur.execute(f"""
        INSERT INTO usage_daily (user_id, day, model, provider, jobs, input_tokens,
                                 output_tokens, video_seconds, cost_credits)
        SELECT e.account_id, e.created_at::date, {MODEL_OF}, {PROVIDER_OF}, count(*),
               sum(e.id %% 4000), sum(e.id %% 700),
               sum(CASE WHEN e.id %% 6 = 4 THEN 8 ELSE 0 END), sum(-e.amount_credits)
        {usage} AND NOT ({recent}) GROUP BY 1, 2, 3, 4""", sizes)
    seeded_s = time.perf_counter() - started
    builds = {}
    for name, definition in indexes:
        began = time.perf_counter()
        cur.execute(definition)
        builds[name] = time.perf_counter() - began
    cur.execute("SET session_replication_role = DEFAULT")
    for table in SEEDED:
        cur.execute(f"VACUUM (ANALYZE) {table}")
    counts = {}
    for table in SEEDED:
        cur.execute(f"SELECT count(*) FROM {table}")
        counts[table] = cur.fetchone()[0]
    conn.close()
    return {"seconds": seeded_s, "total_seconds": time.perf_counter() - started,
            "builds": builds, "counts": counts}


# --- the queries ------------------------------------------------------------------------------

def cases(accounts: int, rng: random.Random) -> dict[str, Callable[[], object]]:
    from app.services.kpis import overview, period
    from app.services.kpis.account import account_summary, account_version
    from app.services.kpis.jobs import job_counts
    from app.services.kpis.sales import sales
    from app.services.kpis.usage import active_users, usage_totals

    found: dict[str, Callable[[], object]] = {}
    for days in (1, 7, 30):
        found[f"money in (ledger, payments), {days} d"] = lambda d=days: sales(period(d))
        found[f"spent per model, provider and {'hour' if days == 1 else 'day'}, {days} d"] = \
            lambda d=days: usage_totals(period(d))
        found[f"active users, {days} d"] = lambda d=days: active_users(period(d))
        found[f"jobs by status and provider, {days} d"] = lambda d=days: job_counts(period(d))
        found[f"whole back-office home, {days} d"] = lambda d=days: overview(d)
    for days in (7, 30):
        found[f"dashboard, deep account, {days} d"] = lambda d=days: account_summary(1, d)
        found[f"dashboard, typical account, {days} d"] = \
            lambda d=days: account_summary(rng.randint(2, accounts), d)
    found["dashboard poll (ETag), deep account"] = lambda: account_version(1, 7)
    found["dashboard poll (ETag), typical account"] = \
        lambda: account_version(rng.randint(2, accounts), 7)
    return found


def _p(samples: list[float]) -> dict[str, float]:
    if len(samples) < 2:
        return {"p50_ms": samples[0] * 1000, "p95_ms": samples[0] * 1000}
    return {"p50_ms": statistics.median(samples) * 1000,
            "p95_ms": statistics.quantiles(samples, n=20)[18] * 1000}


def measure(db_name: str, prefix: str, accounts: int, samples: int, *, compare: bool,
            no_seqscan: bool) -> dict[str, dict[str, dict]]:
    """Each case's timings (and its statements' plans) with migration 019's indexes and, with
    `compare`, with the indexes before it, sample by sample in turn (so both see the same
    machine): each state is a transaction that drops the other state's indexes, rolled back."""
    from app import create_app
    from app.extensions import db

    migration = importlib.import_module("migrations.019_kpi_indexes")
    states = {"after": [name for name, *_ in migration.REPLACED]}
    if compare:
        states["before"] = [name for name, *_ in migration.NEW]
    app = create_app(bench_settings(db_name, prefix))
    results: dict[str, dict[str, dict]] = {}
    with app.app_context(), db.connection_context():
        for name, call in cases(accounts, random.Random(11)).items():
            plans = {}
            for state, hidden in states.items():
                with hiding(db, hidden):
                    statements = recorded(db, call)  # also warms the connection and the plans
                    plans[state] = [plan(db, sql, params, no_seqscan and state == "after")
                                    for sql, params in statements]
            timings: dict[str, list[float]] = {state: [] for state in states}
            for _ in range(samples):
                for state, hidden in states.items():
                    with hiding(db, hidden):
                        start = time.perf_counter()
                        call()
                        timings[state].append(time.perf_counter() - start)
            results[name] = {state: {**_p(timings[state]), "plans": plans[state],
                                     "sql_ms": sum(p["execution_ms"] for p in plans[state])}
                             for state in states}
            print(f"  {name}: " + "; ".join(
                f"{state} p50 {figures['p50_ms']:.2f} ms, p95 {figures['p95_ms']:.2f} ms"
                for state, figures in results[name].items()), flush=True)
    return results


@contextmanager
def hiding(db, indexes: list[str]) -> Iterator[None]:
    """Run the block in a transaction where `indexes` do not exist (dropped, then rolled
    back: the planner does not see them, and nothing is rebuilt)."""
    with db.atomic() as transaction:
        for name in indexes:
            db.execute_sql(f"DROP INDEX IF EXISTS {name}")
        yield
        transaction.rollback()


def recorded(db, call: Callable[[], object]) -> list[tuple[str, tuple]]:
    """Run `call` once, noting the SELECTs it sent to the database."""
    statements: list[tuple[str, tuple]] = []
    target = db.obj
    original = target.execute_sql

    def noting(sql, params=None, *args, **kwargs):
        if sql.lstrip().upper().startswith("SELECT"):
            statements.append((sql, params))
        return original(sql, params, *args, **kwargs)

    target.execute_sql = noting
    try:
        call()
    finally:
        del target.execute_sql
    return statements


SCAN = re.compile(r"(Seq Scan|Parallel Seq Scan|Index Only Scan|Index Scan|Bitmap Heap Scan)"
                  r"(?: Backward)?(?: using (\S+))? on (\w+)")


def plan(db, sql: str, params: tuple | None, no_seqscan: bool) -> dict:
    """The scans of one statement's plan; `bad` lists the big tables read sequentially."""
    if no_seqscan:
        db.execute_sql("SET enable_seqscan = off")
    try:
        lines = [row[0] for row in db.execute_sql(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql, params).fetchall()]
    finally:
        if no_seqscan:
            db.execute_sql("SET enable_seqscan = on")
    scans, heap_fetches, execution_ms = [], 0, 0.0
    for line in lines:
        spent = re.search(r"Execution Time: ([\d.]+) ms", line)
        if spent:
            execution_ms += float(spent.group(1))
        match = SCAN.search(line)
        if match:
            scans.append((match.group(1), match.group(2), match.group(3)))
        fetched = re.search(r"Heap Fetches: (\d+)", line)
        if fetched:
            heap_fetches += int(fetched.group(1))
    bad = sorted({table for kind, _, table in scans if "Seq Scan" in kind and table in BIG_TABLES})
    return {"scans": scans, "bad": bad, "heap_fetches": heap_fetches, "lines": lines,
            "execution_ms": execution_ms}


# --- indexes before migration 019 --------------------------------------------------------------

def add_replaced_indexes(db_name: str) -> float:
    """Build the indexes migration 019 replaced beside its own (each measurement then hides
    one set), as its rollback builds them."""
    migration = importlib.import_module("migrations.019_kpi_indexes")
    started = time.perf_counter()
    conn = psycopg2.connect(database_url(db_name))
    conn.autocommit = True
    with conn.cursor() as cur:
        for name, table, column in migration.REPLACED:
            cur.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column})")
        for table in SEEDED:
            cur.execute(f"ANALYZE {table}")
    conn.close()
    return time.perf_counter() - started


# --- report -----------------------------------------------------------------------------------

def report(args, seeded: dict, results: dict[str, dict[str, dict]]) -> None:
    migration = importlib.import_module("migrations.019_kpi_indexes")
    counts = seeded["counts"]
    compare = args.before
    print("\n## KPI benchmark results\n")
    print(f"Seeded {counts['ledger_entries']:,} ledger entries over {counts['users']:,} accounts, "
          f"{counts['jobs']:,} jobs, {counts['usage_records']:,} usage records (last "
          f"{args.record_days} days), {counts['usage_daily']:,} daily rows, "
          f"{counts['payments']:,} payments in {seeded['seconds']:.0f} s; indexes built in "
          f"{sum(seeded['builds'].values()):.0f} s; {args.samples} samples per query"
          + (", interleaved with the indexes before migration 019" if compare else "") + ".\n")
    print("Migration 019's indexes at this scale (build time, seconds): " + ", ".join(
        f"{name} {seeded['builds'].get(name, 0):.1f}" for name, *_ in migration.NEW) + "\n")
    print("| query | p50 ms | p95 ms | SQL ms |" +
          (" before 019: p50 ms | p95 ms | SQL ms |" if compare else ""))
    print("|---|---|---|---|" + ("---|---|---|" if compare else ""))
    for name, states in results.items():
        print(f"| {name} | " + " | ".join(
            f"{figures['p50_ms']:.2f} | {figures['p95_ms']:.2f} | {figures['sql_ms']:.2f}"
            for figures in states.values()) + " |")
    bad = {name: sorted({t for p in states["after"]["plans"] for t in p["bad"]})
           for name, states in results.items()
           if any(p["bad"] for p in states["after"]["plans"])}
    mode = " (sequential scans disabled)" if args.smoke else ""
    if bad:
        print(f"\nPlan check{mode}: SEQUENTIAL SCANS in " +
              "; ".join(f"{name}: {', '.join(tables)}" for name, tables in bad.items()))
    else:
        print(f"\nPlan check{mode}: every query reads ledger_entries, jobs, usage_records and "
              "usage_daily through an index")
    for state in results[next(iter(results))]:
        title = "with migration 019" if state == "after" else "before migration 019"
        print(f"\nScans per query {title} (index, table; heap fetches):\n")
        for name, states in results.items():
            plans = states[state]["plans"]
            scans = sorted({f"{kind} using {index or '-'} on {table}" for p in plans
                            for kind, index, table in p["scans"] if table in BIG_TABLES})
            fetches = sum(p["heap_fetches"] for p in plans)
            print(f"- {name}: {'; '.join(scans)}; heap fetches {fetches:,}")


def main() -> None:
    sys.path.insert(0, str(PROJECT_ROOT))
    from app import create_app, migrations
    from scripts.bench.sizes import parse_sizes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", action="store_true",
                        help="also time every query on the indexes before migration 019, "
                             "interleaved")
    parser.add_argument("--keep", action="store_true", help="keep the database (prints its name)")
    args = parse_sizes(parser, {
        "entries": (5_000_000, 20_000, "ledger entries seeded over a year"),
        "accounts": (10_000, 20, "accounts they belong to"),
        "record-days": (90, 90, "days of usage records; older usage is in usage_daily"),
        "samples": (50, 3, "samples per query"),
    })
    run_id = uuid.uuid4().hex[:8]
    db_name, prefix = f"hub_bench_{run_id}", f"hubbench:{run_id}:"
    admin(f'CREATE DATABASE "{db_name}"')
    try:
        with create_app(bench_settings(db_name, prefix)).app_context():
            migrations.upgrade()
        print("seeding...", flush=True)
        seeded = seed(db_name, args)
        print(f"  seeded in {seeded['seconds']:.0f} s, indexes in "
              f"{sum(seeded['builds'].values()):.0f} s: {seeded['counts']}", flush=True)
        if args.before:
            print(f"  the indexes before 019 built beside them in "
                  f"{add_replaced_indexes(db_name):.0f} s", flush=True)
        print("queries:", flush=True)
        results = measure(db_name, prefix, args.accounts, args.samples, compare=args.before,
                          no_seqscan=args.smoke)
        report(args, seeded, results)
    finally:
        from app.extensions import db

        if db.obj is not None and hasattr(db.obj, "close_all"):
            db.obj.close_all()
        if args.keep:
            print(f"\nkept database {db_name}")
        else:
            admin(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        from scripts.bench.cleanup import delete_redis_keys

        delete_redis_keys(REDIS_URL, prefix)


if __name__ == "__main__":
    main()
