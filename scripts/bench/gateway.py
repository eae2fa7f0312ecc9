"""Gateway benchmark: `python -m scripts.bench.gateway` (or `make bench-gateway`).

In one run, interleaved (A, B, A, B…), streaming chat requests sent
  A: directly to a fast fake upstream (`scripts.bench.fast_upstream`, aiohttp, its own process),
  B: through the hub's `/v1/chat/completions` in its production shape — gunicorn (gthread) +
     `dramatiq` worker processes on RabbitMQ + PostgreSQL + Redis event streams, with billing
     (hold, settle, usage record) on,
at concurrency 1, 16 and 64, with an upstream that sends 50 chunks with no delay (the hub's
overhead) and with 20 ms between chunks (a realistic model). Reports time to first token and
total time (p50/p95), completed requests per second, and the hub's CPU milliseconds per request
(web + worker processes; PostgreSQL, Redis and RabbitMQ reported apart).

`--workloads chat,tools,embeddings` (default `chat`, the figures every earlier note has) adds a
streamed tool call (one function tool; the added time to its first `delta.tool_calls`) and a
non-streamed `/v1/embeddings` batch (16 inputs of ~100 tokens, base64; the added latency, p50
and p95) — see `scripts.bench.gateway_workloads`. Each is measured, interleaved the same way,
at every level and delay (an embeddings reply comes after one delay, not per chunk);
every row names its `workload`.

Creates its own database (dropped at the end) and Redis/queue prefixes; everything on 127.0.0.1.
`--smoke`: one level, one delay, one pair of three requests, one process of each kind (and the
chosen workloads).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import aiohttp
import httpx
import psycopg2

from scripts.bench.gateway_workloads import Workload, one_request, parse_workloads

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
BROKER_URL = os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_sql(sql: str) -> None:
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def wait_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"bench: {url} did not come up")


# --- CPU accounting -------------------------------------------------------------------------
def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0


def _children(pid: int) -> list[int]:
    out = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = (task / "children").read_text().split()
        except FileNotFoundError:
            continue
        for kid in kids:
            out.extend(_children(int(kid)))
    return out


def _pids_named(*names: str) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/comm"):
        try:
            if stat.read_text().strip() in names:
                pids.append(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError):
            continue
    return pids


class CpuMeter:
    """CPU seconds used by the hub's process trees (web, worker) and by each data store."""

    STORES = {"postgres": ("postgres",), "redis": ("redis-server",), "rabbitmq": ("beam.smp",)}

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots

    def sample(self) -> dict[str, float]:
        out = {name: sum(_cpu_ticks(p) for p in _children(root)) / CLK_TCK
               for name, root in self.roots.items()}
        for name, comms in self.STORES.items():
            out[name] = sum(_cpu_ticks(p) for p in _pids_named(*comms)) / CLK_TCK
        return out


def wait_until_idle(meter: CpuMeter, timeout_s: float = 60.0) -> None:
    """Wait until the hub's processes have finished starting: under 2 % of a core for 1 s."""
    deadline = time.monotonic() + timeout_s
    before = meter.sample()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        after = meter.sample()
        if sum(after[p] - before[p] for p in meter.roots) < 0.02:
            return
        before = after


# --- the load --------------------------------------------------------------------------------
async def run_round(workload: Workload, base_url: str, headers: list[dict], concurrency: int,
                    requests: int) -> dict:
    """`requests` requests of `workload`, `concurrency` at a time, over kept-alive connections;
    concurrent client i sends as caller `headers[i % len(headers)]`.

    The load generator is aiohttp's client: it costs a fraction of httpx's CPU per streamed
    line, and its CPU is taken from the same two cores as the hub's."""
    results: list[tuple[float, float, float | None]] = []
    remaining = requests
    url = base_url + workload.path
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=120)) as session:
        async def worker(caller: dict) -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                results.append(await one_request(session, workload, url, caller))

        start = time.perf_counter()
        await asyncio.gather(*(worker(headers[i % len(headers)]) for i in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {"results": results, "elapsed_s": elapsed}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the processes ---------------------------------------------------------------------------
@contextmanager
def process(cmd: list[str], env: dict[str, str], log_path: str | None = None):
    """`cmd` in a session of its own, its output appended to `log_path` (else BENCH_PROC_LOG,
    else nowhere); stopped (TERM, then KILL) when the block ends."""
    log_path = log_path or os.environ.get("BENCH_PROC_LOG", os.devnull)
    with open(log_path, "a") as log:  # the child keeps a copy
        proc = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, start_new_session=True,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def hub_env(db_url: str, prefix: str, port: int, upstream_url: str,
            web_processes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "OPENAI", "ANTHROPIC"))}
    env.update({
        "HUB_ENV": "production", "SECRET_KEY": "bench-" + "s" * 40, "DATABASE_URL": db_url,
        "HUB_MAIL_LOG_IN_PRODUCTION": "true",  # no mail is sent; no SMTP server to name
        "REDIS_URL": REDIS_URL, "BROKER_URL": BROKER_URL, "HUB_REDIS_PREFIX": prefix,
        "HUB_QUEUE_PREFIX": prefix, "PORT": str(port), "HOST": "127.0.0.1",
        "OPENAI_API_KEY": "sk-fake-upstream", "OPENAI_BASE_URL": f"{upstream_url}/v1",
        "HUB_LOG_LEVEL": "WARNING", "WEB_CONCURRENCY": web_processes,
        "HUB_WEB_THREADS": "96",
        # billing, auth and rate limiting stay on; the per-caller API limit is lifted so the
        # load generator, one caller, is not refused
        "HUB_RATE_LIMIT_API": "100000000/minute",
    })
    # BENCH_HUB_X=v runs the hub with HUB_X=v (e.g. BENCH_HUB_STREAM_COALESCE_MS=0)
    env.update({k[len("BENCH_"):]: v for k, v in os.environ.items() if k.startswith("BENCH_HUB_")})
    return env


