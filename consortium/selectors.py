"""Reads of the consortium, always scoped to the person asking."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils import timezone

from consortium import home
from consortium.home import HomeItem, HomeSection
from consortium.models import ApiToken, Institution, Membership
from ledger.selectors import audit_summary
from portal.permissions import Actor, Perm, actor_for, can, require


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    """The account's own live tokens (neither revoked nor expired), newest first."""
    return ApiToken.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).order_by("-created_at", "-pk")


def own_tokens(*, user: User) -> QuerySet[ApiToken]:
    """Every token of the account, live or not (revoking one twice is no error)."""
    return ApiToken.objects.filter(user=user)


def institution_of(actor: Actor) -> Institution | None:
    if actor.institution_id is None:
        return None
    return Institution.objects.filter(pk=actor.institution_id).first()


def institution_list(*, user: User) -> QuerySet[Institution]:
    if not can(user, Perm.INSTITUTION_VIEW):
        return Institution.objects.none()
    return Institution.objects.annotate(member_count=Count("memberships")).order_by("name")


def membership_list(*, user: User, institution: Institution) -> QuerySet[Membership]:
    """The members of `institution`; PermissionDenied unless the user may see them."""
    require(user, Perm.MEMBERSHIP_LIST, institution)
    return (
        Membership.objects.filter(institution=institution)
        .select_related("user", "institution")
        .order_by("user__username")
    )


def membership_visible_qs(*, user: User) -> QuerySet[Membership]:
    """Memberships the user may see at all: their own institution's (every one for moderators)."""
    actor = actor_for(user)
    qs = Membership.objects.select_related("user", "institution")
    if actor.is_moderator:
        return qs
    if actor.institution_id is None:
        return qs.none()
    return qs.filter(institution_id=actor.institution_id)


def home_sections(*, user: User) -> list[HomeSection]:
    """What waits for this person, section by role: the consortium's, then each app's."""
    actor = actor_for(user)
    sections: list[HomeSection] = []
    if actor.institution_id is not None:  # a member
        institution = user.membership.institution  # loaded with user
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
    # Access, surveys and dashboards add theirs (consortium/home.py).
    sections.extend(home.provided_sections(user))
    return sections


def home_valid_until(*, user: User) -> datetime | None:
    """The next moment the home page changes with no write to the database, or None.

    The page's section versions (portal/cache_versions.py) cover every change that is a write; a
    few figures also change as time passes: a grant stops being active at its `expires_at`
    (before the expiry task marks it), and a survey starts or stops waiting for answers at its
    `opens_at` and `closes_at`. A cached page is served only before the earliest of those.
    Queries run only when the page is rendered, never for a cached one.
    """
    moments = home.provided_moments(user)
    return min((m for m in moments if m is not None), default=None)


# --- Figures for the dashboards (issue 15) -------------------------------------------------


def institution_names() -> dict[int, str]:
    """Every member institution's name by id: one query of a few dozen rows, which grouped
    figures join in Python instead of joining every grouped row to its institution."""
    return dict(Institution.objects.values_list("id", "name"))


@dataclass(frozen=True)
class InstitutionChoice:
    """An institution as a filter offers it: chosen by its slug, shown by its name."""

    pk: int
    slug: str
    name: str


def institution_choices() -> list[InstitutionChoice]:
    """Every institution, by name: one query."""
    return [
        InstitutionChoice(pk, slug, name)
        for pk, slug, name in Institution.objects.order_by("name").values_list("pk", "slug", "name")
    ]
