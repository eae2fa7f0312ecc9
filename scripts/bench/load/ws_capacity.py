"""How many concurrent job WebSockets one web process holds: `python -m scripts.bench.load.ws_capacity`.

One gunicorn process (`WEB_CONCURRENCY=1`) with `HUB_WEB_THREADS` raised above the largest step
(each WebSocket holds one of its threads for its whole life), `dramatiq` workers, PostgreSQL,
Redis, RabbitMQ and the fast fake upstream streaming slowly (a chunk every
`--event-interval-ms`; each chunk is one event on the job's stream). For each step of K
sockets: K/`--fanout` chat jobs are created (through `POST /api/jobs`, with the accounts' API
keys), then K WebSockets are opened on them (`--fanout` per job) at `--connect-per-s` by
`--client-processes` client processes (`ws_clients.py`: asyncio + aiohttp), held for
`--hold-s`, and closed; the jobs are then cancelled. Reported per step: sockets opened, failed,
closed before the end; each live event's delay (its arrival at the client less the millisecond
its Redis stream id was written) p50/p95/p99 over the hold window; and the web process's CPU
(cores, over the window), RSS, threads, and TCP connections to Redis and PostgreSQL.

`--smoke`: one small step, a few seconds (the test suite runs it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx

from scripts.bench.gateway import CLK_TCK, PROJECT_ROOT, _cpu_ticks, pct
from scripts.bench.load.stack import LoadStack, StackShape, running_stack, set_autogroup_nice
from scripts.bench.sizes import parse_sizes

REDIS_PORT, POSTGRES_PORT = 6379, 5432
SETTLE_S = 3.0  # after the last socket opened, before the window starts
JOB_MARGIN_S = 30.0  # a job outlives its step by at least this
# A worker thread holds a pooled PostgreSQL connection for its whole job: more threads than
# HUB_DB_POOL_SIZE (20) per process fail jobs, and the machine's PostgreSQL allows 100
# connections in all. So the jobs are few and each is watched by --fanout sockets: the web
# process does the same work per socket whichever job it follows.
WORKER_THREADS = 16


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS (kB) and Threads of a process."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "Threads"):
            out[key] = int(value.split()[0])
    return out


def tcp_connections(pid: int) -> list[tuple[int, int]]:
    """(local port, remote port) of each established TCP connection of `pid` (IPv4 and 6)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and fields[9] in inodes:  # 01: ESTABLISHED
                found.append((int(fields[1].rsplit(":", 1)[1], 16),
                              int(fields[2].rsplit(":", 1)[1], 16)))
    return found


def web_sample(pid: int) -> dict:
    status = proc_status(pid)
    ports = Counter(remote for _local, remote in tcp_connections(pid))
    return {"at": time.time(), "cpu_s": _cpu_ticks(pid) / CLK_TCK, "rss_mb": round(status["VmRSS"] / 1024, 1),
            "threads": status["Threads"], "redis_connections": ports[REDIS_PORT],
            "postgres_connections": ports[POSTGRES_PORT]}


def create_jobs(client: httpx.Client, keys: list[str], count: int) -> list[tuple[str, str]]:
    """`count` chat jobs, each with the next account's key; (job id, key) each."""
    jobs = []
    for index in range(count):
        key = keys[index % len(keys)]
        response = client.post("/api/jobs", headers={"Authorization": f"Bearer {key}"}, json={
            "type": "chat", "model": "gpt-4o-mini", "max_tokens": 4000,
            "messages": [{"role": "user", "content": "Stream slowly, please."}]})
        response.raise_for_status()
        jobs.append((response.json()["id"], key))
    return jobs


