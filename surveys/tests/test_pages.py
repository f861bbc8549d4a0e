"""Survey pages in a plain client: answering, the moderators' editor, the dashboard's rules."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.models import Answer, Option, Survey
from surveys.services import snapshot_rebuild
from surveys.tests.conftest import answer, make_members, option
from surveys.tests.factories import SurveyFactory

pytestmark = pytest.mark.django_db


def test_staff_answer_and_change_their_answer(cast, client, survey):
    client.force_login(cast.bob.user)
    page = client.get(reverse("survey-detail", args=[survey.pk])).content.decode()
    assert survey.question in page and "Send my answer" in page
    response = client.post(
        reverse("survey-detail", args=[survey.pk]), {"option": option(survey, 1).pk}
    )
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "Your answer is saved" in page and "Change my answer" in page
    assert re.search(rf'value="{option(survey, 1).pk}"[^>]*checked', page), "their answer is ticked"
    client.post(
        reverse("survey-detail", args=[survey.pk]),
        {"option": option(survey, 4).pk, "text": "Fewer silos"},
    )
    stored = Answer.objects.get()
    assert (stored.option.label, stored.text) == ("Other", "Fewer silos")


def test_other_without_words_is_sent_back_with_the_reason(cast, client, survey):
    client.force_login(cast.bob.user)
    response = client.post(
        reverse("survey-detail", args=[survey.pk]), {"option": option(survey, 4).pk}
    )
    assert response.status_code == 400
    assert "You chose “Other”: please say what you mean." in response.content.decode()
    response = client.post(reverse("survey-detail", args=[survey.pk]), {})
    assert "Choose one of the answers." in response.content.decode()
    assert not Answer.objects.exists()


def test_a_closed_survey_shows_no_form_and_refuses_a_post(cast, client):
    survey = SurveyFactory(closed=True)
    client.force_login(cast.bob.user)
    page = client.get(reverse("survey-detail", args=[survey.pk])).content.decode()
    assert "answers can no longer be given or changed" in page
    assert "Send my answer" not in page
    response = client.post(
        reverse("survey-detail", args=[survey.pk]), {"option": option(survey, 1).pk}
    )
    assert response.status_code == 400
    assert "no longer be given or changed" in response.content.decode()
    assert not Answer.objects.exists()


def _survey_form(**changes):
    now = timezone.now()
    data = {
        "title": "Effect 2027",
        "question": "What is the main effect?",
        "opens_at": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        "closes_at": (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M"),
        "audience": "members",
        "options-TOTAL_FORMS": "3",
        "options-INITIAL_FORMS": "0",
        "options-0-label": "Lower the cost",
        "options-1-label": "Other",
        "options-1-takes_text": "on",
        "options-2-label": "",
    }
    return data | changes


def test_a_moderator_creates_a_survey_in_the_portal(cast, client):
    client.force_login(cast.mo)
    assert "New survey" in client.get(reverse("survey-create")).content.decode()
    response = client.post(reverse("survey-create"), _survey_form())
    assert response.status_code == 302, response.content.decode()
    survey = Survey.objects.get(title="Effect 2027")
    assert list(survey.options.values_list("label", "takes_text")) == [
        ("Lower the cost", False),
        ("Other", True),
    ]


def test_the_editor_sends_bad_input_back_with_its_reason(cast, client):
    client.force_login(cast.mo)
    response = client.post(
        reverse("survey-create"),
        _survey_form(closes_at="2020-01-01T00:00", **{"options-1-label": ""}),
    )
    assert response.status_code == 400
    assert "The survey must close after it opens." in response.content.decode()
    response = client.post(reverse("survey-create"), _survey_form(opens_at="not a date"))
    assert response.status_code == 400 and "Enter a valid date/time." in response.content.decode()
    assert not Survey.objects.exists()


def test_a_moderator_cannot_remove_an_answered_option(cast, client, survey):
    answer(cast.bob.user, survey, 2)
    client.force_login(cast.mo)
    page = client.get(reverse("survey-edit", args=[survey.pk])).content.decode()
    assert page.count("Answered: stays") == 1
    options = list(survey.options.order_by("position"))
    data = _survey_form(**{"options-TOTAL_FORMS": "4", "options-INITIAL_FORMS": "4"})
    for i, o in enumerate(options):
        data |= {
            f"options-{i}-id": o.pk,
            f"options-{i}-label": o.label,
            f"options-{i}-order": i + 1,
        }
        if o.takes_text:
            data[f"options-{i}-takes_text"] = "on"
        else:
            data.pop(f"options-{i}-takes_text", None)
    data["options-1-remove"] = "on"  # “Improve efficiency”, which bob chose
    response = client.post(reverse("survey-edit", args=[survey.pk]), data)
    assert response.status_code == 400
    assert (
        "“Improve efficiency” has answers already and cannot be removed."
        in response.content.decode()
    )
    assert survey.options.count() == 4
    data.pop("options-1-remove")
    data["options-0-remove"] = "on"  # nobody chose “Lower the cost”
    data["options-3-order"] = "1"  # and “Other” moves first
    assert client.post(reverse("survey-edit", args=[survey.pk]), data).status_code == 302
    assert list(survey.options.order_by("position").values_list("label", flat=True)) == [
        "Other",
        "Improve efficiency",
        "Strengthen communication",
    ]


@pytest.fixture
def lopsided(cast, survey):
    """Eight answers from Acme, two from Beta: Beta must stay hidden, and Acme with it."""
    for person in make_members(cast.acme, 8, "acme"):
        answer(person, survey, 1)
    answer(cast.carol.user, survey, 2)
    answer(cast.dave.user, survey, 4, text="only two of us")
    snapshot_rebuild(survey_id=survey.pk)
    return survey


def test_the_dashboard_hides_small_groups_and_their_complement(cast, client, lopsided):
    client.force_login(cast.meg)
    url = reverse("survey-results", args=[lopsided.pk])
    page = client.get(url).content.decode()
    assert (
        '<option value="beta" disabled>Beta Insurance (hidden: fewer than 5 answers)</option>'
        in page
    )
    assert (
        '<option value="acme" disabled>Acme Bank (hidden: hidden as well, so that a smaller group '
        "cannot be worked out)</option>"
    ) in page
    assert 'data-testid="group-total">10<' in page, "the overall figures are shown"
    for slug in ["beta", "acme"]:
        page = client.get(url, {"institution": slug}).content.decode()
        assert 'data-testid="hidden-group"' in page and 'data-testid="table2"' not in page
        csv_response = client.get(
            reverse("survey-results-csv", args=[lopsided.pk]), {"institution": slug}
        )
        assert csv_response.status_code == 404
    page = client.get(url, {"institution": "nowhere"}).content.decode()
    assert "No answers from that institution" in page


def test_the_dashboard_shows_nothing_while_fewer_than_five_answered(cast, client, survey):
    answer(cast.bob.user, survey, 4, text="my own words")
    snapshot_rebuild(survey_id=survey.pk)
    client.force_login(cast.meg)
    page = client.get(reverse("survey-results", args=[survey.pk])).content.decode()
    assert "Not shown: fewer than 5 answers so far." in page
    assert "my own words" not in page and 'data-testid="table2"' not in page


def test_the_dashboard_before_the_first_snapshot(cast, client, survey):
    client.force_login(cast.mo)
    page = client.get(reverse("survey-results", args=[survey.pk])).content.decode()
    assert "being counted for the first time" in page
    assert client.get(reverse("survey-results-csv", args=[survey.pk])).status_code == 404


def test_csv_cells_cannot_become_spreadsheet_formulas(cast, client):
    survey = SurveyFactory(options=[('=HYPERLINK("http://x")', False), ("+1", False)])
    for person in make_members(cast.acme, 5, "acme"):
        answer(person, survey, 1)
    snapshot_rebuild(survey_id=survey.pk)
    client.force_login(cast.meg)
    body = client.get(reverse("survey-results-csv", args=[survey.pk])).content.decode()
    rows = list(csv.reader(io.StringIO(body)))
    assert [r[0] for r in rows[1:3]] == ['\'=HYPERLINK("http://x")', "'+1"]


def test_home_shows_what_waits_for_each_role(cast, client, survey):
    snapshot_rebuild(survey_id=survey.pk)
    client.force_login(cast.bob.user)
    page = client.get(reverse("home")).content.decode()
    assert 'Surveys waiting for your answer</a> <strong class="count">1</strong>' in page
    answer(cast.bob.user, survey, 1)
    page = client.get(reverse("home")).content.decode()
    assert 'Surveys waiting for your answer</a> <strong class="count">0</strong>' in page
    client.force_login(cast.meg)
    page = client.get(reverse("home")).content.decode()
    assert "Table 2: Effect survey (answers)" in page
    assert reverse("survey-results", args=[survey.pk]) in page
    client.force_login(cast.aud)
    page = client.get(reverse("home")).content.decode()
    assert "Surveys waiting" not in page and "Table 2" not in page


def test_the_nav_links_the_surveys(cast, client):
    client.force_login(cast.dave.user)
    page = client.get(reverse("surveys")).content.decode()
    assert '<a href="/surveys/" aria-current="page">Surveys</a>' in page


def test_admin_refuses_to_delete_an_answered_option(cast, client, survey):
    from django.contrib.auth import get_user_model

    answer(cast.bob.user, survey, 1)
    admin = get_user_model().objects.create_superuser("root", "root@example.invalid", "x")
    client.force_login(admin)
    url = reverse("admin:surveys_survey_change", args=[survey.pk])
    data = {
        "title": survey.title,
        "question": survey.question,
        "opens_at_0": survey.opens_at.strftime("%Y-%m-%d"),
        "opens_at_1": survey.opens_at.strftime("%H:%M:%S"),
        "closes_at_0": survey.closes_at.strftime("%Y-%m-%d"),
        "closes_at_1": survey.closes_at.strftime("%H:%M:%S"),
        "audience": "members",
        "options-TOTAL_FORMS": "4",
        "options-INITIAL_FORMS": "4",
        "options-MIN_NUM_FORMS": "0",
        "options-MAX_NUM_FORMS": "1000",
    }
    for i, o in enumerate(survey.options.order_by("position")):
        data |= {
            f"options-{i}-id": o.pk,
            f"options-{i}-survey": survey.pk,
            f"options-{i}-position": o.position,
            f"options-{i}-label": o.label,
        }
        if o.takes_text:
            data[f"options-{i}-takes_text"] = "on"
    data["options-0-DELETE"] = "on"  # bob's answer
    response = client.post(url, data)
    assert response.status_code == 200, "the form comes back with the error"
    assert (
        "would require deleting the following protected related objects"
        in response.content.decode()
    )
    assert Option.objects.filter(survey=survey).count() == 4
    data.pop("options-0-DELETE")
    data["options-1-DELETE"] = "on"  # nobody's answer
    assert client.post(url, data).status_code == 302
    assert Option.objects.filter(survey=survey).count() == 3
    survey.refresh_from_db()
    assert survey.results_version == 2, "the admin's change marks the results stale"
