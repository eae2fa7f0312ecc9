"""Audit the installed packages for known vulnerabilities, and say plainly when nothing was checked.

pip-audit on a machine that cannot reach its vulnerability service reports every package as
"not found" (or fails with a connection error) and still prints "No known vulnerabilities
found", exiting 0: a check that computed nothing reads as a pass. This wrapper counts what was
actually looked up:

- vulnerabilities found: lists them, exit 1;
- every package looked up, none vulnerable: exit 0;
- nothing could be looked up (offline): prints "dependency audit NOT PERFORMED", exit 0, or
  exit 2 with `--require-source` (the GitHub workflow, which has the network, passes it).

Usage: python -m scripts.audit_dependencies [--require-source] [-- pip-audit arguments]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

NOT_PERFORMED, CLEAN, VULNERABLE = 2, 0, 1


def run_pip_audit(extra: list[str]) -> tuple[dict | None, str]:
    """pip-audit's JSON report of this environment, or None with its last error line."""
    pip_audit = Path(sys.executable).with_name("pip-audit")
    command = [str(pip_audit), "--local", "--format", "json", "--progress-spinner", "off", *extra]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if "usage: pip-audit" in done.stderr:
        raise SystemExit(f"pip-audit refused its arguments: {done.stderr.strip().splitlines()[-1]}")
    try:
        return json.loads(done.stdout), ""
    except ValueError:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return None, lines[-1] if lines else f"pip-audit exited {done.returncode}"


def summarise(report: dict | None, error: str) -> tuple[int, list[str]]:
    """The outcome and the lines that say it."""
    if report is None:
        return NOT_PERFORMED, [f"dependency audit NOT PERFORMED: the vulnerability service "
                               f"could not be reached ({error})"]
    dependencies = report.get("dependencies", [])
    skipped = [d for d in dependencies if "skip_reason" in d]
    audited = [d for d in dependencies if "skip_reason" not in d]
    if not audited:
        return NOT_PERFORMED, [f"dependency audit NOT PERFORMED: none of the {len(dependencies)} "
                               "installed packages could be looked up (no vulnerability source "
                               "reachable from this machine); the CI workflow with network "
                               "access runs it with --require-source"]
    lines = [f"{d['name']} {d['version']}: {v['id']} (fixed in {', '.join(v['fix_versions']) or '-'})"
             for d in audited for v in d.get("vulns", [])]
    outcome = VULNERABLE if lines else CLEAN
    lines.append(f"dependency audit: {len(audited)} packages checked, "
                 f"{len(lines)} known vulnerabilities" if outcome else
                 f"dependency audit: {len(audited)} packages checked, no known vulnerabilities")
    if skipped:
        lines.append(f"not looked up ({len(skipped)}): "
                     + ", ".join(sorted(d["name"] for d in skipped)))
    return outcome, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--require-source", action="store_true",
                        help="fail (exit 2) when no vulnerability source could be reached")
    parser.add_argument("pip_audit_args", nargs="*", help="passed to pip-audit after --")
    args = parser.parse_args(argv)
    outcome, lines = summarise(*run_pip_audit(args.pip_audit_args))
    print("\n".join(lines))
    if outcome == NOT_PERFORMED and not args.require_source:
        return 0
    return outcome


if __name__ == "__main__":
    sys.exit(main())