def wait_running(client: httpx.Client, jobs: list[tuple[str, str]], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    for job_id, key in jobs:
        while True:
            status = client.get(f"/api/jobs/{job_id}",
                                headers={"Authorization": f"Bearer {key}"}).json()["status"]
            if status == "running":
                break
            if status != "queued" or time.monotonic() > deadline:
                raise SystemExit(f"ws_capacity: job {job_id} is {status}, not running")
            time.sleep(0.1)


def cancel_jobs(client: httpx.Client, jobs: list[tuple[str, str]]) -> None:
    for job_id, key in jobs:
        client.post(f"/api/jobs/{job_id}/cancel", headers={"Authorization": f"Bearer {key}"})


def start_clients(stack: LoadStack, sockets: list[tuple[str, str]], args,
                  scratch: Path) -> list[subprocess.Popen]:
    """The client processes, each opening its share of the sockets from one second from now."""
    procs = []
    start_at = time.time() + 1.0
    for index in range(args.client_processes):
        plan = {"ws_url": stack.base_url.replace("http://", "ws://"),
                "sockets": sockets[index::args.client_processes], "start_at": start_at,
                "connect_per_s": args.connect_per_s / args.client_processes}
        plan_file = scratch / f"plan-{index}.json"
        plan_file.write_text(json.dumps(plan))
        procs.append(subprocess.Popen([sys.executable, "-m", "scripts.bench.load.ws_clients",
                                       str(plan_file)], cwd=PROJECT_ROOT, stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True,
                                      start_new_session=True))
        set_autogroup_nice(procs[-1].pid, args.autogroup_nice)
    return procs


def client_results(procs: list[subprocess.Popen]) -> list[dict]:
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise SystemExit(f"ws_capacity: a client process exited {proc.returncode}")
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def wait_released(pid: int, hub_port: int, timeout_s: float = 60) -> None:
    """Wait until the web process has closed its clients' connections (the step's sockets)."""
    deadline = time.monotonic() + timeout_s
    while any(local == hub_port for local, _remote in tcp_connections(pid)) \
            and time.monotonic() < deadline:
        time.sleep(0.5)


def merge(results: list[dict]) -> dict:
    merged: dict = {"opened": 0, "failed": Counter(), "closed_early": Counter(),
                    "open_at_start": 0, "open_at_end": 0, "events": 0, "delays_ms": [],
                    "lag_ms": []}
    for result in results:
        for key in ("opened", "open_at_start", "open_at_end", "events"):
            merged[key] += result[key]
        merged["failed"].update(result["failed"])
        merged["closed_early"].update(result["closed_early"])
        merged["delays_ms"].extend(result["delays_ms"])
        merged["lag_ms"].extend(result["lag_ms"])
    return merged


def measure_step(stack: LoadStack, keys: list[str], sockets_count: int, args,
                 scratch: Path) -> dict:
    """Open the step's sockets; once every client has them open, wait SETTLE_S, then measure
    for --hold-s; close them and cancel the jobs."""
    web_pid = stack.web_workers()[0]
    with httpx.Client(base_url=stack.base_url, timeout=30) as client:
        jobs = create_jobs(client, keys, math.ceil(sockets_count / args.fanout))
        wait_running(client, jobs)
        opening = time.time()
        procs = start_clients(stack, [jobs[i % len(jobs)] for i in range(sockets_count)], args,
                              scratch)
        for proc in procs:  # "ready N": every socket of that client opened or failed
            if not (proc.stdout.readline() or "").startswith("ready"):
                raise SystemExit("ws_capacity: a client process stopped before its sockets "
                                 "were open")
        ramp_s = time.time() - opening - 1.0
        measure_from = time.time() + SETTLE_S
        measure_until = measure_from + args.hold_s
        for proc in procs:
            proc.stdin.write(f"{measure_from} {measure_until}\n")
            proc.stdin.flush()
        load_before = os.getloadavg()[0]
        time.sleep(max(0.0, measure_from - time.time()))
        before = web_sample(web_pid)
        time.sleep(max(0.0, measure_until - 0.1 - time.time()))
        after = web_sample(web_pid)
        load_after = os.getloadavg()[0]
        results = client_results(procs)
        cancel_jobs(client, jobs)
    wait_released(web_pid, int(stack.base_url.rsplit(":", 1)[1]))
    merged = merge(results)
    delays = merged["delays_ms"]
    window_s = after["at"] - before["at"]
    row = {"sockets": sockets_count, "jobs": len(jobs),
           "events_per_socket_per_s": round(1000 / args.event_interval_ms, 2),
           "opened": merged["opened"], "failed": dict(merged["failed"]),
           "seconds_to_open": round(ramp_s, 1),
           "closed_early": dict(merged["closed_early"]),
           "open_at_window_start": merged["open_at_start"],
           "open_at_window_end": merged["open_at_end"],
           "live_events_in_window": len(delays),
           "events_delivered_per_s": round(len(delays) / args.hold_s, 1)}
    if delays:
        row.update({"delay_p50_ms": round(pct(delays, 0.5), 1),
                    "delay_p95_ms": round(pct(delays, 0.95), 1),
                    "delay_p99_ms": round(pct(delays, 0.99), 1),
                    "delay_max_ms": round(max(delays), 1)})
    if merged["lag_ms"]:  # the clients' own lateness, included in the delays above
        row.update({"client_lag_p95_ms": round(pct(merged["lag_ms"], 0.95), 1),
                    "client_lag_max_ms": round(max(merged["lag_ms"]), 1)})
    row.update({"web_cpu_cores": round((after["cpu_s"] - before["cpu_s"]) / window_s, 2),
                "web_rss_mb": after["rss_mb"], "web_threads": after["threads"],
                "web_redis_connections": after["redis_connections"],
                "web_postgres_connections": after["postgres_connections"],
                "load_average_1m": [round(load_before, 2), round(load_after, 2)]})
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=None, help="keep the logs here")
    args = parse_sizes(parser, {
        "steps": ("250,500,1000,1200", "20", "concurrent sockets, one step each"),
        "web-threads": (0, 64, "HUB_WEB_THREADS (0: the largest step + 64)"),
        "fanout": (40, 5, "sockets per job"),
        "event-interval-ms": (500.0, 200.0, "milliseconds between a job's events (upstream "
                                            "chunks)"),
        "hold-s": (30.0, 3.0, "seconds measured with every socket open"),
        "connect-per-s": (200.0, 50.0, "sockets opened per second"),
        "client-processes": (1, 1, "client processes holding the sockets"),
        "autogroup-nice": (0, 0, "niceness of the hub's and the clients' scheduler groups "
                                 "(below 0, root only: ahead of other sessions on a shared "
                                 "machine; scripts/bench/load/stack.py)"),
        "worker-processes": (2, 1, "dramatiq worker processes (16 threads each, as the "
                                   "Procfile's default)"),
        "settings": ("", "", "extra hub settings for the run, NAME=VALUE,… (e.g. "
                             "HUB_DB_POOL_SIZE=20)"),
    })
    steps = [int(s) for s in args.steps.split(",")]
    biggest = max(steps)
    jobs_at_once = math.ceil(biggest / args.fanout)
    job_s = 2 * biggest / args.connect_per_s + SETTLE_S + args.hold_s + JOB_MARGIN_S
    if jobs_at_once > args.worker_processes * WORKER_THREADS:
        raise SystemExit(f"ws_capacity: {jobs_at_once} jobs at once need more than "
                         f"{args.worker_processes} x {WORKER_THREADS} worker threads: raise "
                         "--fanout or --worker-processes")
    settings = dict(item.split("=", 1) for item in args.settings.split(",") if item)
    shape = StackShape(
        web_processes=1, web_threads=args.web_threads or biggest + 64,
        worker_processes=args.worker_processes,
        worker_threads=WORKER_THREADS,
        upstream_chunks=math.ceil(job_s * 1000 / args.event_interval_ms),
        upstream_delay_ms=args.event_interval_ms, accounts=min(jobs_at_once, 50),
        history_entries=0, settings=settings, autogroup_nice=args.autogroup_nice)
    rows = []
    with tempfile.TemporaryDirectory(prefix="hub-ws-capacity-") as scratch:
        out_dir = args.out or Path(scratch)
        with running_stack(shape, out_dir, label="ws", settle_s=2.0 if args.smoke else 30.0) \
                as stack:
            keys = [user["api_key"] for user in json.loads(stack.users_file.read_text())]
            for sockets_count in steps:
                row = measure_step(stack, keys, sockets_count, args, Path(scratch))
                print(json.dumps(row), flush=True)
                rows.append(row)
    print(json.dumps({"web_threads": shape.web_threads, "fanout": args.fanout,
                      "autogroup_nice": args.autogroup_nice,
                      "event_interval_ms": args.event_interval_ms, "hold_s": args.hold_s,
                      "client_processes": args.client_processes, "steps": rows}))


if __name__ == "__main__":
    main()
