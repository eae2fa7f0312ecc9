"""PostgreSQL: `pg_dump --format=custom` and `pg_restore`, run as child processes.

The connection comes from the database URL but reaches the tools as libpq environment variables
(PGHOST, PGUSER, PGPASSWORD, …): a password never appears on a command line (where `ps` shows it
to every user of the machine) nor in a message.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess  # nosec B404  # runs pg_dump/pg_restore and the operator's store command
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

import psycopg2

from app.services.backups.archives import tail
from app.services.backups.errors import (
    DatabaseUnreachable,
    DumpFailed,
    RestoreFailed,
    ToolMissing,
    ToolVersionMismatch,
)

CONNECT_TIMEOUT_S = 10
# URL query parameters the hub passes on, and the libpq variable each becomes.
QUERY_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
             "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT",
             "application_name": "PGAPPNAME", "options": "PGOPTIONS", "host": "PGHOST",
             "port": "PGPORT", "user": "PGUSER",
             "password": "PGPASSWORD"}  # nosec B105  # a variable's name, not a secret
# Tables whose rows are the hub's users' data: a target holding any is not overwritten unasked.
# (A just-migrated database holds only the seeded credit packages and the migration history.)
DATA_TABLES = ("users", "ledger_entries", "jobs", "payments")


def libpq_env(url: str) -> dict[str, str]:
    """The libpq environment variables that point a client tool at `url`."""
    parts = urlparse(url)
    env = {"PGDATABASE": unquote(parts.path.lstrip("/")) or "postgres",
           "PGCONNECT_TIMEOUT": str(CONNECT_TIMEOUT_S)}
    if parts.hostname:
        env["PGHOST"] = parts.hostname
    if parts.port:
        env["PGPORT"] = str(parts.port)
    if parts.username:
        env["PGUSER"] = unquote(parts.username)
    if parts.password:
        env["PGPASSWORD"] = unquote(parts.password)
    for key, value in parse_qsl(parts.query):
        if key not in QUERY_ENV:
            raise DatabaseUnreachable(f"DATABASE_URL parameter {key!r} is not supported by the "
                                      f"backup commands (supported: {', '.join(QUERY_ENV)})")
        env[QUERY_ENV[key]] = value
    return env


class PostgresEngine:
    """Dump and restore one PostgreSQL database."""

    kind = "postgresql"
    suffix = "dump"

    def __init__(self, url: str) -> None:
        self.url = url
        self.env = libpq_env(url)

    def dump(self, path: Path) -> None:
        tool = self._tool("pg_dump")
        self._run([tool, "--format=custom", "--no-password", f"--file={path}"], DumpFailed,
                  "pg_dump failed")

    def restore(self, archive: Path) -> None:
        tool = self._tool("pg_restore")
        # One transaction: a failure part-way leaves the target as it was.
        self._run([tool, "--clean", "--if-exists", "--no-owner", "--single-transaction",
                   "--exit-on-error", "--no-password", f"--dbname={self.env['PGDATABASE']}",
                   str(archive)], RestoreFailed, "pg_restore failed; the target is unchanged")

    def has_data(self) -> bool:
        with self._connect() as conn, conn.cursor() as cur:
            for table in DATA_TABLES:
                cur.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",))
                if cur.fetchone()[0]:
                    cur.execute(f'SELECT EXISTS (SELECT 1 FROM public."{table}")')  # noqa: S608  # nosec B608  # the module's constant table names
                    if cur.fetchone()[0]:
                        return True
        return False

    def server_major(self) -> int:
        with self._connect() as conn:
            return conn.server_version // 10000

    def _connect(self):
        try:
            conn = psycopg2.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg2.OperationalError as exc:
            raise DatabaseUnreachable(
                f"cannot connect to {redact(self.url)}: {str(exc).strip()}") from None
        conn.autocommit = True
        return _Closing(conn)

    def _tool(self, name: str) -> str:
        """The tool's path, refused (clearly) if it is missing or older than the server."""
        tool = shutil.which(name)
        if tool is None:
            raise ToolMissing(f"{name} is not on the PATH: install the PostgreSQL client tools "
                              "(Debian/Ubuntu: postgresql-client) of the server's major version")
        tool_major = tool_major_version(tool)
        server_major = self.server_major()
        if tool_major < server_major:
            raise ToolVersionMismatch(
                f"{name} is version {tool_major} but the server runs PostgreSQL {server_major}: "
                f"install the PostgreSQL {server_major} client tools (or newer) and put them "
                "first on the PATH")
        return tool

    def _run(self, argv: list[str], error: type[Exception], what: str) -> None:
        env = {**os.environ, **self.env}
        done = subprocess.run(argv, env=env, capture_output=True, check=False)  # noqa: S603  # nosec B603  # argv of the found tool, no shell
        if done.returncode != 0:
            raise error(f"{what} (exit {done.returncode}): {tail(done.stderr) or '(no output)'}")


class _Closing:
    """`with` closes the connection (psycopg2's own `with` only ends a transaction)."""

    def __init__(self, conn) -> None:
        self.conn = conn

    def __enter__(self):
        return self.conn

    def __exit__(self, *_exc: object) -> None:
        self.conn.close()


def tool_major_version(tool: str) -> int:
    done = subprocess.run([tool, "--version"], capture_output=True, text=True,  # noqa: S603  # nosec B603  # no shell
                          check=False)
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", done.stdout)
    if done.returncode != 0 or match is None:
        raise ToolMissing(f"{tool} --version did not answer as a PostgreSQL tool: "
                          f"{tail(done.stdout + done.stderr) or '(no output)'}")
    return int(match.group(1))


def redact(url: str) -> str:
    """`url` with its password replaced by `***`, for messages."""
    parts = urlparse(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{netloc[1]}").geturl()
