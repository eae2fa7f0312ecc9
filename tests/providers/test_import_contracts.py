"""The import structure of `app/`: the import-linter contracts (`.importlinter`: layers, and
independence of the provider adapters and of the blueprints), no import cycles, and no domain
code reading flask's request state."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import app

APP = Path(app.__file__).parent
ROOT = APP.parent

# Domain code: the packages that must not read the request (`flask.request`, `flask.g`,
# `flask.session`); what they need from a request is passed to them.
DOMAIN_PACKAGES = ("services", "providers", "models", "tasks", "events", "jobs", "config", "chat",
                   "wire")
REQUEST_STATE = {"request", "g", "session"}


def test_the_import_contracts_hold() -> None:
    run = subprocess.run([str(Path(sys.executable).with_name("lint-imports")), "--no-cache"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module → the app modules it imports, late and type-checking imports included."""
    modules = {_module_name(path): path for path in APP.rglob("*.py")}

    def known(name: str) -> str:
        while name and name not in modules:
            name = name.rsplit(".", 1)[0] if "." in name else ""
        return name

    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [known(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*parts, base] if base else parts)
                targets = [known(f"{base}.{alias.name}") or known(base) for alias in node.names]
            else:
                continue
            edges[name].update(t for t in targets if t and t != name)
    return edges


def strongly_connected(edges: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm: every group of two or more modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in edges[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in edges:
        if node not in index:
            visit(node)
    return groups


def test_the_cycle_finder_finds_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(edges) == [{"a", "b", "c"}]


def test_no_import_cycles_in_the_app() -> None:
    assert strongly_connected(import_graph()) == []


def test_domain_code_does_not_read_the_request() -> None:
    offenders = []
    for package in DOMAIN_PACKAGES:
        for path in sorted((APP / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module == "flask":
                    names = {alias.name for alias in node.names} & REQUEST_STATE
                    if names:
                        offenders.append(f"{path.relative_to(ROOT)}: {sorted(names)}")
    assert offenders == []
