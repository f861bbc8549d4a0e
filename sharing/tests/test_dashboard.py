"""The usage dashboard's Delta Sharing figure: queries, files offered, fetches, bytes."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from dashboards.selectors import Period
from dashboards.stats import WeekStart
from sharing import selectors, services
from sharing.models import ShareTable

pytestmark = pytest.mark.django_db


def _query_and_fetch(grant, secret):  # type: ignore[no-untyped-def]
    share, table = services.share_name(grant), services.table_name(grant)
    response = Client().post(
        f"/delta-sharing/shares/{share}/schemas/default/tables/{table}/query",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )
    url = json.loads(response.content.splitlines()[2])["file"]["url"]
    path = "/delta-sharing" + url.split("/delta-sharing", 1)[1]
    for _ in range(2):  # twice: one fetch row, twice the bytes
        fetched = Client().get(path)
        b"".join(fetched.streaming_content)


def test_queries_and_fetches_per_week(cast, granted):
    grant = granted()
    services.share_files_make(grant_id=grant.pk)
    _token, secret = services.sharing_token_create(user=cast.dave.user, grant=grant)
    _query_and_fetch(grant, secret)
    _query_and_fetch(grant, secret)
    (week,) = selectors.usage_per_week(period=Period(), institution=None, week=WeekStart)
    size = ShareTable.objects.get(grant=grant).bytes
    assert (week["queries"], week["files"], week["offered"]) == (2, 2, 2 * size)
    assert (week["fetches"], week["sent"]) == (2, 4 * size)
    assert selectors.usage_per_week(period=Period(), institution=cast.beta, week=WeekStart) == [
        week
    ]
    assert selectors.usage_per_week(period=Period(), institution=cast.acme, week=WeekStart) == [
        week
    ]
    from portal.tests.factories import InstitutionFactory

    other = InstitutionFactory(name="Gamma Fintech", slug="gamma")
    assert selectors.usage_per_week(period=Period(), institution=other, week=WeekStart) == []


def test_the_usage_page_and_csv_show_it(cast, granted):
    grant = granted()
    services.share_files_make(grant_id=grant.pk)
    _token, secret = services.sharing_token_create(user=cast.dave.user, grant=grant)
    _query_and_fetch(grant, secret)
    cache.clear()
    client = Client()
    client.force_login(cast.meg)
    page = client.get(reverse("dashboard-usage")).content.decode()
    assert "Delta Sharing per week" in page
    csv = client.get(reverse("dashboard-usage-csv"), {"table": "sharing"}).content.decode()
    assert csv.splitlines()[0].startswith("Week starting,Queries,Files offered")
    size = ShareTable.objects.get(grant=grant).bytes
    assert f",1,1,{size},1,{2 * size}" in csv
