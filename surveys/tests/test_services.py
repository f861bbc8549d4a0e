"""The survey's rules, at the service: answering, refusing, editing options, queueing rebuilds."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from portal.errors import DomainError
from surveys.models import Answer, Option, Survey
from surveys.services import (
    OptionInput,
    answer_submit,
    snapshot_rebuild_queued,
    survey_save,
)
from surveys.tests.conftest import answer, make_members, option
from surveys.tests.factories import SurveyFactory


def rebuilds(callbacks: list) -> list:
    """The queued rebuilds among after-commit callbacks (cache bumps are queued there too)."""
    return [c for c in callbacks if getattr(c, "name", None) == "surveys.tasks.rebuild_results"]


pytestmark = pytest.mark.django_db


def test_one_answer_per_person_a_second_changes_the_first(cast, survey):
    first, created = answer(cast.bob.user, survey, 1)
    assert created
    second, created = answer(cast.bob.user, survey, 4, text="Fewer silos")
    assert not created and second.pk == first.pk
    assert Answer.objects.filter(survey=survey, user=cast.bob.user).count() == 1
    stored = Answer.objects.get(pk=first.pk)
    assert (stored.option.label, stored.text) == ("Other", "Fewer silos")
    assert stored.answered_at == first.answered_at and stored.changed_at > first.answered_at


def test_the_answer_counts_for_the_persons_institution(cast, survey):
    stored, _ = answer(cast.carol.user, survey, 2)
    assert stored.institution == cast.beta


def test_a_closed_survey_refuses_new_and_changed_answers(cast):
    survey = SurveyFactory(closed=True)
    with pytest.raises(DomainError, match=r"closed on .*no longer be given or changed") as err:
        answer(cast.bob.user, survey, 1)
    assert err.value.code == "closed"
    assert not Answer.objects.exists()


def test_the_survey_closes_at_its_closing_moment_exactly(cast, survey):
    just_before = survey.closes_at - timedelta(microseconds=1)
    answer_submit(by=cast.bob.user, survey=survey, option_id=option(survey, 1).pk, now=just_before)
    with pytest.raises(DomainError) as err:
        answer_submit(
            by=cast.bob.user, survey=survey, option_id=option(survey, 2).pk, now=survey.closes_at
        )
    assert err.value.code == "closed"
    assert Answer.objects.get().option.position == 1, "the answer given while open stays"


def test_an_upcoming_survey_refuses_answers(cast):
    survey = SurveyFactory(upcoming=True)
    with pytest.raises(DomainError, match="opens on") as err:
        answer(cast.bob.user, survey, 1)
    assert err.value.code == "not_open"


def test_people_outside_the_audience_are_refused_with_a_reason(cast):
    survey = SurveyFactory(for_institutions=[cast.acme])
    answer(cast.bob.user, survey, 1)
    with pytest.raises(PermissionDenied, match="institutions this survey is for"):
        answer(cast.dave.user, survey, 1)
    assert Answer.objects.count() == 1


@pytest.mark.parametrize("persona", ["mo", "meg", "aud"])
def test_people_without_an_institution_do_not_answer(cast, survey, persona):
    with pytest.raises(PermissionDenied):
        answer(getattr(cast, persona), survey, 1)


def test_other_requires_its_text(cast, survey):
    for blank in ["", "   \n"]:
        with pytest.raises(DomainError, match="please say what you mean") as err:
            answer(cast.bob.user, survey, 4, text=blank)
        assert err.value.field == "text"
    assert not Answer.objects.exists()


def test_text_is_refused_for_an_option_that_takes_none(cast, survey):
    with pytest.raises(DomainError, match="does not") as err:
        answer(cast.bob.user, survey, 1, text="but also…")
    assert err.value.field == "text"


def test_an_option_of_another_survey_is_refused(cast, survey):
    other = SurveyFactory()
    with pytest.raises(DomainError, match="this survey's options") as err:
        answer_submit(by=cast.bob.user, survey=survey, option_id=option(other, 1).pk)
    assert err.value.field == "option"


def test_every_answer_makes_the_results_stale(cast, survey):
    answer(cast.bob.user, survey, 1)
    answer(cast.bob.user, survey, 2)
    answer(cast.dave.user, survey, 2)
    survey.refresh_from_db()
    assert survey.results_version == 3


def test_a_burst_of_answers_queues_one_rebuild(cast, survey, django_capture_on_commit_callbacks):
    people = make_members(cast.acme, 300, "burst")
    with django_capture_on_commit_callbacks() as queued:
        for person in people:
            answer(person, survey, 1 + person.pk % 3)
    assert len(rebuilds(queued)) == 1, "one rebuild for the whole burst, not one per answer"
    survey.refresh_from_db()
    assert survey.results_version == 300 and survey.rebuild_queued_at is not None

    # The task releases the claim before it reads: the next answer queues the next rebuild.
    snapshot_rebuild_queued(survey_id=survey.pk)
    with django_capture_on_commit_callbacks() as queued:
        answer(cast.bob.user, survey, 1)
        answer(cast.dave.user, survey, 2)
    assert len(rebuilds(queued)) == 1


def test_a_claim_whose_task_was_lost_expires(
    cast, survey, settings, django_capture_on_commit_callbacks
):
    lost_at = timezone.now() - timedelta(seconds=settings.SURVEY_REBUILD_CLAIM_SECONDS + 1)
    Survey.objects.filter(pk=survey.pk).update(rebuild_queued_at=lost_at)
    with django_capture_on_commit_callbacks() as queued:
        answer(cast.bob.user, survey, 1)
    assert len(rebuilds(queued)) == 1


def test_a_rolled_back_answer_leaves_no_trace(cast, survey, django_capture_on_commit_callbacks):
    from django.db import transaction

    with (
        django_capture_on_commit_callbacks() as queued,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        answer(cast.bob.user, survey, 1)
        raise RuntimeError("the request failed after answering")
    survey.refresh_from_db()
    assert (survey.results_version, survey.rebuild_queued_at, len(rebuilds(queued))) == (0, None, 0)
    assert not Answer.objects.exists()


# --- Moderators create and edit surveys --------------------------------------------------------


def _save(by, survey=None, options=None, **changes):
    now = timezone.now()
    values = {
        "title": "Effect",
        "question": "What is the main effect?",
        "opens_at": now - timedelta(days=1),
        "closes_at": now + timedelta(days=10),
        "options": options
        or [OptionInput("Lower the cost"), OptionInput("Other", takes_text=True)],
    }
    return survey_save(by=by, survey=survey, **(values | changes))


def _labels(survey):
    return list(survey.options.order_by("position").values_list("label", "takes_text"))


def test_a_moderator_creates_and_reorders_a_survey(cast):
    survey = _save(cast.mo)
    assert _labels(survey) == [("Lower the cost", False), ("Other", True)]
    assert survey.created_by == cast.mo
    first, other = survey.options.order_by("position")
    _save(
        cast.mo,
        survey,
        options=[
            OptionInput("Improve   efficiency"),
            OptionInput(other.label, takes_text=True, id=other.pk),
            OptionInput("Lower costs", id=first.pk),
        ],
    )
    assert _labels(survey) == [
        ("Improve efficiency", False),
        ("Other", True),
        ("Lower costs", False),
    ]


@pytest.mark.parametrize("persona", ["alice", "bob", "meg", "aud"])
def test_only_moderators_create_surveys(cast, persona):
    user = getattr(cast, persona)
    with pytest.raises(PermissionDenied, match="moderators"):
        _save(getattr(user, "user", user))
    assert not Survey.objects.exists()


def test_an_answered_option_cannot_be_removed(cast, survey):
    answer(cast.bob.user, survey, 2)
    keep = [OptionInput(o.label, o.takes_text, o.pk) for o in survey.options.order_by("position")]
    before = _labels(survey)
    with pytest.raises(DomainError, match="“Improve efficiency” has answers already") as err:
        _save(cast.mo, survey, options=[keep[0], keep[2], keep[3]])
    assert err.value.field == "options"
    assert _labels(survey) == before
    # An option nobody chose goes.
    _save(cast.mo, survey, options=[keep[1], keep[3]])
    assert _labels(survey) == [("Improve efficiency", False), ("Other", True)]


def test_the_database_refuses_to_delete_an_answered_option_too(cast, survey):
    from django.db.models import RestrictedError

    answer(cast.bob.user, survey, 1)
    with pytest.raises(RestrictedError):
        option(survey, 1).delete()
    survey.delete()  # the whole survey still goes, answers and all
    assert not Answer.objects.exists() and not Option.objects.exists()


def test_an_answered_option_keeps_whether_it_takes_text(cast, survey):
    answer(cast.bob.user, survey, 4, text="Fewer silos")
    opts = [OptionInput(o.label, False, o.pk) for o in survey.options.order_by("position")]
    with pytest.raises(DomainError, match="whether it takes text"):
        _save(cast.mo, survey, options=opts)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": "  "}, "title", "short title"),
        ({"question": ""}, "question", "Write the question"),
        ({"closes_at": timezone.now() - timedelta(days=2)}, "closes_at", "close after it opens"),
        ({"audience": "everyone"}, "audience", "not an audience"),
        ({"audience": Survey.Audience.INSTITUTIONS}, "institutions", "Choose the institutions"),
        ({"options": [OptionInput("Only one")]}, "options", "at least two"),
        ({"options": [OptionInput("A"), OptionInput(" ")]}, "options", "needs a label"),
        ({"options": [OptionInput("Same"), OptionInput("same")]}, "options", "listed twice"),
        (
            {"options": [OptionInput("A", True), OptionInput("B", True)]},
            "options",
            "Only one option can take free text",
        ),
    ],
)
def test_bad_surveys_are_refused_naming_the_field(cast, changes, field, message):
    with pytest.raises(DomainError, match=message) as err:
        _save(cast.mo, **changes)
    assert err.value.field == field
    assert not Survey.objects.exists()


def test_an_option_of_another_survey_cannot_be_smuggled_in(cast, survey):
    other = SurveyFactory()
    with pytest.raises(DomainError, match="not one of this survey's"):
        _save(cast.mo, survey, options=[OptionInput("X", id=option(other, 1).pk), OptionInput("Y")])
    assert option(other, 1).survey_id == other.pk


def test_editing_marks_the_results_stale(cast, survey):
    _save(cast.mo, survey)
    survey.refresh_from_db()
    assert survey.results_version == 1


def test_deleting_a_person_marks_their_surveys_stale(cast, survey):
    answer(cast.bob.user, survey, 1)
    cast.bob.user.delete()
    survey.refresh_from_db()
    assert survey.results_version == 2
    assert not Answer.objects.exists()
