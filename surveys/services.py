"""State changes of the survey: writing surveys and answers, and rebuilding result snapshots.

Answers never compute results. Each one bumps the survey's `results_version` and, unless a
rebuild is already queued, queues one a few seconds ahead (`SURVEY_REBUILD_DELAY_SECONDS`);
every answer arriving meanwhile finds the claim taken and queues nothing, so a burst of 1,000
answers in a second costs one or two rebuilds, not 1,000. The task releases the claim before it
reads, so an answer committed during a rebuild queues the next one and none is missed. A rebuild
whose snapshot is already at the survey's version does nothing, and beat rebuilds whatever is
stale, so a task lost with the broker or a killed worker costs a delay, never a wrong figure.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, RestrictedError
from django.utils import timezone

from consortium.models import Institution
from portal import cache_versions, tasking
from portal.errors import DomainError
from portal.permissions import Perm, actor_for, require
from surveys import charts, tables
from surveys.models import Answer, Option, ResultSnapshot, Survey

MAX_TEXT = 2000
MAX_OPTIONS = 20


@dataclass(frozen=True)
class OptionInput:
    """One option as a moderator wants it; `id` names an existing option of the survey."""

    label: str
    takes_text: bool = False
    id: int | None = None


def _clean_options(options: Sequence[OptionInput]) -> list[OptionInput]:
    cleaned = [
        OptionInput(label=" ".join(o.label.split()), takes_text=o.takes_text, id=o.id)
        for o in options
    ]
    if any(not o.label for o in cleaned):
        raise DomainError("Every option needs a label.", field="options")
    if len(cleaned) < 2:
        raise DomainError("A survey needs at least two options to choose from.", field="options")
    if len(cleaned) > MAX_OPTIONS:
        raise DomainError(f"A survey has at most {MAX_OPTIONS} options.", field="options")
    labels = [o.label.casefold() for o in cleaned]
    duplicate = next(
        (o.label for o, k in zip(cleaned, labels, strict=True) if labels.count(k) > 1), None
    )
    if duplicate:
        raise DomainError(f"“{duplicate}” is listed twice; each option once.", field="options")
    if sum(o.takes_text for o in cleaned) > 1:
        raise DomainError("Only one option can take free text.", field="options")
    ids = [o.id for o in cleaned if o.id is not None]
    if len(ids) != len(set(ids)):
        raise DomainError("The same option is listed twice.", field="options")
    return cleaned


@transaction.atomic
def survey_save(
    *,
    by: User,
    survey: Survey | None = None,
    title: str,
    question: str,
    opens_at: datetime,
    closes_at: datetime,
    audience: str = Survey.Audience.ALL_MEMBERS,
    institutions: Sequence[Institution] = (),
    options: Sequence[OptionInput],
) -> Survey:
    """Create a survey (`survey=None`) or change one, options in the order given.

    Options of the survey missing from `options` are removed, unless someone has chosen them:
    then DomainError on `options`, and nothing changes. An answered option keeps whether it
    takes text, since its answers were given under that rule.
    """
    require(by, Perm.SURVEY_MANAGE)
    title, question = " ".join(title.split()), question.strip()
    if not title:
        raise DomainError("Give the survey a short title.", field="title")
    if not question:
        raise DomainError("Write the question people answer.", field="question")
    if closes_at <= opens_at:
        raise DomainError("The survey must close after it opens.", field="closes_at")
    if audience not in Survey.Audience.values:
        raise DomainError(
            f"“{audience}” is not an audience; choose one of: {', '.join(Survey.Audience.values)}.",
            field="audience",
        )
    if audience == Survey.Audience.INSTITUTIONS and not institutions:
        raise DomainError("Choose the institutions whose people answer.", field="institutions")
    wanted = _clean_options(options)

    if survey is None:
        survey = Survey(created_by=by)
        existing: dict[int, Option] = {}
    else:
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        existing = {o.pk: o for o in survey.options.all()}
    survey.title, survey.question = title, question
    survey.opens_at, survey.closes_at, survey.audience = opens_at, closes_at, audience
    survey.save()
    survey.institutions.set(institutions if audience == Survey.Audience.INSTITUTIONS else [])

    unknown = [o.id for o in wanted if o.id is not None and o.id not in existing]
    if unknown:
        raise DomainError("That option is not one of this survey's.", field="options")
    kept = {o.id for o in wanted if o.id is not None}
    answered = set(
        Answer.objects.filter(survey=survey).values_list("option_id", flat=True).distinct()
    )
    removed = [o for pk, o in existing.items() if pk not in kept]
    for option in removed:
        if option.pk in answered:
            raise DomainError(
                f"“{option.label}” has answers already and cannot be removed.", field="options"
            )
    for o in wanted:
        if o.id in answered and existing[o.id].takes_text != o.takes_text:
            raise DomainError(
                f"“{existing[o.id].label}” has answers already, so whether it takes text "
                "cannot change.",
                field="options",
            )
    try:
        Option.objects.filter(pk__in=[o.pk for o in removed]).delete()
    except RestrictedError:  # answered between our check and the delete
        raise DomainError("An option you removed was answered just now.", field="options") from None
    # Positions and the one free-text option are unique per survey: move the kept options out
    # of the way first, so reordering never collides with itself half-way.
    Option.objects.filter(survey=survey).update(position=F("position") + 1000, takes_text=False)
    for position, o in enumerate(wanted, start=1):
        if o.id is None:
            Option.objects.create(
                survey=survey, position=position, label=o.label, takes_text=o.takes_text
            )
        else:
            Option.objects.filter(pk=o.id).update(
                position=position, label=o.label, takes_text=o.takes_text
            )
    cache_versions.bump("surveys")
    _results_changed(survey.pk)
    return survey


def answer_submit(
    *,
    by: User,
    survey: Survey,
    option_id: int,
    text: str = "",
    now: datetime | None = None,
) -> tuple[Answer, bool]:
    """Record `by`'s answer, replacing their earlier one; returns it and whether it is new.

    PermissionDenied when `by` is not of an institution the survey is for; DomainError when the
    survey is not open (code `closed`), the option is not the survey's (`option`), or the text
    is missing for an option that takes it or given for one that does not (`text`).
    """
    require(by, Perm.SURVEY_ANSWER, survey)
    now = now or timezone.now()
    status = survey.status(now)
    if status == "closed":
        raise DomainError(
            f"This survey closed on {survey.closes_at:%d %B %Y at %H:%M} UTC; "
            "answers can no longer be given or changed.",
            code="closed",
        )
    if status == "upcoming":
        raise DomainError(
            f"This survey opens on {survey.opens_at:%d %B %Y at %H:%M} UTC.", code="not_open"
        )
    option = Option.objects.filter(survey=survey, pk=option_id).first()
    if option is None:
        raise DomainError("Choose one of this survey's options.", field="option")
    text = text.strip()
    if option.takes_text and not text:
        raise DomainError(f"You chose “{option.label}”: please say what you mean.", field="text")
    if not option.takes_text and text:
        raise DomainError(
            f"Only the free-text option takes text; “{option.label}” does not.", field="text"
        )
    if len(text) > MAX_TEXT:
        raise DomainError(f"Please keep it under {MAX_TEXT} characters.", field="text")
    institution_id = actor_for(by).institution_id
    values = {"option": option, "text": text, "institution_id": institution_id, "changed_at": now}
    with transaction.atomic():
        # get_or_create underneath: a person's two first answers racing end as one answer.
        answer, created = Answer.objects.update_or_create(
            survey=survey, user=by, defaults=values, create_defaults=values | {"answered_at": now}
        )
        # Last, so the survey row is locked only for the end of the transaction.
        _results_changed(survey.pk, now=now)
    return answer, created


def _results_changed(survey_id: int, *, now: datetime | None = None) -> None:
    """Mark the survey's results stale and queue a rebuild unless one is queued already.

    Runs inside the caller's transaction: if it rolls back, so do the bump and the claim.
    """
    now = now or timezone.now()
    Survey.objects.filter(pk=survey_id).update(results_version=F("results_version") + 1)
    presumed_lost = now - timedelta(seconds=settings.SURVEY_REBUILD_CLAIM_SECONDS)
    claimed = (
        Survey.objects.filter(pk=survey_id)
        .filter(Q(rebuild_queued_at__isnull=True) | Q(rebuild_queued_at__lt=presumed_lost))
        .update(rebuild_queued_at=now)
    )
    cache_versions.bump("surveys")
    if claimed:
        # After the coalescing delay. A broker that is down costs a delay only: the claim
        # expires and beat rebuilds stale snapshots anyway.
        tasking.send(
            "surveys.tasks.rebuild_results",
            survey_id,
            countdown=settings.SURVEY_REBUILD_DELAY_SECONDS,
        )


def snapshot_rebuild_queued(*, survey_id: int) -> ResultSnapshot | None:
    """What the queued task runs: release the claim, then rebuild if the snapshot is behind."""
    # Released before reading: an answer committed from here on queues the next rebuild.
    Survey.objects.filter(pk=survey_id).update(rebuild_queued_at=None)
    cache_versions.bump("surveys")
    return snapshot_rebuild(survey_id=survey_id, only_if_stale=True)


def snapshot_rebuild(*, survey_id: int, only_if_stale: bool = False) -> ResultSnapshot | None:
    """Fold the survey's answers into its snapshot with one aggregate query.

    The version is read before the answers, so the snapshot counts at least what that version
    says (an answer committed in between is counted and its own rebuild finds little to do).
    Returns None when the survey is gone, or when `only_if_stale` and nothing changed.
    """
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        return None
    version = survey.results_version
    if (
        only_if_stale
        and ResultSnapshot.objects.filter(survey_id=survey_id, version__gte=version).exists()
    ):
        return None
    started = time.perf_counter()
    options = [
        tables.OptionInfo(id=o.pk, label=o.label, takes_text=o.takes_text)
        for o in survey.options.order_by("position")
    ]
    # The one aggregate query: a GROUP BY over the survey's answers, answered from the
    # `answer_tally` index; the rest works on a few rows per institution and option.
    tally = list(
        Answer.objects.filter(survey_id=survey_id)
        .values("institution_id", "option_id")
        .annotate(n=Count("pk"))
        .values_list("institution_id", "option_id", "n")
        .order_by()
    )
    institutions = {
        pk: tables.InstitutionInfo(id=pk, slug=slug, name=name)
        for pk, slug, name in Institution.objects.filter(
            pk__in={row[0] for row in tally}
        ).values_list("pk", "slug", "name")
    }
    texts = list(
        Answer.objects.filter(survey_id=survey_id)
        .exclude(text="")
        .order_by("-changed_at", "-pk")
        .values_list("text", flat=True)[: settings.SURVEY_SNAPSHOT_TEXTS]
    )
    document = tables.build_document(
        options=options,
        tally=tally,
        institutions=institutions,
        texts=texts,
        minimum=settings.SURVEY_MIN_GROUP,
    )
    chart = charts.build([o.label for o in options], _chart_groups(document))
    seconds = time.perf_counter() - started
    return _store(survey_id, version, document, chart, seconds)


def _chart_groups(document: dict) -> dict[str, tuple[list[int], list[int]]]:
    groups = {}
    shown = [("all", document["overall"])] + [
        (g["slug"], g) for g in document["institutions"] if not g["hidden"]
    ]
    for key, group in shown:
        if group["hidden"]:
            continue
        rows = group["rows"]
        groups[key] = ([r["count"] for r in rows], [r["percent"] for r in rows])
    return groups


@transaction.atomic
def _store(
    survey_id: int, version: int, document: dict, chart: dict, seconds: float
) -> ResultSnapshot | None:
    values = {
        "version": version,
        "built_at": timezone.now(),
        "build_seconds": seconds,
        "total": document["overall"]["total"],
        "document": document,
        "chart": chart,
    }
    current = ResultSnapshot.objects.select_for_update().filter(survey_id=survey_id).first()
    if current is None:
        try:
            with transaction.atomic():
                return ResultSnapshot.objects.create(survey_id=survey_id, **values)
        except IntegrityError:  # another rebuild created it a moment ago
            current = ResultSnapshot.objects.select_for_update().get(survey_id=survey_id)
    if current.version > version:
        return None  # a rebuild that read later answers finished first: keep its result
    for field, value in values.items():
        setattr(current, field, value)
    current.builds = F("builds") + 1
    current.save()
    current.refresh_from_db(fields=["builds"])
    return current


def snapshot_rebuild_stale() -> int:
    """Rebuild every snapshot behind its survey (beat runs this); returns how many."""
    stale = Survey.objects.filter(
        Q(snapshot__isnull=True) | Q(snapshot__version__lt=F("results_version"))
    ).values_list("pk", flat=True)
    rebuilt = 0
    for survey_id in list(stale):
        if snapshot_rebuild(survey_id=survey_id, only_if_stale=True) is not None:
            rebuilt += 1
    return rebuilt


def mark_results_changed(*, survey_ids: Sequence[int]) -> None:
    """Mark results stale after a change made around the services (the admin, a deleted
    person): the same bump and queued rebuild an answer causes."""
    with transaction.atomic():
        for survey_id in survey_ids:
            _results_changed(survey_id)
