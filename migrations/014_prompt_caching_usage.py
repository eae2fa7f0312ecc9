"""Peewee migrations -- 014_prompt_caching_usage.py.

Written by hand: prompt caching, tool calls and reasoning in prices and jobs.

- `model_prices` gains the prompt-caching rates of a version, `cached_input_per_mtok_credits`
  and `cache_write_per_mtok_credits` (NULL: the input rate, which is what every version written
  before this migration charged for all its prompt tokens).
- `jobs` gains what a provider reports beyond input and output tokens: `cached_input_tokens`,
  `cache_write_tokens` (both part of `input_tokens`, the whole prompt) and `reasoning_tokens`,
  and `output_json`, the reply's structured output, tool calls and reasoning as JSON.
- On PostgreSQL `job_finish` (011) is replaced so that it records those four from `p_fields`
  too (`app.jobs.store.FINISH_FIELDS`); on SQLite the store's statement names the fields it
  is given, so nothing else changes there.

Apply before starting the new code (as every migration): the new code records the new fields.
"""

import importlib.util
from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401

JOB_COLUMNS = ("cached_input_tokens", "cache_write_tokens", "reasoning_tokens", "output_json")
PRICE_COLUMNS = ("cached_input_per_mtok_credits", "cache_write_per_mtok_credits")

# 011's function with the four new fields recorded; the same signature, so it is replaced.
JOB_FINISH = """
CREATE OR REPLACE FUNCTION job_finish(
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
                    channel = j.channel, first_token_at = j.first_token_at,
                    cached_input_tokens = j.cached_input_tokens,
                    cache_write_tokens = j.cache_write_tokens,
                    reasoning_tokens = j.reasoning_tokens, output_json = j.output_json
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

DROP_JOB_FINISH = ("DROP FUNCTION IF EXISTS job_finish(varchar, varchar, varchar, bigint, "
                   "varchar, text, jsonb, timestamp)")


def _postgres(database: pw.Database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields(
        "model_prices",
        cached_input_per_mtok_credits=pw.BigIntegerField(null=True),
        cache_write_per_mtok_credits=pw.BigIntegerField(null=True),
    )
    migrator.add_fields(
        "jobs",
        cached_input_tokens=pw.IntegerField(null=True),
        cache_write_tokens=pw.IntegerField(null=True),
        reasoning_tokens=pw.IntegerField(null=True),
        output_json=pw.TextField(null=True),
    )
    if _postgres(database):
        migrator.sql(JOB_FINISH)


def _migration_011():
    """011's module (its functions as they were), loaded from its file."""
    from app.migrations import MIGRATIONS_DIR

    path = MIGRATIONS_DIR / "011_key_month_of_job.py"
    spec = importlib.util.spec_from_file_location("migration_011", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if _postgres(database):
        # dropped, not replaced: `o_job jobs` changes shape with the columns dropped below
        migrator.sql(DROP_JOB_FINISH)
        migrator.sql(_migration_011().JOB_FINISH)
    migrator.remove_fields("jobs", *JOB_COLUMNS)
    migrator.remove_fields("model_prices", *PRICE_COLUMNS)
