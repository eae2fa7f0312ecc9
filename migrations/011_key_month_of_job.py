"""Peewee migrations -- 011_key_month_of_job.py.

Written by hand (no model changes), PostgreSQL only: an API key's monthly counter at a month
boundary. `job_open`, `job_settle` and `job_finish` (009) replaced; they mirror, step for step,
`app.services.api_keys.record_key_spend` and `app.jobs.store` on SQLite.

- A job's hold is counted in the month of the job's `created_at` (the web process passes it as
  `p_month` to `job_open_checked`), and `job_settle` gives the unused part back to that month,
  read from the job's row. It used to give it to the month of the settle: a job opened on the
  31st and settled on the 1st took its unused hold off the new month's counter, which then
  under-counted what the new month's jobs had reserved. `job_settle` and `job_finish` no longer
  take `p_month`.
- The key keeps one month's counter, and it never goes back: a spend counted in an earlier
  month than the counter's (that month is over) changes only the total.

Apply before starting the new code (as every migration): the previous code calls `job_settle`
and `job_finish` with `p_month`.
"""

import importlib.util
from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401

# A key's spend of `amount` counted in `month`, as app.services.api_keys.record_key_spend does.
KEY_SPEND = """
CREATE OR REPLACE FUNCTION key_spend_add(p_api_key_id integer, p_amount bigint, p_month varchar)
RETURNS void
LANGUAGE sql AS $$
    UPDATE api_keys SET
        spent_total_credits = GREATEST(spent_total_credits + p_amount, 0),
        spent_month_credits = CASE
            WHEN spent_month = p_month THEN GREATEST(spent_month_credits + p_amount, 0)
            WHEN spent_month > p_month THEN spent_month_credits  -- that month is over
            ELSE GREATEST(p_amount, 0) END,
        spent_month = GREATEST(spent_month, p_month)
    WHERE id = p_api_key_id
$$
"""

JOB_OPEN = """
CREATE OR REPLACE FUNCTION job_open(
    p_api_key_id integer, p_month varchar, p_user_id integer, p_amount bigint,
    p_hold_key varchar, p_purpose varchar, p_reference varchar, p_now timestamp,
    p_expires_at timestamp, p_job jsonb,
    OUT o_status text, OUT o_hold_id bigint, OUT o_available bigint,
    OUT o_spent_total bigint, OUT o_spent_month bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_cap_total bigint;
    v_cap_month bigint;
    h record;
BEGIN
    IF p_api_key_id IS NOT NULL THEN
        SELECT k.cap_total_credits, k.spent_total_credits, k.cap_monthly_credits,
               CASE WHEN k.spent_month = p_month THEN k.spent_month_credits ELSE 0 END
        INTO v_cap_total, o_spent_total, v_cap_month, o_spent_month
        FROM api_keys k WHERE k.id = p_api_key_id FOR UPDATE;
        IF NOT FOUND THEN
            o_status := 'no_key';
            RETURN;
        END IF;
        IF v_cap_total IS NOT NULL AND o_spent_total + p_amount > v_cap_total THEN
            o_status := 'key_cap_total';
            RETURN;
        END IF;
        IF v_cap_month IS NOT NULL AND o_spent_month + p_amount > v_cap_month THEN
            o_status := 'key_cap_month';
            RETURN;
        END IF;
    END IF;
    SELECT * INTO h FROM ledger_hold(p_user_id, p_amount, p_hold_key, p_purpose, p_reference,
                                     p_now, p_expires_at);
    o_hold_id := h.o_hold_id;
    o_available := h.o_available;
    IF h.o_status <> 'applied' THEN
        o_status := h.o_status;
        RETURN;
    END IF;
    IF p_api_key_id IS NOT NULL THEN
        PERFORM key_spend_add(p_api_key_id, p_amount, p_month);
    END IF;
    INSERT INTO jobs
    SELECT * FROM jsonb_populate_record(NULL::jobs,
                                        p_job || jsonb_build_object('hold_id', o_hold_id));
    o_status := 'applied';
END
$$
"""

