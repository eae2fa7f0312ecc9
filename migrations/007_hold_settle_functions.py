"""Peewee migrations -- 007_hold_settle_functions.py.

Written by hand (no model changes): the PostgreSQL functions `ledger_hold` and `ledger_settle`,
which place and settle a hold in one round trip each, as `ledger_move` (003) does for credits
and debits. They mirror, step for step, the SQLite path in app/services/ledger/holds.py; a
change to either needs a new migration replacing them.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401

# Lock the account row, return the hold already under the key (a replay), refuse if the
# available amount is short, insert the hold, raise `held`. No account means nothing available.
LEDGER_HOLD = """
CREATE OR REPLACE FUNCTION ledger_hold(
    p_user_id integer, p_amount bigint, p_key varchar, p_purpose varchar, p_reference varchar,
    p_now timestamp, p_expires_at timestamp,
    OUT o_status text, OUT o_hold_id bigint, OUT o_account_id integer, OUT o_amount bigint,
    OUT o_hold_status text, OUT o_available bigint)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT a.balance - a.held INTO o_available
    FROM credit_accounts a WHERE a.user_id = p_user_id FOR UPDATE;
    IF NOT FOUND THEN
        o_available := 0;
    END IF;
    SELECT h.id, h.account_id, h.amount_credits, h.status
    INTO o_hold_id, o_account_id, o_amount, o_hold_status
    FROM credit_holds h WHERE h.idempotency_key = p_key;
    IF FOUND THEN
        o_status := 'replayed';
        RETURN;
    END IF;
    IF p_amount > o_available THEN
        o_status := 'insufficient';
        RETURN;
    END IF;
    INSERT INTO credit_holds (account_id, amount_credits, status, purpose, reference,
                              idempotency_key, expires_at, created_at)
    VALUES (p_user_id, p_amount, 'active', p_purpose, p_reference, p_key, p_expires_at, p_now)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id INTO o_hold_id;
    IF o_hold_id IS NULL THEN  -- a concurrent hold of another account took the key meanwhile
        SELECT h.id, h.account_id, h.amount_credits, h.status
        INTO o_hold_id, o_account_id, o_amount, o_hold_status
        FROM credit_holds h WHERE h.idempotency_key = p_key;
        o_status := 'replayed';
        RETURN;
    END IF;
    UPDATE credit_accounts SET held = held + p_amount, updated_at = GREATEST(updated_at, p_now)
    WHERE user_id = p_user_id;
    o_status := 'applied';
    o_account_id := p_user_id;
    o_amount := p_amount;
    o_hold_status := 'active';
    o_available := o_available - p_amount;
END
$$
"""

# Lock the hold's account, then read the hold: a settled hold returns its first settlement
# (a replay). Otherwise charge `p_actual` from what the hold reserved plus the available
# balance, never below zero (the rest is the shortfall), drop the reservation, journal one
# `usage` entry under `hold:<id>:settle`, and mark the hold settled.
LEDGER_SETTLE = """
CREATE OR REPLACE FUNCTION ledger_settle(
    p_hold_id bigint, p_actual bigint, p_memo varchar, p_now timestamp,
    OUT o_status text, OUT o_entry_id bigint, OUT o_user_id integer, OUT o_amount bigint,
    OUT o_balance bigint, OUT o_held bigint, OUT o_shortfall bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_balance bigint;
    v_held bigint;
    v_stamp timestamp;
    v_status varchar;
    v_hold_amount bigint;
    v_settle_entry bigint;
    v_reference varchar;
    v_purpose varchar;
    v_reserved bigint;
    v_taken bigint;
BEGIN
    SELECT h.account_id INTO o_user_id FROM credit_holds h WHERE h.id = p_hold_id;
    IF NOT FOUND THEN
        o_status := 'no_hold';
        RETURN;
    END IF;
    SELECT a.balance, a.held, GREATEST(a.updated_at, p_now) INTO v_balance, v_held, v_stamp
    FROM credit_accounts a WHERE a.user_id = o_user_id FOR UPDATE;
    SELECT h.status, h.amount_credits, h.settle_entry_id, h.reference, h.purpose
    INTO v_status, v_hold_amount, v_settle_entry, v_reference, v_purpose
    FROM credit_holds h WHERE h.id = p_hold_id;
    IF v_status = 'settled' THEN
        SELECT e.id, e.amount_credits, e.balance_after, e.held_after, e.shortfall_credits
        INTO o_entry_id, o_amount, o_balance, o_held, o_shortfall
        FROM ledger_entries e WHERE e.id = v_settle_entry;
        o_status := 'replayed';
        RETURN;
    END IF;
    v_reserved := CASE WHEN v_status = 'active' THEN v_hold_amount ELSE 0 END;
    v_taken := LEAST(p_actual, v_balance - (v_held - v_reserved));
    o_amount := -v_taken;
    o_balance := v_balance - v_taken;
    o_held := v_held - v_reserved;
    o_shortfall := p_actual - v_taken;
    INSERT INTO ledger_entries (account_id, amount_credits, kind, balance_after, held_after,
                                shortfall_credits, idempotency_key, reference, actor_id, memo,
                                created_at)
    VALUES (o_user_id, o_amount, 'usage', o_balance, o_held, o_shortfall,
            'hold:' || p_hold_id || ':settle', v_reference, NULL,
            COALESCE(NULLIF(p_memo, ''), v_purpose), v_stamp)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id INTO o_entry_id;
    IF o_entry_id IS NULL THEN
        o_status := 'key_taken';
        RETURN;
    END IF;
    UPDATE credit_accounts SET balance = o_balance, held = o_held, updated_at = v_stamp
    WHERE user_id = o_user_id;
    UPDATE credit_holds SET status = 'settled', finished_at = p_now, settle_entry_id = o_entry_id
    WHERE id = p_hold_id;
    o_status := 'applied';
END
$$
"""


def _postgres(database: pw.Database) -> bool:
    return isinstance(getattr(database, "obj", database), pw.PostgresqlDatabase)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Holds and settles in one round trip on PostgreSQL (nothing to do on SQLite)."""
    if _postgres(database):
        migrator.sql(LEDGER_HOLD)
        migrator.sql(LEDGER_SETTLE)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    if _postgres(database):
        migrator.sql("DROP FUNCTION IF EXISTS ledger_settle")
        migrator.sql("DROP FUNCTION IF EXISTS ledger_hold")
