"""The results snapshot: what a rebuild writes, when it runs, and that it never goes backwards."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys.models import ResultSnapshot, Survey
from surveys.services import _store, snapshot_rebuild, snapshot_rebuild_stale
from surveys.tasks import rebuild_results, rebuild_stale
from surveys.tests.conftest import answer, make_members

pytestmark = pytest.mark.django_db


def _rows(group):
    return [(r["label"], r["count"], r["percent"]) for r in group["rows"]]


def test_rebuild_counts_overall_per_institution_and_keeps_free_texts(cast, survey):
    acme = make_members(cast.acme, 6, "acme")
    beta = make_members(cast.beta, 5, "beta")
    for n, person in enumerate(acme):
        answer(person, survey, 1 + n % 2)
    for n, person in enumerate(beta):
        answer(person, survey, 4, text=f"words {n}") if n < 2 else answer(person, survey, 3)

    snapshot = snapshot_rebuild(survey_id=survey.pk)
    survey.refresh_from_db()
    assert snapshot.version == survey.results_version == 11
    assert snapshot.total == 11
    doc = snapshot.document
    assert _rows(doc["overall"]) == [
        ("Lower the cost", 3, 28),  # three equal remainders: the point goes to the first
        ("Improve efficiency", 3, 27),
        ("Strengthen communication", 3, 27),
        ("Other", 2, 18),
    ]
    assert sum(r["percent"] for r in doc["overall"]["rows"]) == 100
    groups = {g["slug"]: g for g in doc["institutions"]}
    assert groups["acme"]["total"] == 6 and not groups["acme"]["hidden"]
    assert _rows(groups["beta"])[3] == ("Other", 2, 40)
    assert doc["texts"] == ["words 1", "words 0"], "newest first"
    assert doc["texts_total"] == 2
    assert set(snapshot.chart["data"]) == {"all", "acme", "beta"}
    bar, pie = snapshot.chart["data"]["all"]
    assert bar["y"] == [3, 3, 3, 2] and pie["text"] == ["28%", "27%", "27%", "18%"]


def test_small_groups_are_not_in_the_snapshot_at_all(cast, survey):
    for person in make_members(cast.acme, 8, "acme"):
        answer(person, survey, 1)
    answer(cast.dave.user, survey, 4, text="only Beta's one person")
    doc = snapshot_rebuild(survey_id=survey.pk).document
    groups = {g["slug"]: g for g in doc["institutions"]}
    # Beta's one answer is hidden, and Acme with it: overall minus Acme would give Beta away.
    assert groups["beta"] == {
        "id": cast.beta.pk,
        "slug": "beta",
        "name": "Beta Insurance",
        "hidden": True,
        "reason": "fewer than 5 answers",
        "total": None,
        "rows": [],
    }
    assert groups["acme"]["hidden"] and groups["acme"]["rows"] == []
    assert set(ResultSnapshot.objects.get().chart["data"]) == {"all"}


def test_the_rebuild_is_one_aggregate_query_whatever_the_number_of_answers(cast, survey):
    def answer_queries() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            snapshot_rebuild(survey_id=survey.pk)
        return [q["sql"] for q in queries if "surveys_answer" in q["sql"]]

    for person in make_members(cast.acme, 10, "few"):
        answer(person, survey, 1)
    few = answer_queries()
    for person in make_members(cast.beta, 200, "many"):
        answer(person, survey, 2)
    many = answer_queries()
    assert len(few) == len(many) == 2, "the tally and the latest free texts"
    assert "GROUP BY" in many[0] and "COUNT(" in many[0]
    assert "LIMIT" in many[1]


def test_the_queued_task_does_nothing_when_the_snapshot_is_current(cast, survey):
    answer(cast.bob.user, survey, 1)
    Survey.objects.filter(pk=survey.pk).update(rebuild_queued_at="2026-01-01T00:00:00Z")
    rebuild_results(survey.pk)  # runs the task body here
    snapshot = ResultSnapshot.objects.get()
    survey.refresh_from_db()
    assert survey.rebuild_queued_at is None, "the task releases the claim"
    assert (snapshot.version, snapshot.builds) == (1, 1)
    rebuild_results(survey.pk)
    snapshot.refresh_from_db()
    assert snapshot.builds == 1, "nothing changed, nothing rebuilt"
    answer(cast.dave.user, survey, 2)
    rebuild_results(survey.pk)
    snapshot.refresh_from_db()
    assert (snapshot.version, snapshot.builds, snapshot.total) == (2, 2, 2)


def test_an_older_rebuild_never_overwrites_a_newer_one(cast, survey):
    answer(cast.bob.user, survey, 1)
    newer = snapshot_rebuild(survey_id=survey.pk)
    assert _store(survey.pk, newer.version - 1, {"overall": {"total": 0}}, {}, 0.0) is None
    assert ResultSnapshot.objects.get().total == 1


def test_beat_rebuilds_what_is_stale_and_only_that(cast, survey):
    current = Survey.objects.get(pk=survey.pk)
    snapshot_rebuild(survey_id=current.pk)
    behind = type(survey).objects.create(
        title="Behind", question="?", opens_at=survey.opens_at, closes_at=survey.closes_at
    )
    answer(cast.bob.user, survey, 1)  # `survey` is now behind its snapshot too
    assert snapshot_rebuild_stale() == 2
    assert rebuild_stale() == 0, "a second pass finds nothing to do"
    assert ResultSnapshot.objects.get(survey=behind).total == 0
    assert ResultSnapshot.objects.get(survey=survey).total == 1


def test_a_deleted_survey_is_skipped(cast, survey):
    pk = survey.pk
    survey.delete()
    assert snapshot_rebuild(survey_id=pk) is None
    rebuild_results(pk)  # a task queued before the delete runs harmlessly