JOB_SETTLE = """
CREATE FUNCTION job_settle(
    p_job_id varchar, p_now timestamp,
    OUT o_status text, OUT o_charged bigint, OUT o_user_id integer, OUT o_shortfall bigint)
LANGUAGE plpgsql AS $$
DECLARE
    j record;
    s record;
    v_usage_inserted integer;
BEGIN
    SELECT * INTO j FROM jobs WHERE id = p_job_id;
    IF NOT FOUND THEN
        o_status := 'no_job';
        RETURN;
    END IF;
    IF j.api_key_id IS NOT NULL THEN  -- the order job_open locks in: the key, then the account
        PERFORM 1 FROM api_keys WHERE id = j.api_key_id FOR UPDATE;
    END IF;
    SELECT * INTO s FROM ledger_settle(j.hold_id, COALESCE(j.cost_credits, 0),
                                       left(j.type || ' job ' || j.id || ' ' || j.outcome, 500),
                                       p_now);
    IF s.o_status IN ('no_hold', 'key_taken') THEN
        o_status := s.o_status;
        RETURN;
    END IF;
    o_charged := abs(s.o_amount);
    o_user_id := s.o_user_id;
    o_shortfall := s.o_shortfall;
    UPDATE jobs SET status = outcome, finished_at = p_now, cost_credits = o_charged,
                    lease_expires_at = NULL
    WHERE id = p_job_id AND status = 'running';
    IF NOT FOUND THEN
        o_status := 'already_shown';
        RETURN;
    END IF;
    INSERT INTO usage_records (job_id, user_id, api_key_id, model, provider, status,
                               input_tokens, output_tokens, video_seconds, cost_credits,
                               latency_ms, ttft_ms, created_at)
    VALUES (j.id, j.user_id, j.api_key_id, j.model, j.provider, j.outcome,
            COALESCE(j.input_tokens, 0), COALESCE(j.output_tokens, 0),
            CASE WHEN j.outcome = 'succeeded' THEN COALESCE(j.video_seconds, 0) ELSE 0 END,
            o_charged, extract(epoch FROM p_now - j.created_at) * 1000,
            extract(epoch FROM j.first_token_at - j.created_at) * 1000, p_now)
    ON CONFLICT DO NOTHING;
    GET DIAGNOSTICS v_usage_inserted = ROW_COUNT;
    IF v_usage_inserted > 0 AND j.api_key_id IS NOT NULL AND o_charged <> j.hold_credits THEN
        -- back to (or beyond) the month that reserved the hold: the month the job was opened in
        PERFORM key_spend_add(j.api_key_id, o_charged - j.hold_credits,
                              to_char(j.created_at, 'YYYY-MM'));
    END IF;
    o_status := 'shown';
END
$$
"""

# The fields a run may record with its outcome (app.jobs.store.FINISH_FIELDS).
JOB_FINISH = """
CREATE FUNCTION job_finish(
    p_job_id varchar, p_token varchar, p_outcome varchar, p_cost bigint, p_error_code varchar,
    p_error_message text, p_fields jsonb, p_now timestamp,
    OUT o_status text, OUT o_charged bigint, OUT o_user_id integer, OUT o_shortfall bigint,
    OUT o_job jobs)
LANGUAGE plpgsql AS $$
DECLARE
    j jobs;
    s record;
BEGIN
    SELECT * INTO j FROM jobs
    WHERE id = p_job_id AND worker_token = p_token AND status = 'running' FOR UPDATE;
    IF NOT FOUND THEN
        o_status := 'not_owner';
        RETURN;
    END IF;
    j := jsonb_populate_record(j, p_fields);
    UPDATE jobs SET outcome = p_outcome, cost_credits = p_cost, error_code = p_error_code,
                    error_message = p_error_message, input_tokens = j.input_tokens,
                    output_tokens = j.output_tokens, finish_reason = j.finish_reason,
                    upstream_ms = j.upstream_ms, result_text = j.result_text,
                    delivered_chars = j.delivered_chars, provider = j.provider,
                    channel = j.channel, first_token_at = j.first_token_at
    WHERE id = p_job_id;
    SELECT * INTO s FROM job_settle(p_job_id, p_now);
    o_status := s.o_status;
    o_charged := s.o_charged;
    o_user_id := s.o_user_id;
    o_shortfall := s.o_shortfall;
    SELECT * INTO o_job FROM jobs WHERE id = p_job_id;
END
$$
"""

DROP_009 = ("DROP FUNCTION IF EXISTS job_finish(varchar, varchar, varchar, bigint, varchar, text, "
            "jsonb, timestamp, varchar)",
            "DROP FUNCTION IF EXISTS job_settle(varchar, timestamp, varchar)")
DROP_011 = ("DROP FUNCTION IF EXISTS job_finish(varchar, varchar, varchar, bigint, varchar, text, "
            "jsonb, timestamp)",
            "DROP FUNCTION IF EXISTS job_settle(varchar, timestamp)")


def _postgres(database: pw.Database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """The key's month of a job on PostgreSQL (nothing to do on SQLite: Python code)."""
    if _postgres(database):
        migrator.sql(KEY_SPEND)
        migrator.sql(JOB_OPEN)
        for statement in DROP_009:
            migrator.sql(statement)
        migrator.sql(JOB_SETTLE)
        migrator.sql(JOB_FINISH)


def _migration_009():
    """009's module (its functions as they were), loaded from its file."""
    from app.migrations import MIGRATIONS_DIR

    path = MIGRATIONS_DIR / "009_job_open_settle_functions.py"
    spec = importlib.util.spec_from_file_location("migration_009", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if _postgres(database):
        previous = _migration_009()
        for statement in DROP_011:
            migrator.sql(statement)
        migrator.sql(previous.JOB_OPEN)
        migrator.sql(previous.JOB_SETTLE)
        migrator.sql(previous.JOB_FINISH)
        migrator.sql("DROP FUNCTION IF EXISTS key_spend_add")
