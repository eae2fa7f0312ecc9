"""Static security checks run with the tests: bandit finds nothing in `app/`, and each finding
it was told to skip says which check and why (`# nosec B608  # names from the model`).

The reason follows its own `#`: bandit reads every word after `# nosec` up to the next `#` as
a check's name, so a reason written there would be looked up word by word (and a word that
happens to name a check would silence it too).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOSEC = re.compile(r"#\s*nosec\b(?P<rest>.*)$")
JUSTIFIED = re.compile(r"^:?\s*B\d{3}(?:\s*,\s*B\d{3})*\s+#\s*\S.{3,}")


def test_bandit_finds_nothing_in_the_app() -> None:
    run = subprocess.run([sys.executable, "-m", "bandit", "-r", "app", "-q", "-f", "json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    report = json.loads(run.stdout)
    findings = [f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
                for r in report["results"]]
    assert findings == [], "\n".join(findings)
    assert report["errors"] == [] and run.returncode == 0, run.stderr[-2000:]


def test_every_skipped_finding_names_its_check_and_a_reason() -> None:
    unjustified = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            match = NOSEC.search(line)
            if match and not JUSTIFIED.match(match["rest"].strip()):
                unjustified.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert unjustified == [], "\n".join(unjustified)
