"""The demo reproduces the paper's Table 2 exactly: on the dashboard, in the API and in the CSV."""

import csv
import io
import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consortium.models import Institution, Membership
from surveys.demo import EFFECT_TITLE
from surveys.models import Answer, ResultSnapshot, Survey
from surveys.tests.conftest import answer, make_members

pytestmark = pytest.mark.django_db

TABLE_2 = [
    ("Lower the cost", 45, "45%"),
    ("Improve efficiency", 21, "21%"),
    ("Strengthen communication", 26, "26%"),
    ("Other", 8, "8%"),
]
ROW = re.compile(
    r'<tr data-testid="row-\d+"><th scope="row">([^<]+)</th>'
    r'<td class="num">(\d+)</td><td class="num">(\d+%)</td></tr>'
)


@pytest.fixture
def demo(db):
    call_command("load_demo", quiet=True)
    return Survey.objects.get(title=EFFECT_TITLE)


@pytest.fixture
def maya(client, demo):
    client.force_login(get_user_model().objects.get(username="maya"))
    return client


def _page_rows(client, survey, **params):
    page = client.get(reverse("survey-results", args=[survey.pk]), params)
    assert page.status_code == 200
    return [(label, int(n), p) for label, n, p in ROW.findall(page.content.decode())], page


def test_the_dashboard_shows_table_2(maya, demo):
    rows, page = _page_rows(maya, demo)
    assert rows == TABLE_2
    html = page.content.decode()
    assert '<th scope="col">Number</th><th scope="col">Proportion</th>' in html
    assert 'data-testid="group-total">100<' in html
    assert "Results as of" in html and "100 answers in all" in html


def test_the_api_gives_table_2(client, demo):
    client.force_login(get_user_model().objects.get(username="mod"))
    body = client.get(reverse("api-survey-results", args=[demo.pk])).json()
    assert [(r["label"], r["count"], f"{r['percent']}%") for r in body["rows"]] == TABLE_2
    assert body["total"] == 100 and body["stale"] is False and body["hidden"] is False
    assert body["texts_total"] == 8 and len(body["texts"]) == 8
    assert "largest-remainder" in body["rounding"]
    assert {g["name"]: g["total"] for g in body["institutions"]} == {
        "Eastfield Savings": 20,
        "Harbor Mutual": 28,
        "Northbank": 30,
        "Quill Pay": 22,
    }


def test_the_csv_export_gives_table_2(maya, demo):
    response = maya.get(reverse("survey-results-csv", args=[demo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.search(
        r'filename="survey-\d+-all-results-\d{8}T\d{6}Z\.csv"', response["Content-Disposition"]
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Answer", "Number", "Proportion"]
    assert [(label, int(n), p) for label, n, p in rows[1:5]] == TABLE_2
    assert rows[5] == ["Total", "100", "100%"]


def test_one_institutions_answers_with_their_own_proportions(maya, demo):
    rows, page = _page_rows(maya, demo, institution="northbank")
    # 14, 6, 8, 2 of 30: 46.67 %, 20 %, 26.67 %, 6.67 % → largest remainders to the first two.
    assert rows == [
        ("Lower the cost", 14, "47%"),
        ("Improve efficiency", 6, "20%"),
        ("Strengthen communication", 8, "27%"),
        ("Other", 2, "6%"),
    ]
    assert "Table 2. The effect of the establishment of the data sharing mechanism — Northbank" in (
        page.content.decode()
    )
    assert "“Other” in their own words" not in page.content.decode(), "texts are never attributed"
    csv_rows = list(
        csv.reader(
            io.StringIO(
                maya.get(
                    reverse("survey-results-csv", args=[demo.pk]), {"institution": "northbank"}
                ).content.decode()
            )
        )
    )
    assert csv_rows[-1] == ["Total", "30", "100%"]


def test_the_free_text_answers_are_shown(maya, demo):
    _, page = _page_rows(maya, demo)
    html = page.content.decode()
    assert "All 8, newest first, without names or institutions." in html
    assert "Strengthens the early warning of risk across institutions." in html


def test_the_chart_is_drawn_from_local_files(maya, demo):
    _, page = _page_rows(maya, demo)
    html = page.content.decode()
    assert '<script src="/static/surveys/plotly.min.js"></script>' in html
    assert 'id="survey-chart-data"' in html
    assert "cdn" not in html.lower() and "https://" not in html
    js = maya.get("/static/surveys/plotly.min.js")
    assert js.status_code == 200
    body = b"".join(js.streaming_content) if js.streaming else js.content
    assert body.startswith(b"/**") and b"plotly.js" in body[:200]


def test_the_dashboard_reads_the_snapshot_and_never_the_answers(maya, demo):
    _page_rows(maya, demo)  # as in a session under way: the user is cached
    with CaptureQueriesContext(connection) as queries:
        rows, _ = _page_rows(maya, demo)
    assert not [q["sql"] for q in queries if "surveys_answer" in q["sql"]]
    # Fifty more answers, no worker: the page neither counts them nor costs more queries.
    northbank = Institution.objects.get(slug="northbank")
    for person in make_members(northbank, 50, "late"):
        answer(person, demo, 2)
    with CaptureQueriesContext(connection) as again:
        rows_again, page = _page_rows(maya, demo)
    assert rows_again == rows == TABLE_2
    assert "Newer answers are being counted" in page.content.decode()
    assert len(again) == len(queries)


def test_load_demo_twice_changes_nothing(demo):
    before = ResultSnapshot.objects.get(survey=demo)
    call_command("load_demo", quiet=True)
    after = ResultSnapshot.objects.get(survey=demo)
    assert (after.version, after.builds, after.total) == (before.version, before.builds, 100)
    assert Survey.objects.filter(title=EFFECT_TITLE).count() == 1
    assert Answer.objects.count() == 100
    # The respondents are not among the logins or anyone's people.
    respondents = get_user_model().objects.filter(username__startswith="respondent-")
    assert respondents.count() == 100
    assert not respondents.filter(is_active=True).exists()
    assert not any(u.has_usable_password() for u in respondents)
    assert not Membership.objects.filter(user__in=respondents).exists()
