"""Archive files: their names, writing them atomically, rotation, and handing one to a command.

An archive is named `hub-<UTC time>.<suffix>` (`hub-20260105T031500.123456Z.dump`), so names
sort in time order and rotation never has to trust file dates. It is written under a hidden
temporary name in the same directory and renamed into place only once complete: a crash, a full
disk or a failed dump leaves no file that looks like a backup.
"""

from __future__ import annotations

import os
import re
import subprocess  # nosec B404  # runs pg_dump/pg_restore and the operator's store command
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from app.services.backups.errors import ArchiveInvalid, StoreCommandFailed

ARCHIVE_NAME = re.compile(r"^hub-(\d{8}T\d{6}\.\d{6}Z)\.(dump|sqlite3)$")
NAME_ENV_VAR = "HUB_BACKUP_NAME"  # what a --to-command command is told the archive is called
PARTIAL_PREFIX = ".partial-"
# The first bytes of each kind of archive: pg_dump's custom format, and a SQLite database file.
MAGIC = {"postgresql": b"PGDMP", "sqlite": b"SQLite format 3\x00"}
STDERR_TAIL_CHARS = 2000


@dataclass(frozen=True)
class Archive:
    path: Path
    taken_at: datetime
    size_bytes: int


def archive_name(suffix: str, now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"hub-{moment:%Y%m%dT%H%M%S.%fZ}.{suffix}"


def list_archives(directory: Path) -> list[Archive]:
    """The hub archives in `directory`, newest first (other files are left alone)."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = ARCHIVE_NAME.match(path.name)
        if match and path.is_file():
            taken_at = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S.%fZ").replace(tzinfo=UTC)
            found.append(Archive(path, taken_at, path.stat().st_size))
    return sorted(found, key=lambda archive: archive.taken_at, reverse=True)


def rotate(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives; return the deleted paths."""
    removed = [archive.path for archive in list_archives(directory)[max(keep, 1):]]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def write_atomically(directory: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Call `write(temporary path)`, then rename the result to `directory/name`; on any error
    the temporary file is removed and nothing named like an archive appears."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    final = directory / name
    with _temporary_file(directory, name) as partial:
        write(partial)
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, final)
    _fsync_directory(directory)
    return final


@contextmanager
def temporary_archive(name: str) -> Iterator[Path]:
    """A private temporary file for an archive bound elsewhere (removed afterwards)."""
    with _temporary_file(Path(tempfile.gettempdir()), name) as path:
        yield path


@contextmanager
def _temporary_file(directory: Path, name: str) -> Iterator[Path]:
    handle, raw = tempfile.mkstemp(prefix=f"{PARTIAL_PREFIX}{name}.", dir=directory)
    os.close(handle)  # mkstemp made it 0600: archives hold password hashes and e-mail addresses
    path = Path(raw)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def send_to_command(archive: Path, name: str, command: str) -> None:
    """Run `command` in a shell with the archive on its stdin and its name in HUB_BACKUP_NAME
    (e.g. `aws s3 cp - "s3://bucket/hub/$HUB_BACKUP_NAME"`); raise if it exits non-zero."""
    env = {**os.environ, NAME_ENV_VAR: name}
    try:
        with open(archive, "rb") as stdin:
            done = subprocess.run(command, shell=True, stdin=stdin, env=env,  # noqa: S602  # nosec B602  # the operator's own command, as documented
                                  capture_output=True, check=False)
    except OSError as exc:
        raise StoreCommandFailed(f"the store command could not be started: {exc}") from None
    if done.returncode != 0:
        raise StoreCommandFailed(
            f"the store command exited with status {done.returncode}; the archive {name} was "
            f"not stored. Its output: {tail(done.stderr or done.stdout) or '(none)'}")


def archive_kind(path: Path) -> str:
    """`postgresql` or `sqlite`, from the file's first bytes."""
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except OSError as exc:
        raise ArchiveInvalid(f"cannot read {path}: {exc.strerror}") from None
    for kind, magic in MAGIC.items():
        if head.startswith(magic):
            return kind
    raise ArchiveInvalid(f"{path} is neither a pg_dump custom-format archive nor a SQLite "
                         "database")


def tail(output: bytes | str) -> str:
    text = output.decode(errors="replace") if isinstance(output, bytes) else output
    return text.strip()[-STDERR_TAIL_CHARS:]
