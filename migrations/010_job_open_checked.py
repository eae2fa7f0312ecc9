"""Peewee migrations -- 010_job_open_checked.py.

Written by hand (no model changes), PostgreSQL only: `job_open_checked`, which runs `job_open`
(009) once it has checked, in the statement that places the hold, that what the web process read
before it is still current. A web process may then keep, for a few seconds
(HUB_KEY_PRICE_CACHE_S), the two rows every job request reads first, each a round trip before
the hold:

- `key_auth_stamp(api_keys, users)`: a digest of every column that decides whether an API key
  authenticates and what it may do (its secrets, revocation, expiry, models, caps; its owner's
  state, role, verification, two-factor and auth version). The key lookup returns it; a cached
  key whose stamp no longer matches (or whose row is gone) gets `stale_key`, and the request
  is authenticated again from the database.
- `p_price_stamp`: the price the hold was computed at (`id:input:output:per_second`). Unless it
  is still the model's newest version, `stale_price`: the request is quoted again.

`job_open` is unchanged: the checked one calls it, with the API key's row already locked (as
`job_open` locks it: first), so the key cannot change between the check and the hold.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401

KEY_AUTH_STAMP = """
CREATE OR REPLACE FUNCTION key_auth_stamp(k api_keys, u users) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT md5(concat_ws('|', k.id, k.user_id, u.id, k.secret_hash, k.previous_secret_hash,
                         k.previous_valid_until, k.revoked_at, k.expires_at, k.allowed_models,
                         k.cap_total_credits, k.cap_monthly_credits, u.is_active, u.role,
                         u.email_verified_at, u.totp_enabled_at, u.auth_version,
                         -- concat_ws skips NULLs: say which were set, so no two states collide
                         k.previous_secret_hash IS NULL, k.previous_valid_until IS NULL,
                         k.revoked_at IS NULL, k.expires_at IS NULL, k.allowed_models IS NULL,
                         k.cap_total_credits IS NULL, k.cap_monthly_credits IS NULL,
                         u.email_verified_at IS NULL, u.totp_enabled_at IS NULL))
$$
"""

JOB_OPEN_CHECKED = """
CREATE OR REPLACE FUNCTION job_open_checked(
    p_api_key_id integer, p_key_stamp text, p_price_stamp text, p_month varchar,
    p_user_id integer, p_amount bigint, p_hold_key varchar, p_purpose varchar,
    p_reference varchar, p_now timestamp, p_expires_at timestamp, p_job jsonb,
    OUT o_status text, OUT o_hold_id bigint, OUT o_available bigint,
    OUT o_spent_total bigint, OUT o_spent_month bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_stamp text;
    r record;
BEGIN
    IF p_price_stamp IS NOT NULL THEN
        SELECT concat_ws(':', p.id, p.input_per_mtok_credits, p.output_per_mtok_credits,
                         p.per_second_credits)
        INTO v_stamp
        FROM model_prices p WHERE p.model_id = p_job->>'model' ORDER BY p.version DESC LIMIT 1;
        IF v_stamp IS DISTINCT FROM p_price_stamp THEN
            o_status := 'stale_price';
            RETURN;
        END IF;
    END IF;
    IF p_key_stamp IS NOT NULL THEN
        -- locked as job_open locks it (first), so nothing changes it before the hold commits
        SELECT key_auth_stamp(k, u) INTO v_stamp
        FROM api_keys k JOIN users u ON u.id = k.user_id
        WHERE k.id = p_api_key_id FOR UPDATE OF k;
        IF NOT FOUND OR v_stamp <> p_key_stamp THEN
            o_status := 'stale_key';
            RETURN;
        END IF;
    END IF;
    SELECT * INTO r FROM job_open(p_api_key_id, p_month, p_user_id, p_amount, p_hold_key,
                                  p_purpose, p_reference, p_now, p_expires_at, p_job);
    o_status := r.o_status;
    o_hold_id := r.o_hold_id;
    o_available := r.o_available;
    o_spent_total := r.o_spent_total;
    o_spent_month := r.o_spent_month;
END
$$
"""


def _postgres(database: pw.Database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """The checked job open on PostgreSQL (nothing to do on SQLite, which caches nothing)."""
    if _postgres(database):
        migrator.sql(KEY_AUTH_STAMP)
        migrator.sql(JOB_OPEN_CHECKED)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if _postgres(database):
        migrator.sql("DROP FUNCTION IF EXISTS job_open_checked")
        migrator.sql("DROP FUNCTION IF EXISTS key_auth_stamp")
