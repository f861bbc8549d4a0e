"""The survey API: answers given and changed, and bad input answered 400 (or 404), never 500."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from surveys.models import Answer
from surveys.services import snapshot_rebuild
from surveys.tests.conftest import option
from surveys.tests.factories import SurveyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(cast, api):
    api.force_authenticate(cast.bob.user)
    return api


def _answer_url(survey):
    return reverse("api-survey-answer", args=[survey.pk])


def test_answer_then_change_it(bob, survey):
    first = bob.post(_answer_url(survey), {"option": option(survey, 1).pk})
    assert first.status_code == 201
    changed = bob.post(_answer_url(survey), {"option": option(survey, 4).pk, "text": "Fewer silos"})
    assert changed.status_code == 200
    assert changed.json()["option"] == option(survey, 4).pk
    assert changed.json()["text"] == "Fewer silos"
    assert Answer.objects.count() == 1
    listed = bob.get(reverse("api-surveys")).json()["results"][0]
    assert listed["my_answer"]["option"] == option(survey, 4).pk
    assert listed["may_answer"] is True and listed["status"] == "open"
    assert [o["label"] for o in listed["options"]] == [
        "Lower the cost",
        "Improve efficiency",
        "Strengthen communication",
        "Other",
    ]


def test_a_closed_survey_answers_400_with_the_reason(cast, bob):
    survey = SurveyFactory(closed=True)
    response = bob.post(_answer_url(survey), {"option": option(survey, 1).pk})
    assert response.status_code == 400
    assert "no longer be given or changed" in response.json()["fields"]["non_field_errors"][0]


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "option", "required"),
        ({"option": "abc"}, "option", "valid integer"),
        ({"option": -3}, "option", "greater than or equal to 1"),
        ({"option": 10**30}, "option", "less than or equal to"),
        ({"option": 999999}, "option", "this survey's options"),
        ({"option": None}, "option", "null"),
        ({"option": [1]}, "option", "valid integer"),
        ("other", "text", "please say what you mean"),
        ("text-too-long", "text", "no more than 2000"),
        ("nul", "text", "Null characters are not allowed"),
        ("text-on-plain", "text", "does not"),
    ],
)
def test_bad_answers_answer_400_naming_the_field(bob, survey, body, field, message):
    other, plain = option(survey, 4).pk, option(survey, 1).pk
    if isinstance(body, str):
        body = {
            "other": {"option": other},
            "text-too-long": {"option": other, "text": "x" * 2001},
            "nul": {"option": other, "text": "bad\x00byte"},
            "text-on-plain": {"option": plain, "text": "extra"},
        }[body]
    response = bob.post(_answer_url(survey), body, format="json")
    assert response.status_code == 400, response.content
    data = response.json()
    assert data["status"] == 400 and data["code"] == "invalid"
    assert message in " ".join(data["fields"][field])
    assert not Answer.objects.exists()


def test_bad_json_and_wrong_methods_are_not_500(bob, survey):
    response = bob.generic(
        "POST", _answer_url(survey), "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert bob.get(_answer_url(survey)).status_code == 405
    assert bob.delete(reverse("api-survey-results", args=[survey.pk])).status_code in (403, 405)


@pytest.mark.parametrize("pk", ["999999", "9" * 18, "9" * 40])
def test_unknown_and_absurd_survey_ids_are_404(bob, pk):
    assert bob.post(f"/api/v1/surveys/{pk}/answer/", {"option": 1}).status_code == 404


def test_results_before_the_first_snapshot_say_so(cast, api, survey):
    api.force_authenticate(cast.meg)
    response = api.get(reverse("api-survey-results", args=[survey.pk]))
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert "being counted" in response.json()["detail"]


def test_results_say_when_answers_have_changed_since(cast, api, survey):
    snapshot_rebuild(survey_id=survey.pk)
    api.force_authenticate(cast.bob.user)
    api.post(_answer_url(survey), {"option": option(survey, 1).pk})
    api.force_authenticate(cast.meg)
    body = api.get(reverse("api-survey-results", args=[survey.pk])).json()
    assert body["stale"] is True and body["total"] == 0
    assert body["hidden"] is True and body["rows"] == []


def test_the_survey_list_costs_the_same_queries_for_many_surveys(bob, cast):
    SurveyFactory()
    bob.get(reverse("api-surveys"))  # the person's roles are loaded once, then cached
    with CaptureQueriesContext(connection) as one:
        assert bob.get(reverse("api-surveys")).status_code == 200
    for _ in range(10):
        SurveyFactory(for_institutions=[cast.acme])
    with CaptureQueriesContext(connection) as eleven:
        assert len(bob.get(reverse("api-surveys")).json()["results"]) == 11
    assert len(eleven) == len(one)


def test_the_schema_documents_the_survey_paths(client):
    schema = client.get(reverse("api-schema")).content.decode()
    for path in [
        "/api/v1/surveys/",
        "/api/v1/surveys/{id}/answer/",
        "/api/v1/surveys/{id}/results/",
    ]:
        assert path in schema
