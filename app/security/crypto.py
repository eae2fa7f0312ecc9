"""Keyed hashes and encryption at rest, derived from SECRET_KEY with one sub-key per purpose.

High-entropy secrets (API keys, refresh and reset tokens) are stored as HMAC-SHA256: fast to
check and useless without the key. Low-entropy ones (6-digit codes) are bound to their user and
protected by the attempt limit. TOTP seeds must be read back, so they are encrypted (Fernet).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

from cryptography.fernet import Fernet, InvalidToken

from app.services.runtime import current_settings

_ALPHANUMERIC = string.ascii_letters + string.digits


def _subkey(purpose: str) -> bytes:
    secret = current_settings().SECRET_KEY.encode()
    return hmac.new(secret, f"smart-ai-hub:{purpose}".encode(), hashlib.sha256).digest()


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` under the sub-key for `purpose`, as 64 hex characters."""
    return hmac.new(_subkey(purpose), value.encode(), hashlib.sha256).hexdigest()


def hashes_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def random_token(n_bytes: int = 32) -> str:
    return secrets.token_urlsafe(n_bytes)


def random_alphanumeric(length: int) -> str:
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length))


def _fernet() -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_subkey("encryption-at-rest")))


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    """Decrypt a value from `encrypt`; ValueError if SECRET_KEY changed or it was tampered with."""
    try:
        return _fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        raise ValueError("cannot decrypt: SECRET_KEY changed or the value was altered") from None
