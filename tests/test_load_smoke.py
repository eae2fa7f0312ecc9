"""The load test runs (docs/benchmarks/README.md): the mixed workload's Locust scenario
(`scripts.bench.load.run --smoke`: a few seconds at a low rate against gunicorn and a
`dramatiq` worker on PostgreSQL, Redis and RabbitMQ with the fast fake upstream) ends with no
failure and with every kind of request in its statistics, and the WebSocket capacity
measurement (`scripts.bench.load.ws_capacity --smoke`) holds every socket it opens. A change
that breaks the scenario (a route, a shape, the sign-in, the job socket) fails here. No figure
is asserted, only that there is one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.bench.load.run import EXPECTED_NAMES, GROUPS

ROOT = Path(__file__).resolve().parent.parent


def run_smoke(module: str, timeout_s: float = 110) -> str:
    done = subprocess.run([sys.executable, "-m", f"scripts.bench.load.{module}", "--smoke"],
                          cwd=ROOT, capture_output=True, text=True, timeout=timeout_s,
                          check=False)
    assert done.returncode == 0, f"{module} --smoke exited {done.returncode}:\n" \
                                 f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@pytest.mark.slow
def test_the_mixed_workload_runs_without_a_failure_and_makes_every_request() -> None:
    report = json.loads(run_smoke("run"))
    assert report["locust_exit_code"] == 0 and report["failure_count"] == 0, report["failures"]
    missing = set(EXPECTED_NAMES) - set(report["names_seen"])
    assert not missing, f"never made: {sorted(missing)}"
    for group in GROUPS:
        row = report["groups"][group]
        assert row["count"] > 0 and all(is_number(row[f"{q}_ms"]) for q in ("p50", "p95", "p99"))
    assert all(is_number(cores) for cores in report["cpu_cores_used"].values()), report


@pytest.mark.slow
def test_the_websocket_capacity_measurement_holds_every_socket() -> None:
    report = json.loads(run_smoke("ws_capacity").strip().splitlines()[-1])  # the summary
    [step] = report["steps"]
    assert step["failed"] == {} and step["closed_early"] == {}, step
    assert step["opened"] == step["open_at_window_start"] == step["open_at_window_end"] \
        == step["sockets"], step
    for name in ("delay_p50_ms", "delay_p95_ms", "delay_p99_ms", "web_cpu_cores", "web_rss_mb",
                 "client_lag_p95_ms"):
        assert is_number(step[name]), (name, step)
