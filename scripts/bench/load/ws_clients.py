"""The client side of the WebSocket capacity measurement (`ws_capacity.py`), one process of
many: `python -m scripts.bench.load.ws_clients PLAN.json`.

asyncio and aiohttp's WebSocket client: one process holds hundreds of sockets for a fraction of
a core, so the client is not what limits the hub on a 2-core machine (each process reports its
own event loop's lateness, which is part of every delay it measures). The plan names the hub,
one (job id, credential) per socket, and when to open them (evenly from `start_at`, at
`connect_per_s`). A socket authenticates by message and reads the job's events.

The conversation with the driver, one line each way: once every socket is open (or has
failed), `ready OPENED` on stdout; the driver answers `MEASURE_FROM MEASURE_UNTIL` (wall times)
on stdin, once every client is ready. Inside that window each live event's delay is recorded:
its arrival less the millisecond its Redis stream id was written (the same clock, one machine),
for events written after the socket opened. At MEASURE_UNTIL every socket is closed and the
results are printed as one JSON line.
"""

import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

HANDSHAKE_TIMEOUT_S = 30.0


@dataclass
class Tally:
    opened: int = 0
    failed: Counter = field(default_factory=Counter)  # why a socket failed to open
    closed_early: Counter = field(default_factory=Counter)  # closed before the window ended
    open_at_start: int = 0
    open_at_end: int = 0
    events: int = 0
    delays_ms: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)


class Window:
    """The measuring window, unknown until the driver sends it."""

    def __init__(self) -> None:
        self.start = self.end = float("inf")
        self.known = asyncio.Event()

    def over(self) -> bool:
        return time.time() >= self.end


async def watch(session: aiohttp.ClientSession, url: str, token: str, window: Window,
                tally: Tally, live: set) -> None:
    try:
        ws = await session.ws_connect(url, timeout=aiohttp.ClientWSTimeout(ws_close=5),
                                      autoping=True, max_msg_size=0)
    except Exception as exc:  # noqa: BLE001 — a refused or timed-out handshake, counted by kind
        tally.failed[type(exc).__name__] += 1
        return
    me = object()
    try:
        await ws.send_str(json.dumps({"type": "auth", "token": token}))
        opened_ms = time.time() * 1000
        tally.opened += 1
        live.add(me)
        while not window.over():
            try:
                msg = await ws.receive(timeout=min(1.0, max(0.01, window.end - time.time())))
            except TimeoutError:
                continue
            if msg.type != aiohttp.WSMsgType.TEXT:
                tally.closed_early[f"close {ws.close_code}"] += 1
                return
            now_ms = time.time() * 1000
            event = json.loads(msg.data)
            tally.events += 1
            written_ms = int(event["id"].split("-", 1)[0])
            if written_ms >= opened_ms and window.start * 1000 <= written_ms <= window.end * 1000:
                tally.delays_ms.append(round(now_ms - written_ms, 1))
            if event["type"] == "done":
                tally.closed_early["done"] += 1
                return
    finally:
        live.discard(me)
        await ws.close()


async def loop_lag(window: Window, tally: Tally, tick_s: float = 0.05) -> None:
    """How late this process's event loop wakes, one sample per tick inside the window."""
    await window.known.wait()
    await asyncio.sleep(max(0.0, window.start - time.time()))
    while (now := time.perf_counter()) and not window.over():
        await asyncio.sleep(tick_s)
        tally.lag_ms.append(round((time.perf_counter() - now - tick_s) * 1000, 1))


async def snapshots(window: Window, live: set, tally: Tally) -> None:
    await window.known.wait()
    await asyncio.sleep(max(0.0, window.start - time.time()))
    tally.open_at_start = len(live)
    await asyncio.sleep(max(0.0, window.end - 0.05 - time.time()))
    tally.open_at_end = len(live)


async def run(plan: dict) -> Tally:
    tally, live, window = Tally(), set(), Window()
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    # the handshake must be answered within HANDSHAKE_TIMEOUT_S (a web process with no free
    # thread leaves it waiting): a socket that is not is counted as failed
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(
            total=HANDSHAKE_TIMEOUT_S)) as session:
        tasks = [asyncio.create_task(snapshots(window, live, tally)),
                 asyncio.create_task(loop_lag(window, tally))]
        for index, (job_id, token) in enumerate(plan["sockets"]):
            await asyncio.sleep(max(0.0, plan["start_at"] + index / plan["connect_per_s"]
                                    - time.time()))
            tasks.append(asyncio.create_task(
                watch(session, f"{plan['ws_url']}/ws/jobs/{job_id}", token, window, tally,
                      live)))
        while tally.opened + sum(tally.failed.values()) < len(plan["sockets"]):
            await asyncio.sleep(0.05)
        print(f"ready {tally.opened}", flush=True)
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        window.start, window.end = (float(part) for part in line.split())
        window.known.set()
        await asyncio.gather(*tasks)
    return tally


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text())
    tally = asyncio.run(run(plan))
    print(json.dumps({"sockets": len(plan["sockets"]), "opened": tally.opened,
                      "failed": dict(tally.failed), "closed_early": dict(tally.closed_early),
                      "open_at_start": tally.open_at_start, "open_at_end": tally.open_at_end,
                      "events": tally.events, "delays_ms": tally.delays_ms,
                      "lag_ms": tally.lag_ms}))


if __name__ == "__main__":
    main()
