"""Each dashboard page costs a fixed number of queries, however many rows lie behind it."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboards.tests.conftest import (
    block,
    dataset,
    ledger_entries,
    node,
    storage_event,
    stored_object,
)

pytestmark = pytest.mark.django_db

PAGES = ["dashboard-usage", "dashboard-storage", "dashboard-ledger"]


def _grow(cast, n: int) -> None:
    days = [f"2026-01-{d:02d}" for d in range(1, 29)]
    for i in range(n):
        day = days[i % len(days)]
        dataset(
            cast.acme if i % 2 else cast.beta,
            cast.alice.user,
            day=day,
            category=["loans", "cards", "credit"][i % 3],
        )
        storage_event("shard.repaired", day)
    nodes = [node(f"q{len(days)}-{n}-{i}") for i in range(3)]
    for _ in range(n):
        stored_object(nodes, size=100, stored=150)
    start = __import__("ledger.models", fromlist=["Block"]).Block.objects.count()
    size = __import__("ledger.models", fromlist=["Entry"]).Entry.objects.count()
    ledger_entries([("dataset.published", days[i % len(days)]) for i in range(n)])
    for i in range(n):
        block(start + i, size + i + 1, days[i % len(days)], hour=i % 24)


def _queries(client, name: str, query: dict | None = None) -> int:
    client.get(reverse(name), query or {})  # as in a session under way: the user is cached
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse(name), query or {})
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize("name", PAGES)
def test_queries_do_not_grow_with_rows(cast, client, name):
    client.force_login(cast.meg)
    _grow(cast, 2)
    few = _queries(client, name)
    _grow(cast, 30)
    many = _queries(client, name)
    assert many == few, f"{name}: {few} queries with few rows, {many} with many"
    # The usage page adds the access figures (5 aggregates; test_access_figures.py counts them
    # with requests behind them).
    assert many <= (19 if name == "dashboard-usage" else 14)
    filtered = _queries(client, name, {"since": "2026-01-05", "until": "2026-01-20"})
    assert filtered <= many + 1
