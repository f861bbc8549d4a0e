"""Reads of access requests and grants, always scoped to the person asking.

Each list starts from what the actor's institution or role may see, never from every row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db.models import Count, F, Min, Q, QuerySet, Sum, Value
from django.db.models.fields import DateTimeField
from django.db.models.functions import Coalesce
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from access.models import AccessRequest, Download, Grant, GrantQuerySet
from catalog.models import Dataset
from catalog.selectors import dataset_ids_owned_by
from consortium.home import HomeItem, HomeSection
from ledger.selectors import OpenedEntry, openings
from portal.permissions import Perm, actor_for, can
from portal.queries import in_range

_REQUEST_RELATED = ("dataset__institution", "version", "institution", "requested_by", "grant")


def requests_visible(*, user: User) -> QuerySet[AccessRequest]:
    """Requests of the actor's institution, for its data, and all of them for moderators."""
    actor = actor_for(user)
    qs = AccessRequest.objects.select_related(*_REQUEST_RELATED)
    if actor.is_moderator:
        return qs
    if actor.institution_id is None:
        return qs.none()
    return qs.filter(
        Q(institution_id=actor.institution_id) | Q(dataset__institution_id=actor.institution_id)
    )


def request_for(*, user: User, pk: int) -> AccessRequest | None:
    request = AccessRequest.objects.select_related(*_REQUEST_RELATED).filter(pk=pk).first()
    if request is None or not can(user, Perm.ACCESS_REQUEST_VIEW, request):
        return None
    return request


def my_requests(*, user: User) -> QuerySet[AccessRequest]:
    actor = actor_for(user)
    if actor.institution_id is None:
        return AccessRequest.objects.none()
    return AccessRequest.objects.select_related(*_REQUEST_RELATED).filter(
        institution_id=actor.institution_id
    )


def open_request_of(*, user: User, dataset: Dataset) -> AccessRequest | None:
    """The actor's institution's waiting request for `dataset`, if there is one."""
    actor = actor_for(user)
    if actor.institution_id is None:
        return None
    return AccessRequest.objects.filter(
        dataset=dataset, institution_id=actor.institution_id, state__in=AccessRequest.OPEN_STATES
    ).first()


def moderation_queue(*, user: User) -> QuerySet[AccessRequest]:
    """Requests waiting for a moderator, oldest first (those the actor may act on)."""
    actor = actor_for(user)
    if not actor.is_moderator:
        return AccessRequest.objects.none()
    qs = AccessRequest.objects.select_related(*_REQUEST_RELATED).filter(
        state=AccessRequest.State.PENDING_MODERATION
    )
    if actor.institution_id is not None:
        qs = qs.exclude(institution_id=actor.institution_id).exclude(
            dataset__institution_id=actor.institution_id
        )
    return qs.order_by("created_at", "pk")


def awaiting_decision(*, user: User) -> QuerySet[AccessRequest]:
    """Requests for the steward's institution's data waiting for a decision, oldest first."""
    actor = actor_for(user)
    if not actor.is_steward or actor.institution_id is None:  # a steward has an institution
        return AccessRequest.objects.none()
    return (
        AccessRequest.objects.select_related(*_REQUEST_RELATED)
        .filter(
            state=AccessRequest.State.PENDING_DECISION,
            dataset__institution_id=actor.institution_id,
        )
        .exclude(institution_id=actor.institution_id)
        .order_by("created_at", "pk")
    )


_GRANT_RELATED = (
    "request__dataset__institution",
    "request__requested_by",
    "version",
    "institution",
)


def grants_visible(*, user: User) -> GrantQuerySet:
    """Grants to or from the actor's institution; all of them for moderators."""
    actor = actor_for(user)
    qs = Grant.objects.select_related(*_GRANT_RELATED)
    if actor.is_moderator:
        return qs
    if actor.institution_id is None:
        return qs.none()
    return qs.filter(
        Q(institution_id=actor.institution_id)
        | Q(request__dataset__institution_id=actor.institution_id)
    )


def grant_for(*, user: User, pk: int) -> Grant | None:
    grant = Grant.objects.select_related(*_GRANT_RELATED).filter(pk=pk).first()
    if grant is None or not can(user, Perm.GRANT_VIEW, grant):
        return None
    return grant


def downloads_of(*, grant: Grant) -> QuerySet[Download]:
    return grant.downloads.select_related("user").order_by("-started_at")


