"""The catalog's query parameters, on the API and the page: a valid value narrows or sorts,
an unknown category, sensitivity, status, sort or institution is refused by name."""

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

CLAIMS = b"claim_id,policy,paid_out\n1,P-1,100.00\n"


@pytest.fixture
def two_listings(cast, publish):
    publish(cast.bob.user)
    publish(cast.dave.user, CLAIMS, title="Motor claims", category="insurance")


@pytest.mark.parametrize(
    ("params", "titles"),
    [
        ({"category": "insurance"}, ["Motor claims"]),
        ({"sensitivity": "internal"}, ["Motor claims", "SME loans 2024"]),
        ({"status": "active", "sort": "title"}, ["Motor claims", "SME loans 2024"]),
        ({"institution": "acme"}, ["SME loans 2024"]),
        ({"sort": "newest"}, ["Motor claims", "SME loans 2024"]),
    ],
)
def test_valid_parameters(cast, api, two_listings, params, titles):
    api.force_authenticate(cast.aud)
    body = api.get(reverse("api-datasets"), params).json()
    assert [d["title"] for d in body["results"]] == titles


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("category", "mortgages", "“mortgages” is not a category; use one of: loans,"),
        ("sensitivity", "secret", "“secret” is not a sensitivity; use one of: internal,"),
        ("status", "gone", "“gone” is not a listing status; use one of: active,"),
        ("sort", "popular", "“popular” is not a sort order; use one of: updated, newest,"),
        ("institution", "gamma", "“gamma” is not an institution's slug."),
    ],
)
def test_unknown_values_answer_400_naming_the_parameter(
    cast, api, two_listings, field, value, message
):
    api.force_authenticate(cast.aud)
    response = api.get(reverse("api-datasets"), {field: value, "search": "loans"})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400 and body["code"] == "invalid"
    assert list(body["fields"]) == [field]
    assert body["fields"][field][0].startswith(message)


def test_an_unknown_tag_is_a_search_that_finds_nothing(cast, api, two_listings):
    api.force_authenticate(cast.aud)
    response = api.get(reverse("api-datasets"), {"tag": "no-such-tag"})
    assert response.status_code == 200 and response.json()["count"] == 0


def test_the_page_says_what_it_left_out(cast, client, two_listings):
    client.force_login(cast.dave.user)
    response = client.get(reverse("catalog"), {"category": "mortgages", "sort": "title"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "“mortgages” is not a category" in page and "The list below leaves it out." in page
    assert page.index("Motor claims") < page.index("SME loans 2024")  # the valid sort holds
    response = client.get(reverse("catalog"), {"category": "insurance", "sort": "popular"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "“popular” is not a sort order" in page
    assert "Motor claims" in page and "SME loans 2024" not in page
    ok = client.get(reverse("catalog"), {"category": "insurance"})
    assert ok.status_code == 200 and 'data-testid="refused-filters"' not in ok.content.decode()
