"""The deploy kit running for real, for tests/ops/test_nginx_kit.py: gunicorn serving the hub
(with a dramatiq worker, on PostgreSQL, Redis and RabbitMQ, a database of its own) behind the
kit's nginx site, rendered with loopback ports and a self-signed certificate made here. nginx
runs from a prefix of its own (temp dirs, pid, logs): nothing under /etc or /var is written."""

from __future__ import annotations

import datetime
import ipaddress
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from scripts.bench.cleanup import delete_rabbitmq_queues, delete_redis_keys
from scripts.bench.gateway import ADMIN_URL, BROKER_URL, REDIS_URL, admin_sql, free_port, hub_env
from scripts.render_deploy import render_file

ROOT = Path(__file__).resolve().parents[2]
SITE_TEMPLATE = ROOT / "deploy" / "nginx" / "smart-ai-hub.conf"
MAX_BODY_BYTES = 64 * 1024  # HUB_MAX_CONTENT_LENGTH_BYTES for the hub and nginx alike
LOGIN_LIMIT = 3  # sign-in attempts per client address per minute


@dataclass
class Stack:
    https_url: str  # https://127.0.0.1:PORT, nginx's TLS listener
    http_url: str  # http://127.0.0.1:PORT, nginx's plain listener
    ca_file: Path  # the self-signed certificate, which clients trust
    api_key: str  # a funded user's hub API key (/v1)
    access_token: str  # the same user's access token (the job API and its WebSocket)
    web_log: Path  # gunicorn's output: its access log
    nginx_dir: Path


def find_nginx() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)
    assert found, "nginx is not installed: scripts/ensure_test_services.sh installs it (apt-get)"
    return found


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and localhost), valid for a day; its key beside it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "hub.crt", directory / "hub.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def nginx_config(directory: Path, site: str) -> str:
    """The main configuration around the kit's site, as /etc/nginx/nginx.conf would be, with
    every path in `directory`."""
    temp = "\n".join(f"    {kind}_temp_path {directory}/{kind}_temp;"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""user {pwd.getpwuid(os.geteuid()).pw_name};
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log;
events {{ worker_connections 256; }}
http {{
    types {{ text/css css; application/javascript js; image/svg+xml svg; text/html html; }}
    default_type application/octet-stream;
    access_log {directory}/access.log;
{temp}
{site}
}}
"""


def render_site(directory: Path, http_port: int, https_port: int, hub_port: int) -> str:
    cert, key = self_signed_certificate(directory)
    (directory / "acme").mkdir()
    return render_file(SITE_TEMPLATE, {
        "HUB_UPSTREAM": f"127.0.0.1:{hub_port}", "HUB_DOMAIN": "127.0.0.1 localhost",
        "HUB_HTTP_LISTEN": f"127.0.0.1:{http_port}",
        "HUB_HTTPS_LISTEN": f"127.0.0.1:{https_port}",
        "HUB_PUBLIC_URL": f"https://127.0.0.1:{https_port}",
        "HUB_TLS_CERT": str(cert), "HUB_TLS_KEY": str(key),
        "HUB_ACME_ROOT": str(directory / "acme"), "HUB_NGINX_LOG_DIR": str(directory),
        "HUB_STATIC_ROOT": str(ROOT / "app" / "static"),
        "HUB_MAX_CONTENT_LENGTH_BYTES": str(MAX_BODY_BYTES),
    })


def setup_caller(env: dict[str, str]) -> tuple[str, str]:
    """Migrate the database; a funded user; print its API key and an access token."""
    code = (
        "from app import create_app, migrations\n"
        "from app.services import ledger\n"
        "from app.services.api_keys import create_key\n"
        "from tests.factories import auth_headers, create_user\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    migrations.upgrade()\n"
        "    user = create_user()\n"
        "    ledger.credit(user.id, 10**12, kind='promo', idempotency_key='nginx-kit:funds')\n"
        "    print(create_key(user, 'nginx kit').plaintext)\n"
        "    print(auth_headers(user, app.config['SECRET_KEY'])['Authorization'][7:])\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    api_key, token = out.stdout.strip().splitlines()[-2:]
    return api_key, token


def wait_until_served(url: str, ca_file: Path | bool, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url, verify=str(ca_file) if ca_file else False, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, f"{url} did not come up"
        time.sleep(0.2)


@contextmanager
def logged_process(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`cmd` in a session of its own, its output in `log`; stopped (TERM, then KILL) after."""
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@contextmanager
def hub_database() -> Iterator[tuple[str, str]]:
    run_id = uuid.uuid4().hex[:8]
    db_name, prefix = f"hub_nginx_kit_{run_id}", f"nginxkit{run_id}:"
    admin_sql(f'CREATE DATABASE "{db_name}"')
    try:
        yield urlunparse(urlparse(ADMIN_URL)._replace(path=f"/{db_name}")), prefix
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        delete_redis_keys(REDIS_URL, prefix)
        delete_rabbitmq_queues(BROKER_URL, prefix)


@contextmanager
def deployed_stack(directory: Path) -> Iterator[Stack]:
    """gunicorn + a worker behind the kit's nginx site, until the block ends."""
    nginx = find_nginx()
    http_port, https_port, hub_port = free_port(), free_port(), free_port()
    with ExitStack() as stack:
        db_url, prefix = stack.enter_context(hub_database())
        env = hub_env(db_url, prefix, hub_port, "http://127.0.0.1:9", "1")
        env.update({"HUB_TRUSTED_PROXY_COUNT": "1", "HUB_WEB_THREADS": "16",
                    "HUB_LOG_LEVEL": "INFO", "HUB_LOCAL_TOKEN_DELAY_S": "0.05",
                    "HUB_MAX_CONTENT_LENGTH_BYTES": str(MAX_BODY_BYTES),
                    "HUB_RATE_LIMIT_LOGIN": f"{LOGIN_LIMIT}/minute",
                    "HUB_PUBLIC_URL": f"https://127.0.0.1:{https_port}"})
        api_key, token = setup_caller(env)
        web_log = directory / "gunicorn.log"
        stack.enter_context(logged_process([sys.executable, "-m", "gunicorn", "-c",
                                            "gunicorn.conf.py", "wsgi:app"], env, web_log))
        stack.enter_context(logged_process([sys.executable, "-m", "dramatiq", "workers",
                                            "--processes", "1", "--threads", "4"], env,
                                           directory / "worker.log"))
        conf = directory / "nginx.conf"
        conf.write_text(nginx_config(directory, render_site(directory, http_port, https_port,
                                                            hub_port)))
        checked = subprocess.run([nginx, "-t", "-p", str(directory), "-c", str(conf), "-e",
                                  str(directory / "error.log")], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        stack.enter_context(logged_process([nginx, "-p", str(directory), "-c", str(conf), "-e",
                                            str(directory / "error.log"), "-g", "daemon off;"],
                                           env, directory / "nginx.out"))
        wait_until_served(f"http://127.0.0.1:{hub_port}/healthz", False)
        ca_file = directory / "hub.crt"
        wait_until_served(f"https://127.0.0.1:{https_port}/healthz", ca_file)
        yield Stack(https_url=f"https://127.0.0.1:{https_port}",
                    http_url=f"http://127.0.0.1:{http_port}", ca_file=ca_file,
                    api_key=api_key, access_token=token, web_log=web_log, nginx_dir=directory)
