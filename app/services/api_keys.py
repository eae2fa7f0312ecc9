"""Hub API keys: create, list, rotate, revoke, authenticate, and the per-key spending limits.

A key reads `hub_<prefix>_<secret>`: the 8-character prefix is visible (lists, logs), the
40-character secret is shown once and stored as HMAC-SHA256 under a sub-key of SECRET_KEY (a
fast keyed hash is right for a ~238-bit random secret; argon2 is for passwords).

A job's spend is checked (`check_key_use`) and reserved with its hold, atomically with it, so
two concurrent holds cannot both pass a cap: on PostgreSQL by `job_open_checked` (migrations
009 and 010, the key row locked while it runs), on SQLite by `reserve_key_spend` inside the
hold's transaction.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NoReturn

import structlog

from app.database import is_postgres
from app.errors import HubError, NotFound
from app.extensions import db
from app.models.api_keys import ApiKey
from app.models.base import utcnow
from app.models.hot_sql import column_list, model_from_row, select_one, width
from app.models.users import User
from app.security.crypto import hashes_equal, keyed_hash, random_alphanumeric
from app.security.errors import EmailNotVerified
from app.services.recent_reads import recent_reads

log = structlog.get_logger(__name__)

KEY_PREFIX = "hub_"
PREFIX_LENGTH = 8
SECRET_LENGTH = 40
_KEY_FORMAT = re.compile(rf"^hub_([A-Za-z0-9]{{{PREFIX_LENGTH}}})_([A-Za-z0-9]{{{SECRET_LENGTH}}})$")
LAST_USED_RESOLUTION = timedelta(seconds=60)  # write last_used_at at most once a minute
MAX_KEYS_PER_USER = 50


class KeyLimitError(HubError):
    """Base of the refusals that name which of the key's limits was hit."""


class KeyExpired(KeyLimitError):
    """This API key has expired; create a new one."""

    http_status = 403
    code = "key_expired"


class KeyModelNotAllowed(KeyLimitError):
    http_status = 403
    code = "key_model_not_allowed"


class KeyCreditCapReached(KeyLimitError):
    http_status = 402
    code = "key_credit_cap_reached"


class KeyRevoked(HubError):
    """This API key was revoked."""

    http_status = 403
    code = "key_revoked"


class StaleApiKey(Exception):
    """A key read reused from this process's recent reads changed (or went) since: the
    request must authenticate again from the database (`app.jobs.opening` does, then
    opens the job once more)."""


class TooManyKeys(HubError):
    http_status = 409
    code = "too_many_keys"


@dataclass(frozen=True)
class NewKey:
    key: ApiKey
    plaintext: str  # shown once


def _hash_secret(secret: str) -> str:
    return keyed_hash("api-key", secret)


def month_of(at: datetime) -> str:
    """The calendar month (UTC) of a naive UTC time, as the keys' monthly counters name it."""
    return at.strftime("%Y-%m")


def create_key(user: User, name: str, *, expires_at: datetime | None = None,
               allowed_models: list[str] | None = None, cap_total_credits: int | None = None,
               cap_monthly_credits: int | None = None) -> NewKey:
    """Create a key for `user`; the plaintext is returned once and never stored."""
    if ApiKey.select().where(ApiKey.user == user, ApiKey.revoked_at.is_null()).count() \
            >= MAX_KEYS_PER_USER:
        raise TooManyKeys(f"an account may hold at most {MAX_KEYS_PER_USER} active keys")
    prefix, secret = random_alphanumeric(PREFIX_LENGTH), random_alphanumeric(SECRET_LENGTH)
    key = ApiKey.create(
        user=user, name=name, prefix=prefix, secret_hash=_hash_secret(secret),
        expires_at=expires_at, cap_total_credits=cap_total_credits,
        cap_monthly_credits=cap_monthly_credits,
        allowed_models=json.dumps(sorted(set(allowed_models))) if allowed_models else None,
    )
    log.info("api_key_created", user_id=user.id, key_id=key.id, prefix=prefix)
    return NewKey(key=key, plaintext=f"{KEY_PREFIX}{prefix}_{secret}")