def setup_database(env: dict[str, str], callers: int) -> list[str]:
    """Migrate, create `callers` funded users, return a hub API key for each (what /v1 callers
    send)."""
    code = (
        "from app import create_app, migrations\n"
        "from app.models.users import User\n"
        "from app.models.base import utcnow\n"
        "from app.services import ledger\n"
        "from app.services.api_keys import create_key\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    migrations.upgrade()\n"
        f"    for i in range({callers}):\n"
        "        user = User.create(email=f'bench{i}@example.com', name='Bench',\n"
        "                           email_verified_at=utcnow())\n"
        "        ledger.credit(user.id, 10**13, kind='promo', idempotency_key=f'bench:funds:{i}')\n"
        "        print(create_key(user, 'bench').plaintext)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-callers:]


def main() -> None:
    from scripts.bench.sizes import parse_sizes

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=1,
                        help="hub users (one API key each) the concurrent clients send as; 1: "
                             "every request is one account's, whose row each hold and settle "
                             "locks in turn")
    parser.add_argument("--workloads", default="chat",
                        help="comma-separated, measured in this order at each level: chat "
                             "(streamed text), tools (a streamed tool call), embeddings (a "
                             "batch of 16 inputs); default chat")
    parser.add_argument("--profile-dir", default="",
                        help="record py-spy stacks of the hub's processes during hub rounds here")
    args = parse_sizes(parser, {
        "levels": ("1,16,64", "1", "concurrency levels"),
        "rounds": (3, 1, "A/B pairs per level and delay"),
        "requests": (0, 3, "requests per round (0: max(30, 4 x concurrency))"),
        "delays-ms": ("0,20", "0", "upstream delays between chunks"),
        "worker-processes": ("2", "1", "dramatiq worker processes"),
        "web-processes": (os.environ.get("WEB_CONCURRENCY", "2"), "1",
                          "gunicorn processes (WEB_CONCURRENCY)"),
    })
    warm_up = (1, 2) if args.smoke else (4, 20)  # (concurrency, requests) per path
    workloads = parse_workloads(args.workloads)

    run_id = uuid.uuid4().hex[:8]
    db_name, prefix = f"hub_bench_gw_{run_id}", f"bench{run_id}:"
    admin_sql(f'CREATE DATABASE "{db_name}"')
    db_url = urlunparse(urlparse(ADMIN_URL)._replace(path=f"/{db_name}"))
    report: list[dict] = []
    tokens: list[str] = []
    try:
        for delay_ms in [float(d) for d in args.delays_ms.split(",")]:
            upstream_port, hub_port = free_port(), free_port()
            upstream_url = f"http://127.0.0.1:{upstream_port}"
            env = hub_env(db_url, prefix, hub_port, upstream_url, args.web_processes)
            upstream_cmd = [sys.executable, "-m", "scripts.bench.fast_upstream", "--port",
                            str(upstream_port), "--chunks", "50", "--delay-ms", str(delay_ms)]
            with process(upstream_cmd, dict(os.environ)):
                wait_http(f"{upstream_url}/v1/models")
                tokens = tokens or setup_database(env, args.callers)
                with process([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                              "wsgi:app"], env) as web, \
                        process([sys.executable, "-m", "dramatiq", "workers", "--processes",
                                 args.worker_processes, "--threads", "16"], env) as workers:
                    wait_http(f"http://127.0.0.1:{hub_port}/healthz")
                    meter = CpuMeter({"web": web.pid, "worker": workers.pid})
                    # start-up work (imports, tokenizers) is not billed
                    wait_until_idle(meter, timeout_s=2.0 if args.smoke else 60.0)
                    direct = (upstream_url, [{"Authorization": "Bearer sk-fake-upstream"}])
                    via_hub = (f"http://127.0.0.1:{hub_port}",
                               [{"Authorization": f"Bearer {token}"} for token in tokens])
                    for workload in workloads:  # warm up both paths
                        asyncio.run(run_round(workload, *via_hub, *warm_up))
                        asyncio.run(run_round(workload, *direct, *warm_up))
                    for level in [int(c) for c in args.levels.split(",")]:
                        for workload in workloads:
                            report.append(measure(level, delay_ms, workload, args, direct,
                                                  via_hub, meter))
    finally:
        admin_sql(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        from scripts.bench.cleanup import delete_rabbitmq_queues, delete_redis_keys

        delete_redis_keys(REDIS_URL, prefix)
        delete_rabbitmq_queues(BROKER_URL, prefix)
    print(json.dumps(report, indent=2))


def _start_profilers(directory: str, roots: list[int], label: str) -> list[subprocess.Popen]:
    """py-spy on each hub process tree (raw collapsed stacks, appended per round)."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    procs = []
    for index, root in enumerate(roots):
        out = Path(directory) / f"{label}-root{index}-{time.monotonic_ns()}.txt"
        procs.append(subprocess.Popen(
            ["py-spy", "record", "--pid", str(root), "--subprocesses", "--format", "raw",
             "--rate", "250", "--nonblocking", "--gil", "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    time.sleep(1.0)  # let py-spy attach before the round starts
    return procs


def _stop_profilers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGINT)
    for proc in procs:
        proc.wait(timeout=30)


def measure(level: int, delay_ms: float, workload: Workload, args, direct, via_hub,
            meter: CpuMeter) -> dict:
    """One level of one workload: `args.rounds` pairs of rounds, direct then through the hub."""
    requests = args.requests or max(30, 4 * level)
    samples: dict[str, list] = {"direct": [], "hub": []}
    elapsed = {"direct": 0.0, "hub": 0.0}
    cpu: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, target in (("direct", direct), ("hub", via_hub)):
            label = f"{workload.name}-c{level}-d{delay_ms:g}"
            profilers = _start_profilers(args.profile_dir, list(meter.roots.values()), label) \
                if name == "hub" and args.profile_dir else []
            before = meter.sample()
            result = asyncio.run(run_round(workload, *target, level, requests))
            after = meter.sample()
            _stop_profilers(profilers)
            samples[name].extend(result["results"])
            elapsed[name] += result["elapsed_s"]
            if name == "hub":
                for part in after:
                    cpu[part] = cpu.get(part, 0.0) + after[part] - before[part]
    row = {"workload": workload.name, "concurrency": level, "upstream_delay_ms": delay_ms,
           "callers": args.callers}
    row.update(stream_figures(samples, elapsed) if workload.streamed
               else batch_figures(samples, elapsed, workload))
    # what the hub itself measured between taking the request and its first token (or, for a
    # batch, its answer) going out (X-Hub-Overhead-Ms): the rest of the added time is before
    # the app sees the request
    reported = [r[2] for r in samples["hub"] if r[2] is not None]
    row["hub_reported_overhead_p50_ms"] = round(statistics.median(reported), 2) if reported else None
    count = len(samples["hub"])
    per_request = {part: round(seconds * 1000 / count, 2) for part, seconds in cpu.items()}
    row["hub_cpu_ms_per_request"] = round(per_request["web"] + per_request["worker"], 2)
    row["cpu_ms_per_request"] = per_request
    print(json.dumps(row), flush=True)
    return row


def stream_figures(samples: dict[str, list], elapsed: dict[str, float]) -> dict:
    """A streamed workload's figures per path, and the added time to the first delta."""
    row: dict = {}
    for name in ("direct", "hub"):
        ttft = [r[0] for r in samples[name]]
        total = [r[1] for r in samples[name]]
        row[name] = {"ttft_p50_ms": round(statistics.median(ttft), 2),
                     "ttft_p95_ms": round(pct(ttft, 0.95), 2),
                     "total_p50_ms": round(statistics.median(total), 2),
                     "total_p95_ms": round(pct(total, 0.95), 2),
                     "completions_per_s": round(len(total) / elapsed[name], 1)}
    row["hub_added_ttft_p50_ms"] = round(row["hub"]["ttft_p50_ms"] - row["direct"]["ttft_p50_ms"], 2)
    return row


def batch_figures(samples: dict[str, list], elapsed: dict[str, float],
                  workload: Workload) -> dict:
    """A non-streamed batch's latency per path and the added latency, p50 and p95 (each the
    difference of the two paths' percentiles, not a percentile of differences)."""
    row: dict = {"inputs": len(workload.body["input"])}
    for name in ("direct", "hub"):
        total = [r[1] for r in samples[name]]
        row[name] = {"total_p50_ms": round(statistics.median(total), 2),
                     "total_p95_ms": round(pct(total, 0.95), 2),
                     "requests_per_s": round(len(total) / elapsed[name], 1)}
    for q in ("p50", "p95"):
        row[f"hub_added_{q}_ms"] = round(row["hub"][f"total_{q}_ms"]
                                         - row["direct"][f"total_{q}_ms"], 2)
    return row


if __name__ == "__main__":
    main()
