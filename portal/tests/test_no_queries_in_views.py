"""Views, API views and template tags read through selectors (issue 15): none of them touches a
model manager, apart from `.objects.none()` (an empty queryset, no query) for the schema."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = (
    "portal",
    "consortium",
    "catalog",
    "access",
    "dashboards",
    "ledger",
    "storage",
    "surveys",
    "sharing",
)


def _web_modules() -> list[Path]:
    found: list[Path] = []
    for app in APPS:
        found += list((ROOT / app).glob("views.py")) + list((ROOT / app).glob("api.py"))
        found += list((ROOT / app).glob("templatetags/*.py"))
    return found


def managers_used(source: str) -> list[int]:
    """Lines where `<something>.objects` is used for anything but `.none()`."""
    managers, empty = [], set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr == "objects":
            managers.append(node)
        if isinstance(node, ast.Attribute) and node.attr == "none":
            empty.add(id(node.value))  # `<model>.objects.none()`: no query
    return sorted(node.lineno for node in managers if id(node) not in empty)


def test_the_check_finds_a_query_and_lets_an_empty_queryset_pass() -> None:
    assert managers_used("def v(r):\n    return Grant.objects.filter(pk=1)\n") == [2]
    assert managers_used("def v(r):\n    return Grant.objects.none()\n") == []


def test_no_view_api_or_template_tag_queries_a_model_itself() -> None:
    assert len(_web_modules()) > 15  # every app's pages and API are read
    found = {
        str(path.relative_to(ROOT)): lines
        for path in _web_modules()
        if (lines := managers_used(path.read_text()))
    }
    assert found == {}, "read through the app's selectors.py instead"