def list_keys(user: User) -> list[ApiKey]:
    return list(ApiKey.select().where(ApiKey.user == user, ApiKey.revoked_at.is_null())
                .order_by(ApiKey.created_at.desc(), ApiKey.id.desc()))


def _owned_key(user: User, key_id: int) -> ApiKey:
    key = ApiKey.get_or_none(ApiKey.id == key_id, ApiKey.user == user,
                             ApiKey.revoked_at.is_null())
    if key is None:
        raise NotFound("no such API key")
    return key


def revoke_key(user: User, key_id: int) -> None:
    key = _owned_key(user, key_id)
    ApiKey.update(revoked_at=utcnow()).where(ApiKey.id == key.id).execute()
    log.info("api_key_revoked", user_id=user.id, key_id=key.id, prefix=key.prefix)


def revoke_all_keys(user: User) -> int:
    """Revoke every active key of `user` (on request, at a password change or sign-out-all)."""
    revoked = ApiKey.update(revoked_at=utcnow()).where(
        ApiKey.user == user, ApiKey.revoked_at.is_null()).execute()
    log.info("api_keys_revoked", user_id=user.id, count=revoked)
    return revoked


def active_key_count(user: User) -> int:
    return ApiKey.select().where(ApiKey.user == user, ApiKey.revoked_at.is_null()).count()


def rotate_key(user: User, key_id: int, *, grace_s: int) -> NewKey:
    """Give the key a new secret; the old one stays valid for `grace_s` seconds (0: none)."""
    key = _owned_key(user, key_id)
    secret = random_alphanumeric(SECRET_LENGTH)
    key.previous_secret_hash = key.secret_hash if grace_s > 0 else None
    key.previous_valid_until = utcnow() + timedelta(seconds=grace_s) if grace_s > 0 else None
    key.secret_hash = _hash_secret(secret)
    key.save()
    log.info("api_key_rotated", user_id=user.id, key_id=key.id, prefix=key.prefix,
             grace_s=grace_s)
    return NewKey(key=key, plaintext=f"{KEY_PREFIX}{key.prefix}_{secret}")


def looks_like_key(value: str) -> bool:
    return value.startswith(KEY_PREFIX)


def find_key(plaintext: str, *, reuse: bool = False) -> ApiKey | None:
    """The active key `plaintext` names (current secret, or previous one within its grace).

    `reuse`: the row may be one this process read lately (`app.services.recent_reads`), for a
    request whose job open re-checks it; such a key carries its `reused_stamp`."""
    match = _KEY_FORMAT.match(plaintext)
    if match is None:
        return None
    prefix, secret = match.groups()
    key = _key_with_owner(prefix, reuse=reuse)
    if key is None or key.revoked_at is not None:
        return None
    candidate = _hash_secret(secret)
    if not _secret_matches(key, candidate):
        return None
    key.presented_hash = candidate  # lets `reread_key` check the same secret again
    return key


def reread_key(key: ApiKey) -> ApiKey | None:
    """`key` (found by `find_key`) as `find_key` finds it now, read from the database with its
    owner: None if it was revoked or deleted since, or its secret presented then is no longer
    valid (rotated, its grace over)."""
    fresh = _key_with_owner(key.prefix)
    if fresh is None or fresh.revoked_at is not None \
            or not _secret_matches(fresh, key.presented_hash):
        return None
    fresh.presented_hash = key.presented_hash
    return fresh


def _secret_matches(key: ApiKey, candidate: str) -> bool:
    """Whether `candidate` (a presented secret's hash) is the key's current secret, or its
    previous one within the rotation's grace."""
    if hashes_equal(candidate, key.secret_hash):
        return True
    return bool(key.previous_secret_hash and key.previous_valid_until
                and key.previous_valid_until > utcnow()
                and hashes_equal(candidate, key.previous_secret_hash))


_KEY_WITH_OWNER = ("SELECT {key_columns}, {user_columns}{stamp} FROM api_keys k "
                   "JOIN users u ON u.id = k.user_id WHERE k.prefix = {p}")


@dataclass
class _ReadKey:
    row: tuple
    stamp: str | None  # key_auth_stamp (migration 010), on PostgreSQL
    last_used_at: datetime | None