def home_sections(*, user: User) -> list[HomeSection]:
    """What waits for each role: decisions for stewards, the queue for moderators, and a
    member's own pending requests and active grants."""
    actor = actor_for(user)
    items = []
    if actor.is_steward:
        waiting = awaiting_decision(user=user).count()
        items.append(
            HomeItem("Requests awaiting your decision", waiting, reverse("access-decisions"))
        )
    if actor.is_moderator:
        queued = moderation_queue(user=user).count()
        items.append(
            HomeItem("Requests in the moderation queue", queued, reverse("access-moderation"))
        )
    if actor.institution_id is not None:  # a member
        pending = my_requests(user=user).filter(state__in=AccessRequest.OPEN_STATES).count()
        items.append(
            HomeItem("Your institution's pending requests", pending, reverse("access-requests"))
        )
        active = Grant.objects.filter(institution_id=actor.institution_id).active().count()
        items.append(HomeItem("Active grants to your institution", active, reverse("grants")))
    return [HomeSection("Access to data", items)] if items else []


def home_valid_until(*, user: User) -> datetime | None:
    """A grant stops being active at its `expires_at`, before the expiry task marks it."""
    actor = actor_for(user)
    if actor.institution_id is None:  # not a member: no grants
        return None
    grants = Grant.objects.filter(institution_id=actor.institution_id).active()
    return grants.aggregate(first=Min("expires_at"))["first"]


def request_or_404(*, user: User, pk: int) -> AccessRequest:
    """The request if this person may see it; Http404 otherwise (pages and API alike)."""
    found = request_for(user=user, pk=pk)
    if found is None:
        raise Http404("No such request, or not yours to see.")
    return found


def grant_or_404(*, user: User, pk: int) -> Grant:
    found = grant_for(user=user, pk=pk)
    if found is None:
        raise Http404("No such grant, or not yours to see.")
    return found


# --- what the ledger committed to, for the request's parties -------------------------------
# `access.services` records each event's openings under these scopes. Callers have
# already checked that the person may see the request (or grant): these are what the log hides.


def request_scope(request_id: int) -> str:
    return f"request:{request_id}"


def download_scope(download_id: int) -> str:
    return f"download:{download_id}"


def request_ledger(*, request: AccessRequest) -> list[OpenedEntry]:
    """The request's entries (requested, moderated, decided, revoked…) with their openings."""
    return openings([request_scope(request.pk)])


def downloads_ledger(*, downloads: list[Download]) -> dict[int, list[OpenedEntry]]:
    """Each download's `data.downloaded` entry with its opening, by download id."""
    found: dict[int, list[OpenedEntry]] = {d.pk: [] for d in downloads}
    for opened in openings([download_scope(d.pk) for d in downloads]):
        found[int(opened.scope.partition(":")[2])].append(opened)
    return found


# --- Figures for the usage dashboard (issue 15) --------------------------------------------
#
# The dashboards read access requests and downloads only through these: typed rows, one
# aggregate query each (the durations: one on PostgreSQL, a bounded handful on SQLite).
# `since` and `until` are the half-open range [since, until) of a dashboard's dates (either
# side open when None). `institution_id` means "by or for the institution": its staff's
# requests and the requests for its listings, and the downloads under either. The week
# expression (`week`) and the duration statistics (`seconds`, `spreads`) are the dashboards'
# (dashboards/stats.py, where the planner statistics on the week expression are kept), passed
# in: access sits below the dashboards and does not import them.

RequestState = AccessRequest.State
DECIDED_STATES = (RequestState.APPROVED, RequestState.DENIED, RequestState.REJECTED)


def _by_or_for(institution_id: int) -> Q:
    # Its listings as a subquery (hashed once), not a join of every request to its listing:
    # half the time at 10^5 requests on PostgreSQL.
    return Q(institution_id=institution_id) | Q(dataset_id__in=dataset_ids_owned_by(institution_id))


def _requests(institution_id: int | None) -> QuerySet[AccessRequest]:
    qs = AccessRequest.objects.all()
    return qs if institution_id is None else qs.filter(_by_or_for(institution_id))


@dataclass(frozen=True)
class RequestsOfWeekAndState:
    week: date  # the Monday of the week the request was made, UTC
    state: str  # its state now
    requests: int


def requests_per_week_and_state(
    *,
    since: datetime | None,
    until: datetime | None,
    institution_id: int | None,
    week: Callable[[str], Any],
) -> list[RequestsOfWeekAndState]:
    """Requests made in the range per (week, state now), in no order: one GROUP BY, weeks x
    states rows."""
    rows = (
        _requests(institution_id)
        .filter(in_range("created_at", since, until))
        .annotate(week=week("created_at"))
        .values("week", "state")
        .annotate(n=Count("pk"))
        # No ORDER BY: PostgreSQL cannot estimate how few weeks a computed week column holds,
        # and sorted every row before grouping (a third of the query).
        .order_by()
    )
    return [RequestsOfWeekAndState(r["week"], r["state"], r["n"]) for r in rows]


