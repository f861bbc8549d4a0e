"""Reads of the consortium, always scoped to the person asking."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, Min, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from portal.models import ApiToken, Institution, Membership, WorkerHeartbeat
from portal.permissions import Perm, actor_for, can, require


def api_token_list(*, user: AbstractBaseUser) -> QuerySet[ApiToken]:
    """The account's own live tokens (neither revoked nor expired), newest first."""
    return ApiToken.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at", "-pk")


def institution_list(*, user: AbstractBaseUser) -> QuerySet[Institution]:
    if not can(user, Perm.INSTITUTION_VIEW):
        return Institution.objects.none()
    return Institution.objects.annotate(member_count=Count("memberships")).order_by("name")


def membership_list(*, user: AbstractBaseUser, institution: Institution) -> QuerySet[Membership]:
    """The members of `institution`; PermissionDenied unless the user may see them."""
    require(user, Perm.MEMBERSHIP_LIST, institution)
    return (
        Membership.objects.filter(institution=institution)
        .select_related("user", "institution")
        .order_by("user__username")
    )


def membership_visible_qs(*, user: AbstractBaseUser) -> QuerySet[Membership]:
    """Memberships the user may see at all: their own institution's (every one for moderators)."""
    actor = actor_for(user)
    qs = Membership.objects.select_related("user", "institution")
    if actor.is_moderator:
        return qs
    if actor.institution_id is None:
        return qs.none()
    return qs.filter(institution_id=actor.institution_id)


@dataclass
class HomeItem:
    label: str
    count: int | None = None
    url: str | None = None


@dataclass
class HomeSection:
    title: str
    items: list[HomeItem] = field(default_factory=list)


def home_sections(*, user: AbstractBaseUser) -> list[HomeSection]:
    """What waits for this person, section by role. Each later capability adds its own items."""
    actor = actor_for(user)
    sections: list[HomeSection] = []
    if actor.is_member:
        institution = user.membership.institution  # type: ignore[union-attr]  # loaded with user
        members = Membership.objects.filter(institution_id=actor.institution_id).count()
        url = reverse("institution-detail", args=[institution.slug])
        section = HomeSection(f"{institution.name}")
        section.items.append(HomeItem("People in your institution", members, url))
        if actor.is_steward:
            section.items.append(HomeItem("Members whose roles you manage", members - 1, url))
        sections.append(section)
    if actor.is_moderator:
        sections.append(
            HomeSection(
                "Moderation",
                [
                    HomeItem(
                        "Member institutions", Institution.objects.count(), reverse("institutions")
                    )
                ],
            )
        )
    if actor.is_manager:
        sections.append(
            HomeSection(
                "Consortium at a glance",
                [
                    HomeItem("Member institutions", Institution.objects.count()),
                    HomeItem("People with access", Membership.objects.count()),
                ],
            )
        )
    if actor.is_auditor:
        from ledger.selectors import audit_summary  # the ledger owns these figures

        summary = audit_summary()
        sections.append(
            HomeSection(
                "Audit",
                [
                    HomeItem("Entries in the ledger", summary.entries, reverse("ledger")),
                    HomeItem("Sealed blocks", summary.blocks, reverse("ledger")),
                    HomeItem(summary.verification, None, reverse("ledger")),
                    HomeItem(
                        "Public API to verify from your own machine", None, reverse("api-docs")
                    ),
                ],
            )
        )
    from portal.access.selectors import home_sections as access_sections  # access owns these

    sections.extend(access_sections(user=user))
    from surveys.selectors import home_sections as survey_sections  # the surveys own these

    # Surveys waiting for a member's answer; the Table 2 dashboard for managers and moderators.
    sections.extend(survey_sections(user=user))
    from portal.dashboards.selectors import home_sections as dashboard_sections

    sections.extend(dashboard_sections(user=user))  # usage, storage, ledger dashboards
    return sections


def home_valid_until(*, user: AbstractBaseUser) -> datetime | None:
    """The next moment the home page changes with no write to the database, or None.

    The page's section versions (portal/cache_versions.py) cover every change that is a write; a
    few figures also change as time passes: a grant stops being active at its `expires_at`
    (before the expiry task marks it), and a survey starts or stops waiting for answers at its
    `opens_at` and `closes_at`. A cached page is served only before the earliest of those.
    Queries run only when the page is rendered, never for a cached one.
    """
    from portal.access.selectors import active_grants
    from portal.models import Grant
    from surveys.models import Survey

    now = timezone.now()
    actor = actor_for(user)
    moments: list[datetime | None] = []
    if actor.is_member:
        grants = active_grants(Grant.objects.filter(institution_id=actor.institution_id))
        moments.append(grants.aggregate(first=Min("expires_at"))["first"])
    # Every survey, not only the person's: the latest one heads the managers' Table 2 card.
    surveys = Survey.objects.aggregate(
        opens=Min("opens_at", filter=Q(opens_at__gt=now)),
        closes=Min("closes_at", filter=Q(closes_at__gt=now)),
    )
    moments.extend(surveys.values())
    return min((m for m in moments if m is not None), default=None)


@dataclass
class HealthReport:
    database: str
    broker: str
    worker: str
    worker_last_beat: str | None

    @property
    def ok(self) -> bool:
        return self.database == "ok" and self.broker == "ok" and self.worker == "ok"


def health_report() -> HealthReport:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy", reported as text
        database = f"error: {exc.__class__.__name__}"
    broker = _broker_status()
    worker, last = "unknown", None
    if database == "ok":
        beat = WorkerHeartbeat.objects.filter(name="celery").first()
        if beat is None:
            worker = "no heartbeat yet"
        else:
            last = beat.beat_at.isoformat()
            limit = timedelta(seconds=3 * settings.HEARTBEAT_INTERVAL_SECONDS)
            worker = "ok" if timezone.now() - beat.beat_at <= limit else "stale"
    return HealthReport(database=database, broker=broker, worker=worker, worker_last_beat=last)


def _broker_status() -> str:
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - the broker's own error class varies by transport
        return f"error: {exc.__class__.__name__}"
