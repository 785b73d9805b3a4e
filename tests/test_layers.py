"""The layers import one way: orientation (core) <- kiosk <- api (which assembles the site).

Read from the source with ast, so a new import that breaks the layering fails here, not in a
review: the core never imports a web package, the kiosk never calls the API, the core has no
import cycle, no module borrows another module's ``_private`` name, and every SQL statement
lives under ``orientation/store/``.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("orientation", "api", "kiosk")
#: SQL statements as they appear in strings: a keyword followed by what makes it a statement.
SQL = re.compile(
    r"\b(select\s.+\sfrom|insert\s+(or\s+\w+\s+)?into|update\s+\[?\w+\]?\s+set|delete\s+from|"
    r"create\s+(unique\s+)?(table|index|trigger|view)|pragma\s+\w+|begin\s+immediate)\b",
    re.IGNORECASE | re.DOTALL)
MAX_LINES = 600


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    if not MODULES[module].name == "__init__.py":
        package = package[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import of ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    found.append((f"{target}.{alias.name}", None, node.lineno))
                else:
                    found.append((target, alias.name, node.lineno))
    return found


def _top(name: str) -> str:
    return name.split(".")[0]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_layers_import_one_way(module):
    forbidden = {"orientation": {"api", "kiosk"}, "kiosk": {"api"}, "api": set()}[_top(module)]
    wrong = [f"line {line}: {target}" for target, _, line in _imports(module)
             if _top(target) in forbidden]
    assert wrong == [], f"{module} imports a higher layer"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_private_name_crosses_modules(module):
    borrowed = [f"line {line}: {target}.{name}" for target, name, line in _imports(module)
                if name and name.startswith("_") and not name.startswith("__")
                and target in MODULES and target != module]
    assert borrowed == []


def test_no_import_cycle_inside_the_core():
    graph = {m: {t for t, _, _ in _imports(m) if t in MODULES and t != m}
             for m in MODULES if _top(m) == "orientation"}
    # A package's __init__ re-exporting its own modules is not a cycle of the design.
    graph = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in graph.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(path[path.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_every_core_module_imports_first_in_a_fresh_interpreter():
    """What the static graph above cannot see: importing ``pkg.sub`` runs ``pkg/__init__``
    first, so a module that is fine after the app has loaded can still fail when imported
    first (a CLI, a worker, a script). Each core module is imported alone in a new process."""
    core = sorted(m for m in MODULES if _top(m) == "orientation")
    script = ("import importlib, subprocess, sys\n"
              "failed = []\n"
              "for name in sys.argv[1:]:\n"
              "    r = subprocess.run([sys.executable, '-c', f'import {name}'],"
              " capture_output=True, text=True)\n"
              "    if r.returncode: failed.append(name + ': ' + r.stderr.strip().splitlines()[-1])\n"
              "print('\\n'.join(failed))\n")
    result = subprocess.run([sys.executable, "-c", script, *core], capture_output=True,
                            text=True, cwd=ROOT, timeout=300)
    assert result.stdout.strip() == "", result.stdout


def _strings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = getattr(node, "body", [])
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not m.startswith(
    "orientation.store")))
def test_sql_lives_only_in_the_store(module):
    path = MODULES[module]
    statements = [f"line {line}: {text[:60]!r}" for line, text in _strings(path)
                  if SQL.search(text)]
    uses_sqlite3 = [f"line {line}: {target}" for target, _, line in _imports(module)
                    if target == "sqlite3"]
    assert statements + uses_sqlite3 == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_over_600_lines(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{module}: {lines} lines"
