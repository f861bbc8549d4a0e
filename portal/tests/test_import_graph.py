"""The import graph, read from the source with `ast` (nothing to install, nothing imported):

- no circles among the project's modules (an import inside a function counts: it hides a
  circle, it does not remove it);
- no import inside a function body in the modules of LAZY_NEEDS_A_REASON unless a comment says
  why (on the import's line, or on the line above the run of imports it starts);
- ledger/ and storage/ import nothing from the apps above them, and from the project package
  only its small shared modules.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "portal",
    "consortium",
    "catalog",
    "access",
    "dashboards",
    "surveys",
    "sharing",
    "ledger",
    "storage",
    "tools",
)
# Where an import inside a function needs a comment saying why (a package, or one file).
LAZY_NEEDS_A_REASON = (
    "portal",
    "consortium",
    "catalog",
    "access",
    "dashboards",
    "ledger",
    "storage",
    "surveys",
    "sharing",
    "tools",
)
CORES = ("ledger", "storage")
ABOVE_THE_CORES = ("consortium", "catalog", "access", "dashboards", "surveys", "sharing")
# What the cores may use of the project package: errors, permissions, sending tasks, and the
# cache's section versions (a ledger append bumps the "ledger" section), shared query pieces.
PORTAL_SHARED = (
    "portal",
    "portal.errors",
    "portal.permissions",
    "portal.tasking",
    "portal.celery",
    "portal.cache_versions",
    "portal.queries",
)


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the project module imported
    path: Path
    line: int
    in_function: bool
    reason: bool  # a comment on its line or above its run of imports


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted name → file, for every module of `packages` but tests and migrations."""
    found = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _has_reason(lines: list[str], line: int) -> bool:
    if "#" in lines[line - 1]:
        return True
    above = line - 2
    while above >= 0 and lines[above].strip().startswith(("import ", "from ")):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#")


def imports(module: str, path: Path, known: dict[str, Path]) -> Iterator[Import]:
    """The project modules `module` imports at run time (not under TYPE_CHECKING)."""
    source = path.read_text()
    lines = source.splitlines()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST, in_function: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import | ast.ImportFrom):
                if isinstance(child, ast.Import):
                    names = [alias.name for alias in child.names]
                else:
                    base = child.module or ""
                    if child.level:
                        parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                        base = ".".join([*parent, base] if base else parent)
                    names = [f"{base}.{alias.name}" for alias in child.names]
                for name in names:
                    target = _resolve(name, known)
                    if target and target != module:
                        reason = in_function and _has_reason(lines, child.lineno)
                        yield Import(module, target, path, child.lineno, in_function, reason)
                if in_function and not any(_resolve(n, known) for n in names):
                    # Not the project's (a library, the standard library): still in a function.
                    reason = _has_reason(lines, child.lineno)
                    yield Import(module, "", path, child.lineno, True, reason)
            yield from visit(child, inside)

    yield from visit(ast.parse(source, str(path)), False)


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    return found


def graph(root: Path, packages: Iterable[str]) -> tuple[dict[str, set[str]], list[Import]]:
    known = modules(root, packages)
    every = [i for name, path in known.items() for i in imports(name, path, known)]
    edges: dict[str, set[str]] = {name: set() for name in known}
    for i in every:
        if i.target:
            edges[i.module].add(i.target)
    return edges, every


def _in_scope(path: Path, root: Path) -> bool:
    relative = path.relative_to(root).as_posix()
    return any(relative == s or relative.startswith(f"{s}/") for s in LAZY_NEEDS_A_REASON)


@functools.cache
def _project() -> tuple[dict[str, set[str]], list[Import]]:
    return graph(ROOT, PACKAGES)


def test_no_circles_among_the_projects_modules():
    edges, _ = _project()
    assert circles(edges) == []


def test_imports_inside_functions_say_why():
    _, every = _project()
    unexplained = sorted(
        f"{i.path.relative_to(ROOT)}:{i.line}"
        for i in every
        if i.in_function and not i.reason and _in_scope(i.path, ROOT)
    )
    assert unexplained == [], "import at the top, or say in a comment why not"


def test_ledger_and_storage_import_nothing_from_the_apps_above_them():
    _, every = _project()
    wrong = sorted(
        f"{i.module} imports {i.target}"
        for i in every
        if i.module.split(".")[0] in CORES
        and i.target
        and (
            i.target.split(".")[0] in ABOVE_THE_CORES
            or (i.target.split(".")[0] == "portal" and i.target not in PORTAL_SHARED)
        )
    )
    assert wrong == []


# --- the checks themselves can fail -------------------------------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / "pkg" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "pkg" / name).write_text(text)
    return tmp_path


def test_a_circle_through_an_import_inside_a_function_is_found(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "services.py": "def queue():\n    from pkg.tasks import work\n    work()\n",
            "tasks.py": "from pkg import services\n\ndef work():\n    services.queue()\n",
            "models.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from pkg.services import queue\n",
        },
    )
    edges, every = graph(root, ["pkg"])
    assert circles(edges) == [["pkg.services", "pkg.tasks"]]
    lazy = [i for i in every if i.in_function]
    assert [(i.module, i.target, i.reason) for i in lazy] == [("pkg.services", "pkg.tasks", False)]
    assert not any(i.module == "pkg.models" for i in every), "TYPE_CHECKING imports do not count"


def test_a_lazy_import_with_a_comment_has_its_reason(tmp_path):
    root = _package(
        tmp_path,
        {
            "__init__.py": "",
            "charts.py": "def draw():\n    # plotly is slow to import\n    import json\n"
            "    import plotly\n\ndef other():\n    import csv  # used once a year\n",
        },
    )
    _, every = graph(root, ["pkg"])
    assert [(i.line, i.reason) for i in every] == [(3, True), (4, True), (7, True)]
