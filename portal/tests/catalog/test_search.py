import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal.tests.catalog.conftest import LOANS

pytestmark = pytest.mark.django_db

CLAIMS = b"claim_id,policy,paid_out\n1,P-1,100.00\n"


@pytest.fixture
def two_listings(cast, publish):  # type: ignore[no-untyped-def]
    publish(cast.bob.user)
    publish(
        cast.dave.user,
        CLAIMS,
        title="Motor claims",
        category="insurance",
        sensitivity="confidential",
        tags="claims, motor",
        description="Claims paid.",
    )


@pytest.mark.parametrize(
    ("query", "titles"),
    [
        ({"search": "defaulted"}, ["SME loans 2024"]),  # a column name
        ({"search": "motor"}, ["Motor claims"]),  # a tag
        ({"search": "paid"}, ["Motor claims"]),  # description
        ({"category": "loans"}, ["SME loans 2024"]),
        ({"sensitivity": "confidential"}, ["Motor claims"]),
        ({"institution": "beta"}, ["Motor claims"]),
        ({"tag": "sme"}, ["SME loans 2024"]),
        ({"sort": "title"}, ["Motor claims", "SME loans 2024"]),
    ],
)
def test_search_and_filters(cast, api, two_listings, query, titles):
    api.force_authenticate(cast.aud)
    body = api.get(reverse("api-datasets"), query).json()
    assert sorted(d["title"] for d in body["results"]) == sorted(titles)
    if "sort" in query:
        assert [d["title"] for d in body["results"]] == titles


def test_facets_count_the_results(cast, api, two_listings):
    api.force_authenticate(cast.aud)
    facets = api.get(reverse("api-datasets")).json()["facets"]
    assert {f["value"]: f["count"] for f in facets["category"]} == {"loans": 1, "insurance": 1}
    assert {f["value"]: f["count"] for f in facets["institution"]} == {"acme": 1, "beta": 1}
    narrowed = api.get(reverse("api-datasets"), {"category": "loans"}).json()["facets"]
    assert {f["value"]: f["count"] for f in narrowed["tag"]} == {"loans": 1, "sme": 1}


def test_the_catalog_page_finds_a_listing_by_column_name(cast, client, two_listings):
    client.force_login(cast.dave.user)
    page = client.get(reverse("catalog"), {"search": "claim_id"}).content.decode()
    assert "Motor claims" in page and "SME loans" not in page


def _queries(fetch) -> int:  # type: ignore[no-untyped-def]
    cache.clear()  # count the facet queries too, not a cached answer
    with CaptureQueriesContext(connection) as queries:
        assert fetch().status_code == 200
    return len(queries)


def test_query_count_does_not_grow_with_rows_shown(cast, api, client, publish):
    publish(cast.bob.user)
    api.force_authenticate(cast.aud)
    client.force_login(cast.aud)
    api.get(reverse("api-datasets"))  # warm up: the first request loads what later ones reuse
    client.get(reverse("catalog"))
    api_one = _queries(lambda: api.get(reverse("api-datasets")))
    page_one = _queries(lambda: client.get(reverse("catalog")))
    for i in range(6):
        publish(cast.bob.user, LOANS, title=f"Loans {i}", tags=f"t{i}, x{i}")
    api.force_authenticate(cast.aud)
    assert _queries(lambda: api.get(reverse("api-datasets"))) == api_one
    assert _queries(lambda: client.get(reverse("catalog"))) == page_one


def test_facet_counts_are_reused_until_the_catalog_changes(cast, api, publish):
    publish(cast.bob.user)
    api.force_authenticate(cast.aud)
    first = api.get(reverse("api-datasets")).json()["facets"]["category"]
    with CaptureQueriesContext(connection) as cached:
        assert api.get(reverse("api-datasets")).json()["facets"]["category"] == first
    assert not any("GROUP BY" in q["sql"] for q in cached.captured_queries)
    publish(cast.bob.user, LOANS, title="Another", category="credit")
    api.force_authenticate(cast.aud)
    counts = {
        f["value"]: f["count"]
        for f in api.get(reverse("api-datasets")).json()["facets"]["category"]
    }
    assert counts == {"loans": 1, "credit": 1}
