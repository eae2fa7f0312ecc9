"""Run the fake upstream on its own, for benchmarks: `python -m tests.fake_upstream --help`."""

from __future__ import annotations

import argparse
import signal
import threading

from tests.fake_upstream.server import FakeUpstream


def main() -> None:
    parser = argparse.ArgumentParser(description="Fake OpenAI/Anthropic upstream on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--chunks", type=int, default=50, help="text chunks per streamed reply")
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="delay between chunks (0: fast mode)")
    parser.add_argument("--api-key", default="sk-fake-upstream")
    args = parser.parse_args()
    fake = FakeUpstream(api_key=args.api_key, chunk_count=args.chunks,
                        chunk_delay_s=args.delay_ms / 1000).start(port=args.port)
    print(f"fake upstream: OPENAI_BASE_URL={fake.openai_base_url} "
          f"ANTHROPIC_BASE_URL={fake.anthropic_base_url} key={fake.api_key}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    fake.stop()


if __name__ == "__main__":
    main()