@functools.cache
def _key_sql(postgres: bool) -> str:
    return _KEY_WITH_OWNER.format(key_columns=column_list(ApiKey, "k"),
                                  user_columns=column_list(User, "u"), p=db.param,
                                  stamp=", key_auth_stamp(k, u)" if postgres else "")


def _key_with_owner(prefix: str, *, reuse: bool = False) -> ApiKey | None:
    """The key with its owner loaded in the same query (every API request needs both)."""
    reads = recent_reads("api_keys") if reuse else None
    read = reads.get(prefix) if reads is not None else None
    reused = read is not None
    if read is None:
        postgres = is_postgres()
        row = db.execute_sql(_key_sql(postgres), (prefix,)).fetchone()
        if row is None:
            return None
        read = _ReadKey(row=row, stamp=row[-1] if postgres else None, last_used_at=None)
    key = model_from_row(ApiKey, read.row)
    key.user = model_from_row(User, read.row[width(ApiKey):])
    if reused:
        key.last_used_at = read.last_used_at  # as this process last wrote it
    else:
        read.last_used_at = key.last_used_at
        if reads is not None:
            reads.put(prefix, read)
    key._dirty.clear()
    key.reused_stamp = read.stamp if reused else None  # job_open_checked compares it
    key.hub_read = read
    return key


def forget_read(key: ApiKey) -> None:
    """Read the key from the database next time (its job open found it stale)."""
    reads = recent_reads("api_keys")
    if reads is not None:
        reads.forget(key.prefix)


def touch_last_used(key: ApiKey) -> None:
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.update(last_used_at=now).where(ApiKey.id == key.id).execute()
        key.last_used_at = now
        if getattr(key, "hub_read", None) is not None:  # a reused read remembers it too
            key.hub_read.last_used_at = now


def allowed_models(key: ApiKey) -> list[str] | None:
    return json.loads(key.allowed_models) if key.allowed_models else None


def month_spent(key: ApiKey, month: str | None = None) -> int:
    """What the key spent in `month` (default: this month) as far as its counter still says."""
    return key.spent_month_credits if key.spent_month == (month or current_month()) else 0


def naive_utc(value: datetime | None) -> datetime | None:
    """An aware datetime as the naive UTC the database stores (naive input is taken as UTC)."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def is_expired(key: ApiKey) -> bool:
    return key.expires_at is not None and key.expires_at <= utcnow()


def _locked_key(api_key_id: int) -> ApiKey:
    key = select_one(ApiKey, "id = {p}", (api_key_id,), for_update=True)
    if key is None:
        raise NotFound("no such API key")
    return key


def check_key_limits(api_key_id: int, model: str, amount_credits: int) -> None:
    """Refuse (raising a KeyLimitError naming the limit) a spend the key's limits forbid.

    Call inside the ledger's hold transaction, then `record_key_spend` in the same one: the key
    row stays locked until it commits, so concurrent holds are checked one after another.
    """
    if not db.in_transaction():
        raise RuntimeError("check_key_limits must run inside the hold's transaction")
    key = _locked_key(api_key_id)
    check_key_use(key, model, amount_credits, owner_verified=_owner_verified(key))


def reserve_key_spend(api_key_id: int, owner: User, model: str, amount_credits: int, *,
                      month: str) -> None:
    """`check_key_limits` then `record_key_spend` in `month` (the job's: see
    `app.jobs.store.open_job`), reading and locking the key row once: run inside the
    hold's transaction. `owner` is the caller already loaded with the key."""
    if not db.in_transaction():
        raise RuntimeError("reserve_key_spend must run inside the hold's transaction")
    key = _locked_key(api_key_id)
    if key.user_id != owner.id:
        raise NotFound("no such API key")
    check_key_use(key, model, amount_credits, owner_verified=owner.is_verified, month=month)
    record_key_spend(key.id, amount_credits, month=month)