S = TypeVar("S")


def request_durations(
    *,
    since: datetime | None,
    until: datetime | None,
    institution_id: int | None,
    seconds: Callable[[Any, Any], Any],
    spreads: Callable[[QuerySet[AccessRequest], dict[str, tuple[Any, Q]]], dict[str, S]],
) -> dict[str, S]:
    """How the durations of requests are spread, by name: time to decision for the decisions
    taken in the range, and the age of the waiting queues as now. One aggregate query on
    PostgreSQL (percentile_cont), a bounded handful on SQLite (`dashboards.stats.spreads`).

    - moderation: request -> moderator's clearance or rejection, decided in the range
    - decision: request -> owner's approval or denial, decided in the range
    - moderation_queue: waiting for a moderator now, since the request
    - decision_queue: waiting for the owner now, since clearance (or the request)
    """
    now = Value(timezone.now(), output_field=DateTimeField())
    return spreads(
        _requests(institution_id),
        {
            "moderation": (
                seconds(F("moderated_at"), F("created_at")),
                Q(moderated_at__isnull=False) & in_range("moderated_at", since, until),
            ),
            "decision": (
                seconds(F("decided_at"), F("created_at")),
                Q(decided_at__isnull=False) & in_range("decided_at", since, until),
            ),
            "moderation_queue": (
                seconds(now, F("created_at")),
                Q(state=RequestState.PENDING_MODERATION),
            ),
            "decision_queue": (
                seconds(now, Coalesce(F("moderated_at"), F("created_at"))),
                Q(state=RequestState.PENDING_DECISION),
            ),
        },
    )


def _downloads(
    since: datetime | None, until: datetime | None, institution_id: int | None
) -> QuerySet[Download]:
    # Finished downloads only: an abandoned stream delivered an unknown part and is no event.
    # Each download names its listing and grantee itself, so no figure joins it to its grant.
    qs = Download.objects.filter(finished_at__isnull=False).filter(
        in_range("finished_at", since, until)
    )
    return qs if institution_id is None else qs.filter(_by_or_for(institution_id))


_DOWNLOAD_SUMS = {"downloads": Count("pk"), "rows": Sum("rows"), "bytes": Sum("bytes")}


@dataclass(frozen=True)
class DownloadsOfDataset:
    dataset: int  # the listing's id
    downloads: int
    rows: int
    bytes: int


def downloads_per_dataset(
    *, since: datetime | None, until: datetime | None, institution_id: int | None, top: int
) -> list[DownloadsOfDataset]:
    """The `top` most downloaded listings, finished downloads in the range: one GROUP BY on the
    listing's id alone (grouping by its title and owner too made PostgreSQL sort every
    download on disk; `catalog.selectors.dataset_names` names the few)."""
    ds = "dataset_id"
    rows = (
        _downloads(since, until, institution_id)
        .values(ds)
        .annotate(**_DOWNLOAD_SUMS)
        .order_by("-downloads", "-bytes", ds)[:top]
    )
    return [
        DownloadsOfDataset(r[ds], r["downloads"], r["rows"] or 0, r["bytes"] or 0) for r in rows
    ]


@dataclass(frozen=True)
class DownloadsOfGranteeAndWeek:
    institution_id: int  # the grantee
    week: date  # the Monday of the week the download finished, UTC
    downloads: int
    rows: int
    bytes: int


def downloads_per_grantee_and_week(
    *,
    since: datetime | None,
    until: datetime | None,
    institution_id: int | None,
    week: Callable[[str], Any],
) -> list[DownloadsOfGranteeAndWeek]:
    """Finished downloads in the range per (grantee, week), in no order: one GROUP BY, at most
    institutions x weeks rows."""
    # Mapping rows: the plugin does not see the sums that ** passes to annotate().
    groups: QuerySet[Download, Mapping[str, Any]] = (
        _downloads(since, until, institution_id)
        .annotate(week=week("finished_at"))
        .values("institution_id", "week")
        .annotate(**_DOWNLOAD_SUMS)
        .order_by()
    )
    return [
        DownloadsOfGranteeAndWeek(
            g["institution_id"], g["week"], g["downloads"], g["rows"] or 0, g["bytes"] or 0
        )
        for g in groups
    ]
