"""Every benchmark runs: each one's `--smoke` mode (tiny sizes, one round) end to end, as a
subprocess, against the real PostgreSQL, Redis and RabbitMQ. It must exit 0 and print its
report with every field; no figure is asserted, only that there is one. A schema or API change
that breaks a benchmark fails here, not on the day someone wants its figures."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest
from peewee import CharField, Model

from scripts.bench.seeding import insert_parts

ROOT = Path(__file__).resolve().parent.parent
NUMBER = r"[\d,]+(?:\.\d+)?"


def run_smoke(module: str, *args: str, timeout_s: float = 100) -> str:
    done = subprocess.run([sys.executable, "-m", f"scripts.bench.{module}", "--smoke", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout_s,
                          check=False)
    assert done.returncode == 0, f"{module} --smoke exited {done.returncode}:\n{done.stderr[-4000:]}"
    return done.stdout


def json_lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@pytest.mark.slow
def test_ledger_benchmark_smoke() -> None:
    out = run_smoke("ledger", "--retention")
    assert "## Ledger benchmark results" in out
    for label in ("over 1,000 accounts", "one hot account"):
        row = rf"^\| {label} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} / {NUMBER} \|$"
        assert re.search(row, out, re.MULTILINE), f"no debit figures for {label!r}:\n{out}"
    assert "Invariant check after the debit runs: clean" in out, out
    assert re.search(r"^History: 2,000 entries over 20 accounts seeded", out, re.MULTILINE), out
    for query in ("history page, deep account, random depth",
                  "history page of refunds, deep account, random depth",
                  "history page, typical account, random depth",
                  "30-day usage per day, deep account",
                  "30-day usage per day, typical account"):
        row = rf"^\| {re.escape(query)} \| {NUMBER} \| {NUMBER} \|$"
        assert re.search(row, out, re.MULTILINE), f"no figures for {query!r}:\n{out}"
    assert "Invariant check of the seeded ledger: clean" in out, out
    # the indexes dropped for the seeding are back: the queries use them
    assert "Index Scan Backward using ledgerentry_account_id_created_at_id" in out, out
    assert "Index Only Scan using ledgerentry_account_id_kind_created_at_id_amount_cr" in out, out
    # --retention: a pass, the usage totals and the ledger unchanged, the summary timed thrice
    assert re.search(rf"one pass in {NUMBER} s: {NUMBER} records rolled up into {NUMBER} daily "
                     rf"rows, {NUMBER} jobs stripped, {NUMBER} batches\. Usage totals unchanged: "
                     rf"True\. Ledger entries before/after: 2,000/2,000; check clean", out), out
    for when in ("before the pass", "right after the pass", "after VACUUM \\(ANALYZE\\)"):
        row = rf"^\| back-office 30-day usage summary, {when} \| {NUMBER} \| {NUMBER} \|$"
        assert re.search(row, out, re.MULTILINE), f"no summary figures {when!r}:\n{out}"
    assert "Index Only Scan Backward using usagedaily_day" in out, out


KPI_QUERIES = ("money in (ledger, payments)", "active users", "jobs by status and provider",
               "whole back-office home")


@pytest.mark.slow
def test_kpi_benchmark_smoke() -> None:
    out = run_smoke("kpis", "--before")
    assert "## KPI benchmark results" in out
    assert re.search(r"^Seeded 20,000 ledger entries over 20 accounts, [\d,]+ jobs, [\d,]+ usage "
                     r"records \(last 90 days\), [\d,]+ daily rows", out, re.MULTILINE), out
    queries = [f"{q}, {d} d" for d in (1, 7, 30) for q in KPI_QUERIES] + [
        "spent per model, provider and hour, 1 d", "spent per model, provider and day, 7 d",
        "spent per model, provider and day, 30 d"] + [
        f"dashboard, {a} account, {d} d" for d in (7, 30) for a in ("deep", "typical")] + [
        f"dashboard poll (ETag), {a} account" for a in ("deep", "typical")]
    for query in queries:
        # p50, p95 and SQL time with migration 019's indexes, then with the ones before it
        row = rf"^\| {re.escape(query)}" + rf" \| {NUMBER}" * 6 + r" \|$"
        assert re.search(row, out, re.MULTILINE), f"no figures for {query!r}:\n{out}"
    # an index can serve every query (checked with sequential scans disabled), and the
    # migration's indexes are the ones that do
    assert "Plan check (sequential scans disabled): every query reads ledger_entries, jobs, " \
           "usage_records and usage_daily through an index" in out, out
    for index in ("ledgerentry_created_at_not_usage", "usagerecord_created_at_totals",
                  "usagerecord_user_id_created_at_totals", "job_created_at_outcome"):
        assert f"Index Only Scan using {index}" in out, (index, out)


GATEWAY_SIDE = ("ttft_p50_ms", "ttft_p95_ms", "total_p50_ms", "total_p95_ms", "completions_per_s")


BATCH_SIDE = ("total_p50_ms", "total_p95_ms", "requests_per_s")


def check_gateway_row(row: dict) -> None:
    assert row["concurrency"] == 1 and row["upstream_delay_ms"] == 0 and row["callers"] == 1
    streamed = row["workload"] in ("chat", "tools")
    for side in ("direct", "hub"):
        assert all(is_number(row[side][name])
                   for name in (GATEWAY_SIDE if streamed else BATCH_SIDE)), row
    added = ("hub_added_ttft_p50_ms",) if streamed else ("hub_added_p50_ms", "hub_added_p95_ms")
    for name in (*added, "hub_reported_overhead_p50_ms", "hub_cpu_ms_per_request"):
        assert is_number(row[name]), (name, row)
    assert set(row["cpu_ms_per_request"]) == {"web", "worker", "postgres", "redis", "rabbitmq"}
    assert all(is_number(ms) for ms in row["cpu_ms_per_request"].values()), row


@pytest.mark.slow
def test_gateway_benchmark_smoke_with_every_workload() -> None:
    """Streamed text, a streamed tool call and an embeddings batch, against one hub (the
    default, chat alone, runs in the A/B smoke below)."""
    out = run_smoke("gateway", "--workloads", "chat,tools,embeddings")
    rows = json_lines(out)
    report = json.loads(out[out.index("\n[") + 1:])  # the whole report, after the live rows
    assert report == rows and [row["workload"] for row in rows] == ["chat", "tools",
                                                                   "embeddings"], out
    for row in rows:
        check_gateway_row(row)
    assert rows[2]["inputs"] == 16, rows[2]


@pytest.mark.slow
def test_ab_gateway_smoke_with_one_checkout_on_both_sides() -> None:
    out = run_smoke("ab_gateway", str(ROOT), str(ROOT))
    lines = json_lines(out)
    runs = [line for line in lines if "pair" in line]
    medians = [line for line in lines if "median_of" in line]
    assert [(r["pair"], r["side"]) for r in runs] == [(1, "A"), (1, "B")], out
    assert sorted(m["side"] for m in medians) == ["A", "B"], out
    for line in runs + medians:
        assert line["workload"] == "chat", line
        assert line["concurrency"] == 1 and line["upstream_delay_ms"] == 0, line
        assert all(is_number(line[name]) for name in (
            "added_ttft_p50_ms", "throughput_ratio", "completions_per_s",
            "cpu_ms_per_request")), line


@pytest.mark.slow
def test_queue_benchmark_smoke() -> None:
    rows = json_lines(run_smoke("queue"))
    assert [row["broker"] for row in rows] == ["rabbitmq", "redis"], rows
    for row in rows:
        for mode in ("idle", "busy"):
            assert is_number(row[mode]["p50_ms"]) and is_number(row[mode]["p95_ms"]), row


class _Probe(Model):
    given = CharField()
    with_model_default = CharField(default="from the model")
    nullable = CharField(null=True)

    class Meta:
        table_name = "bench_seeding_probe"


@pytest.fixture
def probe_cursor(migrated_database: str):
    """A cursor in a transaction that has the probe table; rolled back after."""
    conn = psycopg2.connect(migrated_database)
    try:
        cur = conn.cursor()
        cur.execute("CREATE TABLE bench_seeding_probe (id serial PRIMARY KEY, given text NOT NULL, "
                    "with_model_default text NOT NULL, with_db_default int NOT NULL DEFAULT 3, "
                    "nullable text, added_later text NOT NULL)")
        yield cur
    finally:
        conn.rollback()
        conn.close()


def test_seeding_names_a_not_null_column_it_cannot_fill(probe_cursor) -> None:
    with pytest.raises(SystemExit, match=r"bench_seeding_probe\.added_later is NOT NULL"):
        insert_parts(probe_cursor, _Probe, {"given": "'g'"})


def test_seeding_fills_what_the_caller_leaves_out_from_the_model(probe_cursor) -> None:
    parts = insert_parts(probe_cursor, _Probe, {"given": "'g'", "added_later": "'late'"})
    assert parts.columns == "given, with_model_default, added_later"
    probe_cursor.execute(f"INSERT INTO {parts.table} ({parts.columns}) VALUES ({parts.expressions}) "
                         "RETURNING with_model_default, with_db_default, nullable", parts.params)
    assert probe_cursor.fetchone() == ("from the model", 3, None)
