import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from catalog.models import Dataset
from catalog.tests.conftest import LOANS

pytestmark = pytest.mark.django_db

CLAIMS = b"claim_id,policy,paid_out\n1,P-1,100.00\n"


@pytest.fixture
def two_listings(cast, publish):
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


def _queries(fetch) -> int:
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


def test_the_total_comes_from_the_facet_counts_not_a_count_query(cast, api, client, publish):
    """Pages know how many results there are from the facet counts: no COUNT(*) over the
    catalog, and still the right total, pages and links with and without filters."""
    for i, category in enumerate(["loans", "loans", "insurance"]):
        publish(cast.bob.user, LOANS, title=f"Listing {i}", category=category)
    api.force_authenticate(cast.aud)
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        first = api.get(reverse("api-datasets"), {"page_size": 2}).json()
    assert not any('"__count"' in q["sql"] for q in queries.captured_queries)
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    second = api.get(reverse("api-datasets"), {"page_size": 2, "page": 2}).json()
    assert second["count"] == 3 and len(second["results"]) == 1 and not second["next"]
    assert api.get(reverse("api-datasets"), {"category": "loans"}).json()["count"] == 2
    assert api.get(reverse("api-datasets"), {"search": "nothing-matches"}).json()["count"] == 0
    assert api.get(reverse("api-datasets"), {"page": 9}).status_code == 404
    client.force_login(cast.aud)
    assert "3 datasets" in client.get(reverse("catalog")).content.decode()
    assert "2 datasets" in client.get(reverse("catalog"), {"category": "loans"}).content.decode()


def test_search_follows_an_edit_of_the_title(cast, api, publish):
    """The search vector is the database's, recomputed from the searchable text on every
    save: an edited title is found at once (PostgreSQL: the stored tsvector; SQLite: text)."""
    created = publish(cast.bob.user).json()
    api.force_authenticate(cast.bob.user)
    assert (
        api.patch(
            reverse("api-dataset", args=[created["id"]]),
            {"title": "Harbour mortgages"},
            format="json",
        ).status_code
        == 200
    )
    api.force_authenticate(cast.aud)
    found = api.get(reverse("api-datasets"), {"search": "mortgages"}).json()["results"]
    assert [d["id"] for d in found] == [created["id"]]


@pytest.mark.parametrize("persona", ["bob", "dave", "mo", "aud"])
def test_plain_catalog_tag_counts_equal_counting_the_results(cast, api, publish, persona):
    """The plain catalog counts tags by subtraction (all links, less those of withdrawn and
    suspended listings, plus those of them the person may see); with such listings of both
    institutions present, that must equal counting the results' tags one by one."""
    from catalog import selectors, services

    ids = [
        publish(owner.user, LOANS, title=f"L{i}", tags=tags).json()["id"]
        for i, (owner, tags) in enumerate(
            [
                (cast.bob, "a, b"),
                (cast.bob, "a, c"),
                (cast.dave, "a, b, c"),
                (cast.dave, "c"),
                (cast.bob, "b"),
            ]
        )
    ]
    services.dataset_withdraw(
        user=cast.bob.user, dataset=Dataset.objects.get(pk=ids[0]), reason="x"
    )
    services.dataset_suspend(user=cast.mo, dataset=Dataset.objects.get(pk=ids[2]), reason="y")
    user = getattr(getattr(cast, persona), "user", getattr(cast, persona))
    results = selectors.listings(user=user)
    plain = selectors._count_facets(results, narrowed=False)
    counted = selectors._count_facets(results, narrowed=True)
    assert plain == counted
    assert plain.total == results.count()
    expected = {
        "bob": {"a": 2, "b": 2, "c": 2},  # his own withdrawn listing, not Beta's suspended one
        "dave": {"a": 2, "b": 2, "c": 3},  # Beta's suspended one, not Acme's withdrawn one
        "mo": {"a": 3, "b": 3, "c": 3},  # everything
        "aud": {"a": 1, "b": 1, "c": 2},  # active listings only
    }[persona]
    assert {name: n for name, _, n in plain.facets[3].values} == expected
