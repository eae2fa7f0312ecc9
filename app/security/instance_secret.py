"""The secret of an installation that sets no SECRET_KEY: generated on first run, kept in the
instance directory, read on every later run.

Without it every hub started without SECRET_KEY would sign its sessions and tokens (and derive
its HMAC and encryption keys) from one public value. Every process of the installation reads the
same file (`flask db upgrade`, `flask users ensure-admin`, gunicorn's workers), so they agree.

The file is published atomically: the secret is written and flushed to a private temporary file
(created with O_CREAT|O_EXCL and mode 0600), which is then hard-linked to its final name. The
link fails if the name exists, so when two processes start at once exactly one secret is
published, and whoever loses reads it back complete (never a half-written file).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

import structlog

from app.config import ConfigError

log = structlog.get_logger(__name__)

KEY_FILE_NAME = "secret_key"
SECRET_BYTES = 48  # secrets.token_urlsafe(48): 64 characters
MIN_SECRET_CHARS = 32  # as production asks of SECRET_KEY


def instance_secret_key(instance_dir: Path) -> str:
    """The secret kept in `instance_dir`, generated there first if there is none yet.
    Raises ConfigError (naming SECRET_KEY and the file) when it cannot be read or kept."""
    path = instance_dir / KEY_FILE_NAME
    try:
        try:
            return _read(path)
        except FileNotFoundError:
            return _create(path)
    except OSError as exc:
        raise ConfigError(f"SECRET_KEY: not set, and the generated one cannot be kept in "
                          f"{path} ({exc.strerror or exc})") from None


def _read(path: Path) -> str:
    secret = path.read_text(encoding="utf-8").strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise ConfigError(f"SECRET_KEY: {path} holds no usable secret (fewer than "
                          f"{MIN_SECRET_CHARS} characters); delete it to have one generated")
    return secret


def _create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    fd, draft = tempfile.mkstemp(prefix=f".{KEY_FILE_NAME}.", dir=path.parent)  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(secret + "\n")
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:  # another process published first: use its secret
            return _read(path)
    finally:
        os.unlink(draft)
    log.warning("secret_key_generated", path=str(path),
                note="SECRET_KEY is not set; sessions and tokens are signed with this file's "
                     "secret. Keep it private; deleting it signs everyone out.")
    return secret
