"""Peewee migrations -- 009_job_open_settle_functions.py.

Written by hand (no model changes): the PostgreSQL functions `job_open`, `job_settle` and `job_finish`, each
one statement run on its own (no transaction around it), so the rows every job of one account
shares (the credit account, the API key) are locked only while the server runs it.

Measured with the gateway benchmark: one user's 16 concurrent `/v1` streams spent most of
their time queued on the account row, held by a transaction waiting on its client between the
hold, the key's reservation and the job's insert (and again between the settle, the job's
terminal status, its usage record and the key's refund).

- `job_open`: the key's caps (key row locked first), the hold (`ledger_hold`), the key's
  reservation and the job's row, all or nothing.
- `job_settle`: for a job whose outcome is recorded, settle its hold (`ledger_settle`), show
  the job terminal, record its usage and give the unused part of the hold back to the key.
  Locks in the same order as `job_open` (key, then account).
- `job_finish`: the run that owns a running job records its outcome (and the fields that
  describe it), then `job_settle`; the job's row as it ends is returned.

Credits still move only through the ledger's functions (007). They mirror, step for step, the
SQLite path in app/jobs/store/sqlite.py; a change to either needs a new migration.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401

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
        -- the key's spend, as app.services.api_keys.record_key_spend counts it
        UPDATE api_keys SET
            spent_total_credits = GREATEST(spent_total_credits + p_amount, 0),
            spent_month_credits = CASE WHEN spent_month = p_month
                THEN GREATEST(spent_month_credits + p_amount, 0)
                ELSE GREATEST(p_amount, 0) END,
            spent_month = p_month
        WHERE id = p_api_key_id;
    END IF;
    INSERT INTO jobs
    SELECT * FROM jsonb_populate_record(NULL::jobs,
                                        p_job || jsonb_build_object('hold_id', o_hold_id));
    o_status := 'applied';
END
$$
"""

JOB_SETTLE = """
CREATE OR REPLACE FUNCTION job_settle(
    p_job_id varchar, p_now timestamp, p_month varchar,
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
        -- the key's spend, as app.services.api_keys.record_key_spend counts it
        UPDATE api_keys SET
            spent_total_credits = GREATEST(spent_total_credits + (o_charged - j.hold_credits), 0),
            spent_month_credits = CASE WHEN spent_month = p_month
                THEN GREATEST(spent_month_credits + (o_charged - j.hold_credits), 0)
                ELSE GREATEST((o_charged - j.hold_credits), 0) END,
            spent_month = p_month
        WHERE id = j.api_key_id;
    END IF;
    o_status := 'shown';
END
$$
"""


# The fields a run may record with its outcome (app.jobs.store.FINISH_FIELDS).
JOB_FINISH = """
CREATE OR REPLACE FUNCTION job_finish(
    p_job_id varchar, p_token varchar, p_outcome varchar, p_cost bigint, p_error_code varchar,
    p_error_message text, p_fields jsonb, p_now timestamp, p_month varchar,
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
    SELECT * INTO s FROM job_settle(p_job_id, p_now, p_month);
    o_status := s.o_status;
    o_charged := s.o_charged;
    o_user_id := s.o_user_id;
    o_shortfall := s.o_shortfall;
    SELECT * INTO o_job FROM jobs WHERE id = p_job_id;
END
$$
"""


def _postgres(database: pw.Database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Open and settle a job in one statement each on PostgreSQL (nothing to do on SQLite)."""
    if _postgres(database):
        migrator.sql(JOB_OPEN)
        migrator.sql(JOB_SETTLE)
        migrator.sql(JOB_FINISH)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if _postgres(database):
        migrator.sql("DROP FUNCTION IF EXISTS job_finish")
        migrator.sql("DROP FUNCTION IF EXISTS job_settle")
        migrator.sql("DROP FUNCTION IF EXISTS job_open")
