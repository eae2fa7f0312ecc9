"""The docs name the code as it is: every `app/…` path and dotted `app.…` name in README.md and
docs/ exists (a module, or a function, class or constant defined or imported in it), so a move
or a rename that leaves docs/request-path.md behind fails the build."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATH = re.compile(r"(?<![\w/.])(app/[\w/.\-]*[\w/])")
DOTTED = re.compile(r"(?<![\w/.])(app(?:\.\w+)+)")


def _docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _module_file(dotted: str) -> Path | None:
    base = ROOT.joinpath(*dotted.split("."))
    if (base / "__init__.py").exists():
        return base / "__init__.py"
    return base.with_suffix(".py") if base.with_suffix(".py").exists() else None


@functools.cache
def _names(module: Path) -> frozenset[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return frozenset(names)


def _problem(dotted: str) -> str | None:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = _module_file(".".join(parts[:cut]))
        if module is not None:
            break
    else:
        return "no such module"
    rest = parts[cut:]
    if not rest or rest[0] in ("py", "md") or rest[0] in _names(module):
        return None
    return f"{rest[0]} is not in {module.relative_to(ROOT)}"


def test_every_path_and_name_in_the_docs_exists() -> None:
    problems = []
    for doc in _docs():
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            where = f"{doc.relative_to(ROOT)}:{number}"
            problems += [f"{where}: no path {m}" for m in PATH.findall(line)
                         if not (ROOT / m.rstrip(".")).exists()]
            problems += [f"{where}: {m}: {why}" for m in DOTTED.findall(line)
                         if (why := _problem(m))]
    assert not problems, "\n".join(problems)
