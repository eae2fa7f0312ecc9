"""Each benchmark's sizes, full or `--smoke`.

`--smoke` runs a benchmark end to end at tiny sizes in seconds, printing its report as usual:
the test suite runs every benchmark that way (tests/test_benchmarks_smoke.py), so a change that
breaks one fails the build. Its figures mean nothing. An option given beside `--smoke` wins.
"""

from __future__ import annotations

import argparse


def parse_sizes(parser: argparse.ArgumentParser,
                sizes: dict[str, tuple[object, object, str]],
                argv: list[str] | None = None) -> argparse.Namespace:
    """Add `--smoke` and one option per size (name → (full, smoke, help)) and parse; an
    option left out takes its full or smoke value."""
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes, one round: checks the benchmark runs, measures nothing")
    for name, (full, smoke, text) in sizes.items():
        parser.add_argument(f"--{name}", type=type(full), default=None,
                            help=f"{text} (default {full}; {smoke} with --smoke)")
    args = parser.parse_args(argv)
    for name, (full, smoke, _) in sizes.items():
        attribute = name.replace("-", "_")
        if getattr(args, attribute) is None:
            setattr(args, attribute, smoke if args.smoke else full)
    return args
