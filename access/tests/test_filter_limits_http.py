"""Row filters at the edge: limits and column rules answer a clear 400 on the API and a form
error on the page, never a 500 (issue 14, finding 6)."""

import pytest
from django.urls import reverse

from access import rowfilter
from access.models import AccessRequest, Grant

from .conftest import PURPOSE

pytestmark = pytest.mark.django_db


def post_request(api, user, dataset, filter_text, columns=None):  # type: ignore[no-untyped-def]
    api.force_authenticate(user)
    return api.post(
        "/api/v1/requests/",
        {
            "dataset": dataset.pk,
            "purpose": PURPOSE,
            "columns": columns or dataset.current_version.column_names,
            "filter": filter_text,
            "duration_days": 30,
        },
        format="json",
    )


@pytest.mark.parametrize(
    ("filter_text", "message"),
    [
        ("(" * 238 + "loan_id = 1" + ")" * 238, "nest at most 32 levels deep (at character 33)"),
        ("loan_id = " + "9" * 1980, "out of range"),
        ("region = '" + "x" * 1001 + "'", "at most 1,000 characters (at character 10)"),
        (
            "loan_id in (" + ", ".join(str(i) for i in range(201)) + ")",
            "“in” takes at most 200 values",
        ),
    ],
)
def test_filters_past_the_limits_answer_400(cast, api, listing, filter_text, message):
    response = post_request(api, cast.dave.user, listing(), filter_text)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == 400
    assert message in body["fields"]["filter"][0]
    assert not AccessRequest.objects.exists()


def test_a_filter_on_a_column_not_asked_for_answers_400(cast, api, listing):
    dataset = listing()
    response = post_request(
        api, cast.dave.user, dataset, "customer = 'Ann Smith'", columns=["loan_id", "amount"]
    )
    assert response.status_code == 400
    assert "“customer” is not among the columns requested" in response.json()["fields"]["filter"][0]


def test_the_request_form_shows_the_limit(cast, client, listing):
    dataset = listing()
    client.force_login(cast.dave.user)
    response = client.post(
        reverse("access-request-new", args=[dataset.pk]),
        {
            "purpose": PURPOSE,
            "columns": dataset.current_version.column_names,
            "filter": "not " * 40 + "loan_id = 1",
            "duration_days": "30",
        },
    )
    assert response.status_code == 400
    assert f"nest at most {rowfilter.MAX_DEPTH} levels deep" in response.content.decode()


def test_the_live_filter_check_reports_the_limit(cast, client, listing):
    dataset = listing()
    client.force_login(cast.dave.user)
    response = client.post(
        reverse("access-filter-check", args=[dataset.pk]), {"filter": "(" * 500 + "loan_id = 1"}
    )
    assert response.status_code == 200
    assert response.json()["ok"] is False and "levels deep" in response.json()["error"]


def test_approving_a_filter_on_a_masked_column_answers_400_naming_it(cast, api, listing, ask):
    request = ask(listing(), filter_text="customer = 'Ann Smith'")
    api.force_authenticate(cast.alice.user)
    response = api.post(
        f"/api/v1/requests/{request.pk}/approve/",
        {"masks": {"customer": "pseudonymize"}},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "uses “customer”, which is masked" in response.json()["fields"]["masks"][0]
    response = api.post(
        f"/api/v1/requests/{request.pk}/approve/",
        {"extra_filter": "(" * 40 + "loan_id = 1" + ")" * 40},
        format="json",
    )
    assert response.status_code == 400
    assert "levels deep" in response.json()["fields"]["extra_filter"][0]
    assert not Grant.objects.exists()


def test_the_steward_sees_why_on_the_page(cast, client, listing, ask):
    request = ask(listing(), filter_text="customer = 'Ann Smith'")
    client.force_login(cast.alice.user)
    response = client.post(
        reverse("access-request-approve", args=[request.pk]),
        {"columns": request.columns, "mask-customer": "pseudonymize", "duration_days": "7"},
        follow=True,
    )
    assert "uses “customer”, which is masked" in response.content.decode()
    assert not Grant.objects.exists()
