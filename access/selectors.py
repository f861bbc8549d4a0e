"""Reads of access requests and grants, always scoped to the person asking.

Each list starts from what the actor's institution or role may see, never from every row.
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Min, Q, QuerySet
from django.http import Http404
from django.urls import reverse

from access.models import AccessRequest, Download, Grant, GrantQuerySet
from catalog.models import Dataset
from consortium.home import HomeItem, HomeSection
from ledger.selectors import OpenedEntry, openings
from portal.permissions import Perm, actor_for, can

_REQUEST_RELATED = ("dataset__institution", "version", "institution", "requested_by", "grant")


def requests_visible(*, user: AbstractBaseUser) -> QuerySet[AccessRequest]:
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


def request_for(*, user: AbstractBaseUser, pk: int) -> AccessRequest | None:
    request = AccessRequest.objects.select_related(*_REQUEST_RELATED).filter(pk=pk).first()
    if request is None or not can(user, Perm.ACCESS_REQUEST_VIEW, request):
        return None
    return request


def my_requests(*, user: AbstractBaseUser) -> QuerySet[AccessRequest]:
    actor = actor_for(user)
    if actor.institution_id is None:
        return AccessRequest.objects.none()
    return AccessRequest.objects.select_related(*_REQUEST_RELATED).filter(
        institution_id=actor.institution_id
    )


def open_request_of(*, user: AbstractBaseUser, dataset: Dataset) -> AccessRequest | None:
    """The actor's institution's waiting request for `dataset`, if there is one."""
    actor = actor_for(user)
    if actor.institution_id is None:
        return None
    return AccessRequest.objects.filter(
        dataset=dataset, institution_id=actor.institution_id, state__in=AccessRequest.OPEN_STATES
    ).first()


def moderation_queue(*, user: AbstractBaseUser) -> QuerySet[AccessRequest]:
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


def awaiting_decision(*, user: AbstractBaseUser) -> QuerySet[AccessRequest]:
    """Requests for the steward's institution's data waiting for a decision, oldest first."""
    actor = actor_for(user)
    if not actor.is_steward:
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


def grants_visible(*, user: AbstractBaseUser) -> GrantQuerySet:
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


def grant_for(*, user: AbstractBaseUser, pk: int) -> Grant | None:
    grant = Grant.objects.select_related(*_GRANT_RELATED).filter(pk=pk).first()
    if grant is None or not can(user, Perm.GRANT_VIEW, grant):
        return None
    return grant


def downloads_of(*, grant: Grant) -> QuerySet[Download]:
    return grant.downloads.select_related("user").order_by("-started_at")


def home_sections(*, user: AbstractBaseUser) -> list[HomeSection]:
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
    if actor.is_member:
        pending = my_requests(user=user).filter(state__in=AccessRequest.OPEN_STATES).count()
        items.append(
            HomeItem("Your institution's pending requests", pending, reverse("access-requests"))
        )
        active = Grant.objects.filter(institution_id=actor.institution_id).active().count()
        items.append(HomeItem("Active grants to your institution", active, reverse("grants")))
    return [HomeSection("Access to data", items)] if items else []


def home_valid_until(*, user: AbstractBaseUser) -> datetime | None:
    """A grant stops being active at its `expires_at`, before the expiry task marks it."""
    actor = actor_for(user)
    if not actor.is_member:
        return None
    grants = Grant.objects.filter(institution_id=actor.institution_id).active()
    return grants.aggregate(first=Min("expires_at"))["first"]


def request_or_404(*, user: AbstractBaseUser, pk: int) -> AccessRequest:
    """The request if this person may see it; Http404 otherwise (pages and API alike)."""
    found = request_for(user=user, pk=pk)
    if found is None:
        raise Http404("No such request, or not yours to see.")
    return found


def grant_or_404(*, user: AbstractBaseUser, pk: int) -> Grant:
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
