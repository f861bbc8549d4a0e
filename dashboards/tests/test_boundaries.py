"""The dashboards read other apps only through their selectors, query only in selectors, and
draw in the one palette (issue 15). Checked on the syntax tree of the app's own modules; its
tests are left out, as they build the rows they count with the owners' models."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps

APP = Path(__file__).resolve().parent.parent
ROOT = APP.parent


def _app_modules() -> list[Path]:
    return [
        path
        for path in sorted(APP.rglob("*.py"))
        if path.relative_to(APP).parts[0] not in ("tests", "migrations")
    ]


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _imports(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """`(line, dotted name)` of everything a module imports, however it is spelled: `import
    a.models`, `from a.models import X`, `from a import models`, `import_module("a.models")`,
    `__import__("a.models")`; and `apps.get_model(...)`, which reaches any app's model, as
    the name `get_model`."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Call):
            name = _call_name(node)
            if name == "get_model":
                yield node.lineno, "get_model"
            elif name in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    yield node.lineno, first.value


def _other_apps_models() -> set[str]:
    return {f"{cfg.name}.models" for cfg in apps.get_app_configs() if cfg.name != "dashboards"}


def _reads_models(source: str, forbidden: set[str]) -> list[str]:
    found = []
    for line, name in _imports(ast.parse(source)):
        if name == "get_model" or any(name == m or name.startswith(f"{m}.") for m in forbidden):
            found.append(f"line {line}: {name}")
    return found


@pytest.mark.parametrize(
    "source",
    [
        "from ledger.models import Block",
        "import storage.models",
        "import storage.models as m",
        "from catalog import models",
        "from access import models as access_models",
        "def f():\n    from consortium.models import Institution",
        "import importlib\nimportlib.import_module('ledger.models')",
        "__import__('storage.models')",
        "from django.apps import apps\napps.get_model('ledger', 'Entry')",
        "from django.contrib.auth.models import User",
    ],
)
def test_the_walk_finds_a_model_import_however_spelled(source):
    assert _reads_models(source, _other_apps_models())


@pytest.mark.parametrize(
    "source",
    [
        "from ledger import selectors",
        "from storage.selectors import NodeHealth",
        "from dashboards.models import DashboardSnapshot",
        "from django.db import models",
        "import storage.table1",
    ],
)
def test_the_walk_lets_selectors_and_its_own_models_through(source):
    assert _reads_models(source, _other_apps_models()) == []


def test_dashboards_import_no_other_apps_models():
    forbidden = _other_apps_models()
    assert "ledger.models" in forbidden and "dashboards.models" not in forbidden
    found = {
        str(path.relative_to(ROOT)): hits
        for path in _app_modules()
        if (hits := _reads_models(path.read_text(), forbidden))
    }
    assert found == {}, "read them through the owning app's selectors.py"


# The modules that render: what they show is computed before, by the selectors.
_RENDERING = ["views.py", "forms.py", "tables.py", "charts.py", "urls.py", "templatetags"]


def test_no_queries_in_views_forms_tables_or_template_tags():
    modules = [
        path
        for path in _app_modules()
        if path.relative_to(APP).parts[0] in _RENDERING or path.name in _RENDERING
    ]
    assert {p.name for p in modules} >= {"views.py", "forms.py", "tables.py", "charts.py"}
    found = []
    for path in modules:
        tree = ast.parse(path.read_text())
        for line, name in _imports(tree):
            if name.startswith("django.db") or name.endswith(".models") or name == "get_model":
                found.append(f"{path.name}:{line}: imports {name}")
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("objects", "raw", "cursor"):
                found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    assert found == []


_COLOUR = re.compile(r"#[0-9a-fA-F]{6}\b")


def test_one_chart_palette():
    """Colours are written once, in surveys/charts.py's palette; the charts name them."""
    for path in _app_modules():
        assert not _COLOUR.search(path.read_text()), f"{path.name}: a colour outside the palette"
    surveys = (ROOT / "surveys" / "charts.py").read_text()
    palette = surveys.split("# The one palette", 1)[1].split("\n\n", 1)[0]
    assert len(_COLOUR.findall(palette)) >= 7
    assert len(_COLOUR.findall(surveys)) == len(_COLOUR.findall(palette))
