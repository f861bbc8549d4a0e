"""Who may do what with surveys, page and API, persona by persona.

404: the survey is not visible to the actor at all; 403: visible, but the action is not allowed.
Results are refused (403) to everyone but managers and moderators before the survey is even
looked up, so a refusal says nothing about whether a survey exists.
"""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from consortium.models import Membership
from surveys.services import snapshot_rebuild
from surveys.tests.conftest import answer as give_answer
from surveys.tests.conftest import make_members, option
from surveys.tests.factories import SurveyFactory

pytestmark = pytest.mark.django_db

COLUMNS = [
    "api list",
    "api answer",
    "api results",
    "page list",
    "page survey",
    "page answer",
    "dashboard",
    "csv",
    "page new",
    "page edit",
]
MATRIX = {
    "alice": (200, 201, 403, 200, 200, 302, 403, 403, 403, 403),  # Acme steward
    "bob": (200, 201, 403, 200, 200, 302, 403, 403, 403, 403),  # Acme staff
    "carol": (200, 201, 403, 200, 200, 302, 403, 403, 403, 403),  # Beta steward
    "dave": (200, 201, 403, 200, 200, 302, 403, 403, 403, 403),  # Beta staff
    "mo": (200, 403, 200, 200, 200, 403, 200, 200, 200, 200),  # moderator
    "meg": (200, 403, 200, 200, 200, 403, 200, 200, 403, 403),  # manager
    "aud": (200, 403, 403, 200, 200, 403, 403, 403, 403, 403),  # auditor
    "nobody": (200, 404, 403, 403, 404, 404, 403, 403, 403, 403),  # signed in, in no role
}


def _user(cast, name):  # type: ignore[no-untyped-def]
    if name == "nobody":
        return get_user_model().objects.create(username="nobody")
    value = getattr(cast, name)
    return value.user if isinstance(value, Membership) else value


@pytest.fixture
def answered(cast, survey):  # type: ignore[no-untyped-def]
    """The survey with six answers from Acme and its snapshot built."""
    for person in make_members(cast.acme, 6, "acme"):
        give_answer(person, survey, 1)
    snapshot_rebuild(survey_id=survey.pk)
    return survey


@pytest.mark.parametrize("persona", sorted(MATRIX))
def test_survey_permissions(cast, answered, client, api, persona):
    expected = dict(zip(COLUMNS, MATRIX[persona], strict=True))
    user = _user(cast, persona)
    api.force_authenticate(user)
    client.force_login(user)
    pk = answered.pk
    choice = {"option": option(answered, 2).pk}

    got = {
        "api list": api.get(reverse("api-surveys")),
        "api answer": api.post(reverse("api-survey-answer", args=[pk]), choice),
        "api results": api.get(reverse("api-survey-results", args=[pk])),
        "page list": client.get(reverse("surveys")),
        "page survey": client.get(reverse("survey-detail", args=[pk])),
        "page answer": client.post(
            reverse("survey-detail", args=[pk]), {"option": option(answered, 3).pk}
        ),
        "dashboard": client.get(reverse("survey-results", args=[pk])),
        "csv": client.get(reverse("survey-results-csv", args=[pk])),
        "page new": client.get(reverse("survey-create")),
        "page edit": client.get(reverse("survey-edit", args=[pk])),
    }
    assert {k: r.status_code for k, r in got.items()} == expected

    listed = [s["id"] for s in got["api list"].json()["results"]]
    assert listed == ([] if persona == "nobody" else [pk])
    if expected["api results"] == 403:
        assert "managers and moderators" in got["api results"].json()["detail"]
        assert "managers and moderators" in got["dashboard"].content.decode()


def test_results_of_a_survey_that_does_not_exist(cast, client, api):
    api.force_authenticate(cast.bob.user)
    assert api.get(reverse("api-survey-results", args=[999999])).status_code == 403
    api.force_authenticate(cast.meg)
    assert api.get(reverse("api-survey-results", args=[999999])).status_code == 404
    client.force_login(cast.meg)
    assert client.get(reverse("survey-results", args=[999999])).status_code == 404


def test_outside_the_audience_the_survey_is_visible_but_refused_with_a_reason(cast, client, api):
    survey = SurveyFactory(for_institutions=[cast.acme])
    api.force_authenticate(cast.dave.user)
    listed = api.get(reverse("api-surveys")).json()["results"]
    assert [(s["id"], s["may_answer"], s["institutions"]) for s in listed] == [
        (survey.pk, False, ["acme"])
    ]
    response = api.post(
        reverse("api-survey-answer", args=[survey.pk]), {"option": option(survey, 1).pk}
    )
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "Only people of the institutions this survey is for can answer it."
    )
    client.force_login(cast.dave.user)
    page = client.get(reverse("survey-detail", args=[survey.pk])).content.decode()
    assert "For people of Acme Bank." in page
    assert "Only people of the institutions this survey is for can answer it" in page
    assert '<form method="post" novalidate class="answer-form">' not in page


def test_upcoming_surveys_are_seen_by_moderators_only(cast, client):
    survey = SurveyFactory(upcoming=True)
    client.force_login(cast.bob.user)
    assert client.get(reverse("survey-detail", args=[survey.pk])).status_code == 404
    client.force_login(cast.mo)
    assert client.get(reverse("survey-detail", args=[survey.pk])).status_code == 200


def test_anonymous_gets_401_from_the_api_and_the_login_page_from_pages(survey, client, api):
    assert api.get(reverse("api-surveys")).status_code == 401
    assert api.get(reverse("api-survey-results", args=[survey.pk])).status_code == 401
    response = client.get(reverse("survey-results", args=[survey.pk]))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
