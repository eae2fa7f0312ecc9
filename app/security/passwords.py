"""Password hashing (argon2id) and the password policy.

Policy: no control characters (NUL, tab, line breaks: they cannot be typed reliably and some
clients cut at a NUL) and not only whitespace; at least 10 characters, not the e-mail address
(or its local part), and not in the common-passwords list shipped in `app/data/` (20,000
entries; see app/data/NOTICE.md).
"""

from __future__ import annotations

import gzip
import unicodedata
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.errors import HubError

MIN_LENGTH = 10
MAX_LENGTH = 256
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Verified against when the account does not exist, so both paths cost one argon2 check.
    Made on first use, not at import: a hash costs a third of a second of CPU, and every web,
    worker and CLI process imports this module."""
    return _hasher.hash("not-a-real-password-used-for-timing-only")


class WeakPassword(HubError):
    """The password does not meet the policy."""

    http_status = 422
    code = "weak_password"


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as fh:
        return frozenset(line.strip().lower() for line in fh if line.strip())


def _has_control_character(password: str) -> bool:
    return any(unicodedata.category(char) == "Cc" for char in password)


def check_password_policy(password: str, *, email: str, field: str = "password") -> None:
    """Raise WeakPassword naming `field` and the first rule `password` breaks."""
    if _has_control_character(password):
        raise WeakPassword(f"{field}: must not contain control characters (such as NUL, tab or "
                           "line breaks)")
    if not password.strip():
        raise WeakPassword(f"{field}: must not be only spaces")
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"{field}: use at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"{field}: use at most {MAX_LENGTH} characters")
    lowered = password.strip().lower()
    email = email.strip().lower()
    if lowered in {email, email.split("@", 1)[0]}:
        raise WeakPassword(f"{field}: must not be your e-mail address")
    if lowered in common_passwords():
        raise WeakPassword(f"{field}: this password is too common; choose another")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if `password` matches; costs the same whether or not there is a hash to check."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
