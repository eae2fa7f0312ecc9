"""The load test: `python -m scripts.bench.load.run` (or `make load-test`).

Starts the hub in its production shape (`stack.py`: gunicorn gthread + `dramatiq` workers on
PostgreSQL, Redis and RabbitMQ, the OpenAI provider on the fast fake upstream, fresh seeded
accounts), runs the mixed workload (`locustfile.py`) headless with Locust at a stated constant
rate for a stated time, and prints a summary: p50/p95/p99 per endpoint and per group, the
requests per second achieved, the failures, the CPU of each process tree, the load average;
each latency also as a ratio to the same-run baseline (`/healthz` for the JSON endpoints, a
stream straight from the upstream for `/v1` streams).

The default rate: 45 web users at 2.2 tasks/s each (about 108 JSON requests/s: 50 balance
reads, 30 history pages, 9 chat jobs created and read back, and half a sign-in per second;
each user also signs in as it starts) and 5 API users streaming once a second each, for 120 s
after a 20 s ramp. The ramp is left out of the figures. `--smoke`: a few seconds at a
low rate on one process of each kind (the test suite runs it: tests/test_load_smoke.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.bench.gateway import PROJECT_ROOT, pct
from scripts.bench.load.stack import UPSTREAM_KEY, StackShape, running_stack, set_autogroup_nice
from scripts.bench.sizes import parse_sizes

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
SIGN_IN = "POST /api/auth/login"
JSON_READS_AND_JOBS = ("GET /api/credits/balance", "GET /api/credits/transactions",
                       "POST /api/jobs", "GET /api/jobs/[id]")
# group → the sample names it pools; each reported with p50/p95/p99 and a rate
GROUPS = {
    "json endpoints (sign-in excluded)": JSON_READS_AND_JOBS,
    "json endpoints (sign-in included)": (*JSON_READS_AND_JOBS, SIGN_IN),
}
BASELINES = {  # a figure's same-run reference
    "json": "GET /healthz (baseline)",
    "stream first token": "upstream (baseline) first token",
    "stream whole": "upstream (baseline) whole stream",
}
EXPECTED_NAMES = (
    SIGN_IN, *JSON_READS_AND_JOBS,
    "/ws/jobs/[id] connect", "/ws/jobs/[id] first event", "/ws/jobs/[id] watched to done",
    "/ws/jobs/[id] event delay",
    "POST /v1/chat/completions", "/v1/chat/completions first token",
    "/v1/chat/completions whole stream",
    "GET /healthz (baseline)", "POST upstream (baseline)", "upstream (baseline) first token",
    "upstream (baseline) whole stream",
)


def figures(values: list[float], seconds: float) -> dict:
    if not values:
        return {"count": 0}
    return {"count": len(values), "per_s": round(len(values) / seconds, 1),
            "p50_ms": round(pct(values, 0.50), 2), "p95_ms": round(pct(values, 0.95), 2),
            "p99_ms": round(pct(values, 0.99), 2), "max_ms": round(max(values), 2)}


def ratios(row: dict, base: dict) -> dict:
    return {f"{q}_ratio": round(row[f"{q}_ms"] / base[f"{q}_ms"], 1)
            for q in ("p50", "p95", "p99") if row.get(f"{q}_ms") and base.get(f"{q}_ms")}


def baseline_for(name: str) -> str:
    if name.endswith("first token"):
        return BASELINES["stream first token"]
    if name.endswith("whole stream"):
        return BASELINES["stream whole"]
    return BASELINES["json"]


def summarise(samples: list, window: tuple[float, float]) -> dict:
    """Figures per sample name and per group, from the samples inside `window` (wall times)."""
    start, end = window
    seconds = end - start
    times: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    for at, _kind, name, ms, ok in samples:
        if not ok:  # every failure counts, ramp and tail included
            failures[name] = failures.get(name, 0) + 1
        elif start <= at <= end:
            times.setdefault(name, []).append(ms)
    per_name = {name: figures(values, seconds) for name, values in sorted(times.items())}
    for name, row in per_name.items():
        if not name.endswith("(baseline)") and "(baseline)" not in name:
            row.update(ratios(row, per_name.get(baseline_for(name), {})))
    groups = {}
    for group, names in GROUPS.items():
        row = figures([ms for name in names for ms in times.get(name, [])], seconds)
        row.update(ratios(row, per_name.get(BASELINES["json"], {})))
        groups[group] = row
    return {"window_s": round(seconds, 1), "groups": groups, "per_name": per_name,
            "failures": failures, "failure_count": sum(failures.values()),
            "sample_count": len(samples),
            "names_seen": sorted({name for _at, _kind, name, _ms, _ok in samples})}


def run_locust(args: argparse.Namespace, stack, out_dir: Path) -> tuple[int, float, float]:
    """Run Locust headless against `stack`; return its exit code, its start (wall time) and
    its CPU seconds."""
    users = args.web_users + args.api_users + 1
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
           "-H", stack.base_url, "-u", str(users), "-r", str(max(1.0, users / args.ramp_s)),
           "-t", f"{round(args.duration_s + args.ramp_s)}s", "--stop-timeout", "60",
           "--csv", str(out_dir / "locust"), "--only-summary", "--loglevel", "WARNING",
           "--users-file", str(stack.users_file), "--samples-file", str(out_dir / "samples.json"),
           "--upstream-url", stack.upstream_url, "--upstream-key", UPSTREAM_KEY,
           "--web-users", str(args.web_users), "--web-rate", str(args.web_rate),
           "--api-users", str(args.api_users), "--api-rate", str(args.api_rate),
           "--probe-rate", str(args.probe_rate)]
    started = time.time()
    with open(out_dir / "locust.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        set_autogroup_nice(proc.pid, args.autogroup_nice)
        _pid, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, started, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None,
                        help="keep the logs, Locust's CSV and the samples here (default: a "
                             "temporary directory, removed)")
    args = parse_sizes(parser, {
        "web-users": (45, 2, "simulated dashboard users"),
        "web-rate": (2.2, 2.0, "tasks per second per web user"),
        "api-users": (5, 1, "simulated integrations streaming /v1/chat/completions"),
        "api-rate": (1.0, 0.5, "streams per second per API user"),
        "probe-rate": (4.0, 4.0, "baseline probes per second"),
        "duration-s": (120.0, 6.0, "seconds measured, after the ramp"),
        "ramp-s": (20.0, 2.0, "seconds to start every user (left out of the figures)"),
        "web-processes": (2, 1, "gunicorn processes (WEB_CONCURRENCY)"),
        "web-threads": (128, 32, "threads per gunicorn process (HUB_WEB_THREADS)"),
        "worker-processes": (2, 1, "dramatiq worker processes"),
        "worker-threads": (16, 4, "threads per dramatiq worker process"),
        "chunks": (50, 10, "chunks per streamed reply from the fake upstream"),
        "delay-ms": (20.0, 50.0, "milliseconds between the upstream's chunks"),
        "accounts": (50, 4, "seeded accounts"),
        "autogroup-nice": (0, 0, "niceness of the hub's and Locust's scheduler groups (below 0, "
                                 "root only: ahead of other sessions on a shared machine; "
                                 "scripts/bench/load/stack.py)"),
    })
    shape = StackShape(web_processes=args.web_processes, web_threads=args.web_threads,
                       worker_processes=args.worker_processes,
                       worker_threads=args.worker_threads, upstream_chunks=args.chunks,
                       upstream_delay_ms=args.delay_ms, accounts=args.accounts,
                       history_entries=3 if args.smoke else 20,
                       autogroup_nice=args.autogroup_nice)
    with tempfile.TemporaryDirectory(prefix="hub-load-") as scratch:
        out_dir = args.out or Path(scratch)
        out_dir.mkdir(parents=True, exist_ok=True)
        with running_stack(shape, out_dir, settle_s=2.0 if args.smoke else 30.0) as stack:
            load_before, cpu_before = os.getloadavg(), stack.meter.sample()
            code, started, locust_cpu_s = run_locust(args, stack, out_dir)
            cpu_after, load_after = stack.meter.sample(), os.getloadavg()
            elapsed = time.time() - started
        samples = json.loads((out_dir / "samples.json").read_text()) \
            if (out_dir / "samples.json").exists() else []
        window = (started + args.ramp_s, started + args.ramp_s + args.duration_s)
        report = {"config": {k: v for k, v in vars(args).items() if k != "out"},
                  "locust_exit_code": code,
                  "load_average_1m": {"before": round(load_before[0], 2),
                                      "after": round(load_after[0], 2)},
                  "cpu_cores_used": {part: round((cpu_after[part] - cpu_before[part]) / elapsed, 2)
                                     for part in cpu_after}
                  | {"locust": round(locust_cpu_s / elapsed, 2)},
                  **summarise(samples, window)}
    print(json.dumps(report, indent=2))
    if code != 0 or report["failure_count"]:
        raise SystemExit(f"load test: Locust exited {code}, {report['failure_count']} failures")


if __name__ == "__main__":
    main()
