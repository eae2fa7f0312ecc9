"""A/B of the gateway benchmark between two checkouts: `python -m scripts.bench.ab_gateway
BASE_DIR NEW_DIR [--pairs N] [gateway arguments…]`.

Runs `scripts.bench.gateway` from each checkout in turn (A, B, A, B…: interleaved pairs, so
slow drift of the machine hits both alike), each run measuring its own direct-to-upstream
baseline, and prints one JSON line per run plus the medians per side of the hub's added time
to first token, its throughput relative to the direct path, and its CPU per request, per
workload (`--workloads`, passed on to the gateway; an embeddings batch reports its added
latency, `added_p50_ms`, instead of a first token's).
`--smoke`: one pair of `gateway --smoke` runs (the same checkout may be both sides).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path


def run_once(checkout: Path, extra: list[str]) -> list[dict]:
    python = checkout / ".venv" / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{checkout}: no .venv (run `make test` there once)")
    done = subprocess.run([str(python), "-m", "scripts.bench.gateway", *extra], cwd=checkout,
                          capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in done.stdout.splitlines()
            if line.startswith("{") and '"concurrency"' in line]
    if not rows:
        raise SystemExit(f"no measurements from {checkout}:\n{done.stderr[-2000:]}")
    return rows


def figures(row: dict) -> dict:
    if "hub_added_ttft_p50_ms" in row:  # a stream
        added = {"added_ttft_p50_ms": row["hub_added_ttft_p50_ms"]}
        rate = "completions_per_s"
    else:  # a batch, not streamed
        added = {"added_p50_ms": row["hub_added_p50_ms"], "added_p95_ms": row["hub_added_p95_ms"]}
        rate = "requests_per_s"
    return {**added,
            "throughput_ratio": round(row["hub"][rate] / row["direct"][rate], 3),
            rate: row["hub"][rate],
            "cpu_ms_per_request": row["hub_cpu_ms_per_request"],
            **{f"{part}_cpu_ms": ms for part, ms in row["cpu_ms_per_request"].items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--pairs", type=int, default=None, help="default 3; 1 with --smoke")
    parser.add_argument("--smoke", action="store_true",
                        help="one pair of `gateway --smoke` runs: checks the driver runs, "
                             "measures nothing")
    args, extra = parser.parse_known_args()
    if args.pairs is None:
        args.pairs = 1 if args.smoke else 3
    if args.smoke:
        extra = ["--smoke", *extra]
    results: dict[tuple[str, str, int, float], list[dict]] = {}
    for pair in range(args.pairs):
        for side, checkout in (("A", args.base), ("B", args.new)):
            for row in run_once(checkout, extra):
                # a checkout from before `--workloads` measures chat only
                key = (side, row.get("workload", "chat"), row["concurrency"],
                       row["upstream_delay_ms"])
                results.setdefault(key, []).append(figures(row))
                print(json.dumps({"pair": pair + 1, "side": side, "workload": key[1],
                                  "concurrency": key[2], "upstream_delay_ms": key[3],
                                  **figures(row)}), flush=True)
    for (side, workload, level, delay), runs in sorted(results.items(),
                                                       key=lambda kv: kv[0][1:] + kv[0][:1]):
        medians = {name: round(statistics.median(run[name] for run in runs), 3)
                   for name in runs[0]}
        print(json.dumps({"median_of": len(runs), "side": side, "workload": workload,
                          "concurrency": level, "upstream_delay_ms": delay, **medians}),
              flush=True)


if __name__ == "__main__":
    sys.exit(main())
