"""Reads of the surveys, scoped to the person asking. Results come from snapshots only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, Min, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from consortium.home import HomeItem, HomeSection
from portal.permissions import Actor, Perm, actor_for, can, require
from surveys.models import Answer, Option, ResultSnapshot, Survey

ALL = "all"


def survey_visible_qs(*, user: AbstractBaseUser) -> QuerySet[Survey]:
    """Surveys the user may see: every opened one; moderators see the upcoming ones too."""
    if not can(user, Perm.SURVEY_VIEW):
        return Survey.objects.none()
    qs = Survey.objects.all()
    if actor_for(user).is_moderator:
        return qs
    return qs.filter(opens_at__lte=timezone.now())


def survey_list_qs(*, user: AbstractBaseUser) -> QuerySet[Survey]:
    """Visible surveys with their options, audience and the user's own answer (`my_answers`),
    in a fixed number of queries however many surveys there are."""
    return survey_visible_qs(user=user).prefetch_related(
        Prefetch("options", queryset=Option.objects.order_by("position")),
        "institutions",
        Prefetch(
            "answers",
            queryset=Answer.objects.filter(user_id=user.pk),
            to_attr="my_answers",
        ),
    )


def my_answer(survey: Survey) -> Answer | None:
    """The answer prefetched by `survey_list_qs`, if the user gave one."""
    answers = getattr(survey, "my_answers", None) or []
    return answers[0] if answers else None


def survey_for_answering(*, user: AbstractBaseUser, pk: int) -> Survey:
    """A visible survey with what the answer page needs; Http404 otherwise."""
    survey = survey_list_qs(user=user).filter(pk=pk).first()
    if survey is None:
        raise Http404("No such survey.")
    return survey


def answered_option_ids(*, survey: Survey) -> set[int]:
    """Options someone has chosen, which the edit form offers no way to remove."""
    return set(Answer.objects.filter(survey=survey).values_list("option_id", flat=True).distinct())


@dataclass
class Results:
    """What the dashboard and the results API show: one group of one snapshot."""

    survey: Survey
    snapshot: ResultSnapshot | None
    group_key: str
    group: dict[str, Any] | None  # None: the institution has no answers in the snapshot

    @property
    def stale(self) -> bool:
        return self.snapshot is None or self.snapshot.version < self.survey.results_version

    @property
    def document(self) -> dict[str, Any]:
        return self.snapshot.document if self.snapshot else {}

    @property
    def groups(self) -> list[dict[str, Any]]:
        return self.document.get("institutions", [])

    @property
    def shown(self) -> bool:
        return self.group is not None and not self.group["hidden"]

    @property
    def chart(self) -> dict[str, Any] | None:
        if self.snapshot is None or not self.shown:
            return None
        data = self.snapshot.chart.get("data", {}).get(self.group_key)
        return {"layout": self.snapshot.chart["layout"], "data": data} if data else None


def results_for(*, user: AbstractBaseUser, survey_id: int, institution: str = "") -> Results:
    """The snapshot of a survey, narrowed to one institution's answers if `institution` (a
    slug) is given. PermissionDenied for anyone but managers and moderators, before anything
    else, so the answer does not even tell whether the survey exists; then Http404."""
    require(user, Perm.SURVEY_RESULTS_VIEW)
    survey = Survey.objects.select_related("snapshot").filter(pk=survey_id).first()
    if survey is None:
        raise Http404("No such survey.")
    snapshot = getattr(survey, "snapshot", None)
    if snapshot is None:
        return Results(survey=survey, snapshot=None, group_key=institution or ALL, group=None)
    if not institution or institution == ALL:
        return Results(
            survey=survey, snapshot=snapshot, group_key=ALL, group=snapshot.document["overall"]
        )
    group = next((g for g in snapshot.document["institutions"] if g["slug"] == institution), None)
    return Results(survey=survey, snapshot=snapshot, group_key=institution, group=group)


def _waiting_for(actor: Actor, user: AbstractBaseUser) -> QuerySet[Survey]:
    now = timezone.now()
    in_audience = Q(audience=Survey.Audience.ALL_MEMBERS) | Exists(
        Survey.institutions.through.objects.filter(
            survey_id=OuterRef("pk"), institution_id=actor.institution_id
        )
    )
    answered = Exists(Answer.objects.filter(survey_id=OuterRef("pk"), user_id=user.pk))
    return Survey.objects.filter(in_audience, ~answered, opens_at__lte=now, closes_at__gt=now)


def home_sections(*, user: AbstractBaseUser) -> list[HomeSection]:
    """The home page's survey cards: what waits for a member's answer, and for managers and
    moderators the latest survey's Table 2. Two queries at most."""
    actor = actor_for(user)
    sections: list[HomeSection] = []
    if actor.is_member:
        waiting = _waiting_for(actor, user).count()
        sections.append(
            HomeSection(
                "Surveys",
                [HomeItem("Surveys waiting for your answer", waiting, reverse("surveys"))],
            )
        )
    if can(user, Perm.SURVEY_RESULTS_VIEW):
        latest = (
            Survey.objects.filter(opens_at__lte=timezone.now())
            .select_related("snapshot")
            .order_by("-opens_at", "-pk")
            .first()
        )
        items = [HomeItem("All surveys", None, reverse("surveys"))]
        if latest is not None:
            snapshot = getattr(latest, "snapshot", None)
            items.insert(
                0,
                HomeItem(
                    f"Table 2: {latest.title} (answers)",
                    snapshot.total if snapshot else None,
                    reverse("survey-results", args=[latest.pk]),
                ),
            )
        sections.append(HomeSection("Survey results", items))
    return sections


def home_valid_until(*, user: AbstractBaseUser) -> datetime | None:
    """A survey starts or stops waiting for answers at its `opens_at` and `closes_at`.

    Every survey, not only the person's: the latest one heads the managers' Table 2 card."""
    now = timezone.now()
    moments = Survey.objects.aggregate(
        opens=Min("opens_at", filter=Q(opens_at__gt=now)),
        closes=Min("closes_at", filter=Q(closes_at__gt=now)),
    )
    return min((m for m in moments.values() if m is not None), default=None)
