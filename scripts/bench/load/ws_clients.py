"""The client side of the WebSocket capacity measurement (`ws_capacity.py`), one process of
many: `python -m scripts.bench.load.ws_clients PLAN.json` prints its results as one JSON line.

asyncio and aiohttp's WebSocket client: one process holds hundreds of sockets for a fraction of
a core, so the client is not what limits the hub on a 2-core machine. The plan names the hub,
one (job id, credential) per socket, when to open them (evenly from `start_at`, at
`connect_per_s`) and the measuring window (`measure_from` to `measure_until`, wall times). A
socket authenticates by message and reads the job's events; an event's delay is its arrival
less the millisecond its Redis stream id was written (the same clock: one machine), counted for
live events (written after the socket was open) written inside the window. At `measure_until`
every socket is closed.
"""

from __future__ import annotations

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


async def watch(session: aiohttp.ClientSession, url: str, token: str, plan: dict,
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
        window_ms = plan["measure_from"] * 1000, plan["measure_until"] * 1000
        while True:
            remaining = plan["measure_until"] - time.time()
            if remaining <= 0:
                return
            try:
                msg = await ws.receive(timeout=remaining)
            except TimeoutError:
                return
            if msg.type != aiohttp.WSMsgType.TEXT:
                tally.closed_early[f"close {ws.close_code}"] += 1
                return
            now_ms = time.time() * 1000
            event = json.loads(msg.data)
            tally.events += 1
            written_ms = int(event["id"].split("-", 1)[0])
            if written_ms >= opened_ms and window_ms[0] <= written_ms <= window_ms[1]:
                tally.delays_ms.append(round(now_ms - written_ms, 1))
            if event["type"] == "done":
                tally.closed_early["done"] += 1
                return
    finally:
        live.discard(me)
        await ws.close()


async def loop_lag(since: float, until: float, tally: Tally, tick_s: float = 0.05) -> None:
    """How late this process's event loop wakes (a client too busy to read at once adds its lag
    to every delay it measures): one sample per tick, from `since` to `until`."""
    await asyncio.sleep(max(0.0, since - time.time()))
    while (now := time.perf_counter()) and time.time() < until:
        await asyncio.sleep(tick_s)
        tally.lag_ms.append(round((time.perf_counter() - now - tick_s) * 1000, 1))


async def snapshot(at: float, live: set, tally: Tally, attribute: str) -> None:
    await asyncio.sleep(max(0.0, at - time.time()))
    setattr(tally, attribute, len(live))


async def run(plan: dict) -> Tally:
    tally, live = Tally(), set()
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    # the handshake must be answered within HANDSHAKE_TIMEOUT_S (a web process with no free
    # thread leaves it waiting): a socket that is not is counted as failed
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(
            total=HANDSHAKE_TIMEOUT_S)) as session:
        tasks = [asyncio.create_task(snapshot(plan["measure_from"], live, tally, "open_at_start")),
                 asyncio.create_task(snapshot(plan["measure_until"] - 0.05, live, tally,
                                              "open_at_end")),
                 asyncio.create_task(loop_lag(plan["measure_from"], plan["measure_until"],
                                              tally))]
        for index, (job_id, token) in enumerate(plan["sockets"]):
            await asyncio.sleep(max(0.0, plan["start_at"] + index / plan["connect_per_s"]
                                    - time.time()))
            tasks.append(asyncio.create_task(
                watch(session, f"{plan['ws_url']}/ws/jobs/{job_id}", token, plan, tally, live)))
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