def check_key_use(key: ApiKey, model: str, amount_credits: int, *,
                  owner_verified: bool, caps: bool = True, month: str | None = None) -> None:
    """Refuse (a KeyLimitError naming the limit) a spend the key's limits forbid, as `key`
    reads; the monthly cap counts `month` (default: this month). Without the key row locked,
    the caps are enforced again where the spend is made (`job_open_checked` on PostgreSQL;
    see `app.jobs.store`), which may be the only place they are checked
    (`caps=False`: the counters `key` holds may be seconds old)."""
    if key.revoked_at is not None:
        raise KeyRevoked()
    if not owner_verified:
        raise EmailNotVerified()
    if is_expired(key):
        raise KeyExpired(f"this API key expired at {key.expires_at.isoformat()}Z",
                         details={"limit": "expiry"})
    models = allowed_models(key)
    if models is not None and model not in models:
        raise KeyModelNotAllowed(f"this API key may not use the model {model!r}; "
                                 f"it may use: {', '.join(models)}",
                                 details={"limit": "allowed_models", "allowed_models": models})
    if caps:
        _check_caps(key, amount_credits, month or current_month())


def _check_caps(key: ApiKey, amount_credits: int, month: str) -> None:
    if key.cap_total_credits is not None \
            and key.spent_total_credits + amount_credits > key.cap_total_credits:
        raise KeyCreditCapReached(
            f"this API key's credit cap is reached: {key.spent_total_credits} of "
            f"{key.cap_total_credits} credits spent, {amount_credits} more needed",
            details={"limit": "total", "cap_credits": key.cap_total_credits,
                     "spent_credits": key.spent_total_credits})
    spent = month_spent(key, month)
    if key.cap_monthly_credits is not None \
            and spent + amount_credits > key.cap_monthly_credits:
        raise KeyCreditCapReached(
            f"this API key's monthly credit cap is reached: {spent} of "
            f"{key.cap_monthly_credits} credits spent this month, {amount_credits} more needed",
            details={"limit": "monthly", "cap_credits": key.cap_monthly_credits,
                     "spent_credits": spent})


def refuse_cap(key: ApiKey, *, spent_total: int, spent_month: int, amount_credits: int,
               month: str) -> NoReturn:
    """Raise the cap error for a spend refused where it is made (the key's counters as they were
    then for `month`, e.g. spent by a concurrent request after `check_key_use` passed)."""
    key.spent_total_credits, key.spent_month_credits = spent_total, spent_month
    key.spent_month = month
    _check_caps(key, amount_credits, month)
    raise KeyCreditCapReached("this API key's credit cap is reached")  # the counters say so


def current_month() -> str:
    """The calendar month (UTC) the keys' monthly counters count, "YYYY-MM"."""
    return month_of(utcnow())


def record_key_spend(api_key_id: int, amount_credits: int, *, month: str | None = None) -> None:
    """Count `amount_credits` against the key's caps in `month` (default: this month); negative
    gives back an unused hold, in the month that reserved it (a job's: the month of its
    `created_at`).

    The key keeps one month's counter: a spend in a later month restarts it; a spend in an
    earlier month than the counter's (that month is over) changes only the total. Counters
    never go below zero. `job_open` and `job_settle` (migration 011) count the same way.
    """
    month = month or current_month()
    amount = amount_credits
    db.execute_sql(_ADD_SPEND.format(p=db.param), (
        amount, amount, month, amount, amount, month, amount, amount, month, month, api_key_id))


# One statement (its row lock the UPDATE's own), the arithmetic in SQL. Months compare as
# "YYYY-MM" strings; a key that never spent has the month "".
_ADD_SPEND = (
    "UPDATE api_keys SET "
    "spent_total_credits = CASE WHEN spent_total_credits + {p} < 0 THEN 0 "
    "ELSE spent_total_credits + {p} END, "
    "spent_month_credits = CASE WHEN spent_month = {p} THEN "
    "(CASE WHEN spent_month_credits + {p} < 0 THEN 0 ELSE spent_month_credits + {p} END) "
    "WHEN spent_month > {p} THEN spent_month_credits "
    "ELSE (CASE WHEN {p} < 0 THEN 0 ELSE {p} END) END, "
    "spent_month = CASE WHEN spent_month > {p} THEN spent_month ELSE {p} END WHERE id = {p}")


_OWNER_VERIFIED = "SELECT email_verified_at FROM users WHERE id = {p}"


def _owner_verified(key: ApiKey) -> bool:
    row = db.execute_sql(_OWNER_VERIFIED.format(p=db.param), (key.user_id,)).fetchone()
    return row is not None and row[0] is not None
