"""Pages reuse their aggregates for a minute, per filter, and say when they were computed;
Table 1 progress is always fresh."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from dashboards import selectors
from dashboards.tests.conftest import dataset, node, stored_object
from storage.models import Table1Run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _reuse(monkeypatch):
    monkeypatch.setattr("dashboards.selectors.CACHE_SECONDS", 60)


def test_usage_is_reused_for_a_minute_then_computed_again(cast, client):
    client.force_login(cast.meg)
    dataset(cast.acme, cast.alice.user, day="2026-03-02")
    first = client.get(reverse("dashboard-usage")).context["figures"]
    dataset(cast.acme, cast.alice.user, day="2026-03-03")
    again = client.get(reverse("dashboard-usage")).context["figures"]
    assert (again.total, again.computed_at) == (1, first.computed_at)
    # Another filter is another computation.
    assert (
        client.get(reverse("dashboard-usage"), {"since": "2026-03-01"}).context["figures"].total
        == 2
    )
    cache.clear()  # as the minute runs out (the cache's own timeout)
    later = client.get(reverse("dashboard-usage")).context["figures"]
    assert later.total == 2 and later.computed_at > first.computed_at


def test_storage_progress_is_never_stale(cast, client):
    stored_object([node("n1"), node("n2")], size=10, stored=20)
    client.force_login(cast.meg)
    assert client.get(reverse("dashboard-storage")).context["figures"].table1_active is None
    Table1Run.objects.create(nodes=6, trials=5, seed=1, status="queued")
    figures = client.get(reverse("dashboard-storage")).context["figures"]
    assert figures.table1_active is not None and figures.totals.objects == 1
    assert selectors.CACHE_SECONDS == 60
