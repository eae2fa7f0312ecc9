"""The deploy kit's files are valid for the tools that will read them: the systemd units pass
`systemd-analyze verify` once rendered, the Dockerfile lints clean with hadolint (pinned in
requirements-dev.txt), the compose file passes `docker-compose config`, the GitHub workflow
runs what .ci/run runs, and every template renders with the environment file's values. (Debian's
systemd, docker-compose and nginx: scripts/ensure_test_services.sh installs what is missing.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scripts.render_deploy import MissingValue, placeholders, render, render_file

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").iterdir())
COMPOSE_SECRETS = {"SECRET_KEY": "s" * 48, "POSTGRES_PASSWORD": "pg", "RABBITMQ_PASSWORD": "mq",
                   "SMTP_URL": "smtp://mail.example.com", "HUB_PUBLIC_URL": "https://hub.example.com"}


def env_file_values() -> dict[str, str]:
    lines = (DEPLOY / "hub.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def tool(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is missing: scripts/ensure_test_services.sh or requirements-dev.txt"
    return found


def test_render_fills_placeholders_and_leaves_nginx_variables() -> None:
    assert render("return 301 ${HUB_PUBLIC_URL}$request_uri;", {"HUB_PUBLIC_URL": "https://h"}) \
        == "return 301 https://h$request_uri;"
    with pytest.raises(MissingValue, match="HUB_TLS_CERT"):
        render("ssl_certificate ${HUB_TLS_CERT};", {})


def test_the_environment_file_renders_the_nginx_site() -> None:
    site = render_file(DEPLOY / "nginx" / "smart-ai-hub.conf", env_file_values())
    assert "client_max_body_size 2097152;" in site  # the hub's HUB_MAX_CONTENT_LENGTH_BYTES
    assert not placeholders(site)


def test_rendered_systemd_units_verify(tmp_path: Path) -> None:
    env_file = tmp_path / "hub.env"
    env_file.write_text((DEPLOY / "hub.env.example").read_text())
    values = {"HUB_HOME": str(ROOT), "HUB_USER": "hub", "HUB_ENV_FILE": str(env_file),
              "CERTBOT": shutil.which("true") or "/bin/true"}
    for unit in UNITS:
        (tmp_path / unit.name).write_text(render_file(unit, values))
    rendered = [str(tmp_path / unit.name) for unit in UNITS]
    done = subprocess.run([tool("systemd-analyze"), "verify", "--man=no", *rendered],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    web = (tmp_path / "smart-ai-hub-web.service").read_text()
    assert "ExecReload=/bin/kill -s HUP $MAINPID" in web and "User=hub" in web


def test_dockerfile_lints_clean() -> None:
    done = subprocess.run([tool("hadolint"), "--no-color", str(DEPLOY / "Dockerfile")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "USER 10001" in (DEPLOY / "Dockerfile").read_text()  # not root


def compose_config(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in COMPOSE_SECRETS}
    return subprocess.run([tool("docker-compose"), "-f", "docker-compose.yml", "config"],
                          cwd=DEPLOY, env=clean | env, capture_output=True, text=True,
                          check=False)


def test_compose_file_validates_with_a_release_step_before_the_processes() -> None:
    done = compose_config(**COMPOSE_SECRETS)
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert set(services) == {"postgres", "redis", "rabbitmq", "release", "web", "worker",
                             "scheduler"}
    assert services["release"]["command"] == ["flask", "db", "upgrade"]
    for name in ("web", "worker", "scheduler"):
        assert services[name]["depends_on"]["release"]["condition"] \
            == "service_completed_successfully"
    for name in ("postgres", "redis", "rabbitmq", "web"):
        assert services[name]["healthcheck"]["test"], name


def test_compose_file_refuses_to_run_without_its_secrets() -> None:
    done = compose_config(**(COMPOSE_SECRETS | {"SECRET_KEY": ""}))
    assert done.returncode != 0
    assert "set SECRET_KEY in deploy/.env" in done.stderr + done.stdout, done.stderr


def test_github_workflow_runs_ci_with_the_three_services() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    job = workflow["jobs"]["test"]
    assert set(job["services"]) == {"postgres", "redis", "rabbitmq"}
    assert any("bash .ci/run" in step.get("run", "") for step in job["steps"])
