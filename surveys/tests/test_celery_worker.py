"""A real worker on real Redis rebuilds the snapshot; the pages only ever read it."""

import re
import time
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import wait_for
from surveys.demo import EFFECT_TITLE
from surveys.models import ResultSnapshot, Survey
from surveys.services import snapshot_rebuild
from surveys.tests.conftest import answer, make_members
from surveys.tests.factories import SurveyFactory

pytestmark = [pytest.mark.celery, pytest.mark.slow]

ROW = re.compile(r'<th scope="row">([^<]+)</th><td class="num">(\d+)</td><td class="num">(\d+)%')
QUIET_BEAT = {
    "HEARTBEAT_INTERVAL_SECONDS": "3600",
    "LEDGER_RESEND_SECONDS": "3600",
    "LEDGER_BLOCK_MAX_SECONDS": "3600",
    "LEDGER_VERIFY_SECONDS": "3600",
}


def _dashboard(client, survey):
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("survey-results", args=[survey.pk]))
    assert page.status_code == 200
    rows = [(label, int(n), int(p)) for label, n, p in ROW.findall(page.content.decode())]
    return rows, queries


def test_an_answer_reaches_the_dashboard_through_the_worker(celery_worker, client, settings):
    settings.SURVEY_REBUILD_DELAY_SECONDS = 0.5
    call_command("load_demo", quiet=True)
    survey = Survey.objects.get(title=EFFECT_TITLE)
    client.force_login(get_user_model().objects.get(username="maya"))
    before, queries_before = _dashboard(client, survey)
    assert [n for _, n, _ in before] == [45, 21, 26, 8]

    nina = APIClient()
    nina.force_authenticate(get_user_model().objects.get(username="nina"))
    lower_the_cost = survey.options.get(position=1).pk
    assert (
        nina.post(f"/api/v1/surveys/{survey.pk}/answer/", {"option": lower_the_cost}).status_code
        == 201
    )

    snapshot = wait_for(
        lambda: ResultSnapshot.objects.filter(survey=survey, total=101).first(), timeout=30
    )
    survey.refresh_from_db()
    assert snapshot.version == survey.results_version
    after, queries_after = _dashboard(client, survey)
    # 46 of 101 is 45.54 %: the largest remainders (other 7.92, efficiency 20.79, communication
    # 25.74) take the three missing points, so the proportions still read 45/21/26/8.
    assert after == [
        ("Lower the cost", 46, 45),
        ("Improve efficiency", 21, 21),
        ("Strengthen communication", 26, 26),
        ("Other", 8, 8),
    ]
    # The page computed nothing: the same queries as before, none of them over the answers.
    assert len(queries_after) == len(queries_before)
    assert not [q["sql"] for q in queries_after if "surveys_answer" in q["sql"]]


def test_a_burst_of_a_thousand_answers_costs_a_few_rebuilds(celery_worker, cast, settings):
    delay = 1.0
    settings.SURVEY_REBUILD_DELAY_SECONDS = delay
    survey = SurveyFactory(title="Burst", options=[("A", False), ("B", False), ("C", False)])
    people = make_members(cast.acme, 1000, "burst")
    started = time.monotonic()
    for person in people:
        answer(person, survey, 1 + person.pk % 3)
    seconds = time.monotonic() - started

    print(f"1,000 answers in {seconds:.1f} s")
    snapshot = wait_for(
        lambda: ResultSnapshot.objects.filter(survey=survey, total=1000).first(), timeout=60
    )
    time.sleep(2 * delay)  # any rebuild still queued has run by now
    snapshot.refresh_from_db()
    survey.refresh_from_db()
    assert snapshot.version == survey.results_version == 1000
    # One rebuild per delay at most, whatever the rate of answers; without coalescing, 1,000.
    assert snapshot.builds <= seconds / delay + 2, (snapshot.builds, seconds)
    assert snapshot.builds < 30
    print(f"{snapshot.builds} rebuilds")


def test_beat_heals_a_rebuild_that_was_never_queued(worker_factory, cast):
    survey = SurveyFactory(title="Lost", options=[("A", False), ("B", False)])
    snapshot_rebuild(survey_id=survey.pk)
    # As if the queued task were lost with the broker: the claim is taken, so the answers
    # queue nothing, and only beat can notice the snapshot is behind.
    Survey.objects.filter(pk=survey.pk).update(rebuild_queued_at=timezone.now() + timedelta(days=1))
    for person in make_members(cast.acme, 5, "lost"):
        answer(person, survey, 1)
    assert ResultSnapshot.objects.get(survey=survey).total == 0

    worker = worker_factory(QUIET_BEAT | {"SURVEY_STALE_CHECK_SECONDS": "1"}, beat=True)
    worker.start()
    wait_for(lambda: ResultSnapshot.objects.filter(survey=survey, total=5).exists(), timeout=30)
