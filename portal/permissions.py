"""Who may do what: the one place that answers "may this user do X to this object".

Every page and API endpoint asks `can()` (or `require()`), never checks roles itself. Rules:
404 when the object is not visible to the actor at all, 403 when it is visible but the action is
not allowed (the caller decides which by asking for the `view` permission first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied

from consortium.models import ConsortiumRole, Institution, Membership


class Perm(StrEnum):
    """Permissions named `<scope>:<resource>:<action>`."""

    ACCESS_REQUEST_CREATE = "access:request:create"  # obj: Dataset
    ACCESS_REQUEST_VIEW = "access:request:view"  # obj: AccessRequest
    ACCESS_REQUEST_WITHDRAW = "access:request:withdraw"  # obj: AccessRequest
    ACCESS_REQUEST_MODERATE = "access:request:moderate"  # obj: AccessRequest (clear, reject)
    ACCESS_REQUEST_DECIDE = "access:request:decide"  # obj: AccessRequest (approve, deny)
    ACCESS_QUEUE_VIEW = "access:queue:view"  # the moderation queue
    GRANT_VIEW = "access:grant:view"  # obj: Grant
    GRANT_DOWNLOAD = "access:grant:download"  # obj: Grant
    GRANT_REVOKE = "access:grant:revoke"  # obj: Grant
    INSTITUTION_VIEW = "consortium:institution:view"
    INSTITUTION_CREATE = "consortium:institution:create"
    MEMBERSHIP_LIST = "consortium:membership:list"  # obj: Institution
    MEMBERSHIP_VIEW = "consortium:membership:view"  # obj: Membership
    MEMBERSHIP_CHANGE = "consortium:membership:change"  # obj: Membership
    API_DOCS_VIEW = "consortium:api:view"
    LEDGER_VIEW = "ledger:log:view"
    WITNESS_REGISTER = "ledger:witness:register"  # obj: Institution
    CATALOG_VIEW = "catalog:catalog:view"
    DATASET_VIEW = "catalog:dataset:view"  # obj: Dataset
    DATASET_PUBLISH = "catalog:dataset:publish"
    DATASET_EDIT = "catalog:dataset:edit"  # obj: Dataset (metadata, new version, withdraw)
    DATASET_PREVIEW = "catalog:dataset:preview"  # obj: Dataset (the first rows)
    DATASET_MODERATE = "catalog:dataset:moderate"  # obj: Dataset (suspend, restore)
    SURVEY_VIEW = "surveys:survey:view"
    SURVEY_MANAGE = "surveys:survey:manage"
    SURVEY_ANSWER = "surveys:answer:create"  # obj: Survey
    SURVEY_RESULTS_VIEW = "surveys:results:view"
    STORAGE_VIEW = "storage:node:view"  # nodes, their health, Table 1
    STORAGE_MANAGE = "storage:node:manage"  # mark nodes up, down, draining
    DASHBOARD_VIEW = "dashboards:dashboard:view"  # usage, storage and ledger dashboards
    TABLE1_RUN = "storage:table1:run"  # start a new Table 1 experiment


@dataclass(frozen=True)
class Actor:
    """What a user is in the consortium, loaded once per request."""

    user_id: int | None
    institution_id: int | None = None
    institution_slug: str | None = None
    institution_role: str | None = None
    consortium_roles: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_member(self) -> bool:
        return self.institution_id is not None

    @property
    def is_steward(self) -> bool:
        return self.institution_role == Membership.Role.STEWARD

    @property
    def is_moderator(self) -> bool:
        return ConsortiumRole.Role.MODERATOR in self.consortium_roles

    @property
    def is_manager(self) -> bool:
        return ConsortiumRole.Role.MANAGER in self.consortium_roles

    @property
    def is_auditor(self) -> bool:
        return ConsortiumRole.Role.AUDITOR in self.consortium_roles

    @property
    def is_participant(self) -> bool:
        """Belongs to the consortium in some capacity (a member or a consortium role)."""
        return self.is_member or bool(self.consortium_roles)

    def steward_of(self, institution_id: int) -> bool:
        return self.is_steward and self.institution_id == institution_id


ANONYMOUS = Actor(user_id=None)


def actor_for(user: AbstractBaseUser | AnonymousUser) -> Actor:
    """Load the user's membership and roles; cached on the user object for the request."""
    if not user.is_authenticated:
        return ANONYMOUS
    cached = getattr(user, "_bizi_actor", None)
    if cached is not None:
        return cached
    try:
        # Loaded with the user by the auth backend and the token lookup: no query here then.
        membership: Membership | None = user.membership  # type: ignore[union-attr]
    except Membership.DoesNotExist:
        membership = None
    roles = frozenset(ConsortiumRole.objects.filter(user_id=user.pk).values_list("role", flat=True))
    actor = Actor(
        user_id=user.pk,
        institution_id=membership.institution_id if membership else None,
        institution_slug=membership.institution.slug if membership else None,
        institution_role=membership.role if membership else None,
        consortium_roles=roles,
    )
    user._bizi_actor = actor  # type: ignore[union-attr]  # per-request cache on the instance
    return actor


def can(user: AbstractBaseUser | AnonymousUser, perm: Perm, obj: Any = None) -> bool:
    actor = actor_for(user)
    if actor.user_id is None:
        return False
    rule = _RULES[perm]
    return rule(actor, obj)


def require(user: AbstractBaseUser | AnonymousUser, perm: Perm, obj: Any = None) -> None:
    """Raise PermissionDenied unless `can(user, perm, obj)`."""
    if not can(user, perm, obj):
        raise PermissionDenied(_DENIED_MESSAGES.get(perm, "You are not allowed to do this."))


def _institution_id(obj: Institution | Membership) -> int:
    return obj.pk if isinstance(obj, Institution) else obj.institution_id


def _may_see_members(actor: Actor, obj: Institution | Membership) -> bool:
    # Moderators administer the consortium, so they see every institution's people.
    return actor.institution_id == _institution_id(obj) or actor.is_moderator


def _may_change_membership(actor: Actor, membership: Membership) -> bool:
    # A steward manages the other people of their own institution; changing one's own role
    # could leave an institution without a steward, so that goes through the admin.
    return actor.steward_of(membership.institution_id) and membership.user_id != actor.user_id


def _may_see_dataset(actor: Actor, dataset: Any) -> bool:
    # Active listings are the catalog; a withdrawn or suspended one stays visible to its owners
    # and the moderators, who must be able to explain and restore it.
    if actor.institution_id == dataset.institution_id or actor.is_moderator:
        return True
    return actor.is_participant and dataset.status == "active"


def _may_edit_dataset(actor: Actor, dataset: Any) -> bool:
    # A suspended listing is frozen until a moderator restores it.
    return actor.institution_id == dataset.institution_id and dataset.status != "suspended"


def _may_request(actor: Actor, dataset: Any) -> bool:
    # Staff ask for another institution's data; their own they already have.
    return actor.is_member and actor.institution_id != dataset.institution_id


def _request_parties(actor: Actor, request: Any) -> bool:
    """The requesting or the owning institution: the two sides of a request."""
    return actor.institution_id in (request.institution_id, request.dataset.institution_id)


def _may_moderate_request(actor: Actor, request: Any) -> bool:
    # A moderator who belongs to either side would be judging their own case.
    return actor.is_moderator and not _request_parties(actor, request)


def _may_decide_request(actor: Actor, request: Any) -> bool:
    # Nobody decides on a request of their own institution, even a steward of both sides.
    return (
        actor.steward_of(request.dataset.institution_id)
        and actor.institution_id != request.institution_id
    )


def _grant_owner(grant: Any) -> int:
    return grant.request.dataset.institution_id


_RULES = {
    Perm.ACCESS_REQUEST_CREATE: _may_request,
    Perm.ACCESS_REQUEST_VIEW: lambda actor, obj: _request_parties(actor, obj) or actor.is_moderator,
    Perm.ACCESS_REQUEST_WITHDRAW: lambda actor, obj: actor.institution_id == obj.institution_id,
    Perm.ACCESS_REQUEST_MODERATE: _may_moderate_request,
    Perm.ACCESS_REQUEST_DECIDE: _may_decide_request,
    Perm.ACCESS_QUEUE_VIEW: lambda actor, obj: actor.is_moderator,
    Perm.GRANT_VIEW: lambda actor, obj: (
        actor.institution_id in (obj.institution_id, _grant_owner(obj)) or actor.is_moderator
    ),
    # Only the grantee receives the data: not the owner (who has it) nor a moderator.
    Perm.GRANT_DOWNLOAD: lambda actor, obj: actor.institution_id == obj.institution_id,
    Perm.GRANT_REVOKE: lambda actor, obj: actor.steward_of(_grant_owner(obj)) or actor.is_moderator,
    Perm.INSTITUTION_VIEW: lambda actor, obj: actor.is_participant,
    Perm.INSTITUTION_CREATE: lambda actor, obj: actor.is_moderator,
    Perm.MEMBERSHIP_LIST: _may_see_members,
    Perm.MEMBERSHIP_VIEW: _may_see_members,
    Perm.MEMBERSHIP_CHANGE: _may_change_membership,
    Perm.API_DOCS_VIEW: lambda actor, obj: True,
    # Everyone in the consortium may read the whole ledger: that is what makes it a proof.
    Perm.LEDGER_VIEW: lambda actor, obj: actor.is_participant,
    Perm.WITNESS_REGISTER: lambda actor, obj: actor.steward_of(obj.pk) or actor.is_moderator,
    Perm.CATALOG_VIEW: lambda actor, obj: actor.is_participant,
    Perm.DATASET_VIEW: _may_see_dataset,
    Perm.DATASET_PUBLISH: lambda actor, obj: actor.is_member,
    Perm.DATASET_EDIT: _may_edit_dataset,
    Perm.DATASET_PREVIEW: lambda actor, obj: actor.institution_id == obj.institution_id,
    Perm.DATASET_MODERATE: lambda actor, obj: actor.is_moderator,
    Perm.SURVEY_VIEW: lambda actor, obj: actor.is_participant,
    Perm.SURVEY_MANAGE: lambda actor, obj: actor.is_moderator,
    # People answer for their institution, so only members, and only of the survey's audience.
    Perm.SURVEY_ANSWER: lambda actor, obj: actor.is_member and obj.is_for(actor.institution_id),
    Perm.SURVEY_RESULTS_VIEW: lambda actor, obj: actor.is_manager or actor.is_moderator,
    # Storage health and Table 1 are the consortium's shared infrastructure: everyone in it sees
    # them; only moderators, who run the consortium, take nodes in and out of service.
    Perm.STORAGE_VIEW: lambda actor, obj: actor.is_participant,
    Perm.STORAGE_MANAGE: lambda actor, obj: actor.is_moderator,
    # The dashboards are read-only overviews of the whole consortium, for those who run it.
    Perm.DASHBOARD_VIEW: lambda actor, obj: actor.is_manager or actor.is_moderator,
    Perm.TABLE1_RUN: lambda actor, obj: actor.is_moderator,
}

_DENIED_MESSAGES = {
    Perm.ACCESS_REQUEST_CREATE: "Only staff of another member institution request this data.",
    Perm.ACCESS_REQUEST_WITHDRAW: "Only the requesting institution withdraws its request.",
    Perm.ACCESS_REQUEST_MODERATE: "Only a moderator from neither side clears or rejects "
    "this request.",
    Perm.ACCESS_REQUEST_DECIDE: "Only a steward of the owning institution decides, and never on "
    "a request of their own institution.",
    Perm.ACCESS_QUEUE_VIEW: "Only consortium moderators see the moderation queue.",
    Perm.GRANT_DOWNLOAD: "Only staff of the grantee institution download this data.",
    Perm.GRANT_REVOKE: "Only a steward of the owning institution or a moderator revokes a grant.",
    Perm.CATALOG_VIEW: "Only members of the consortium browse its catalog.",
    Perm.DATASET_PUBLISH: "Only people of a member institution publish datasets.",
    Perm.DATASET_EDIT: "Only people of the owning institution change this listing, "
    "and not while it is suspended.",
    Perm.DATASET_PREVIEW: "Only the owning institution sees the data itself.",
    Perm.DATASET_MODERATE: "Only consortium moderators suspend and restore listings.",
    Perm.LEDGER_VIEW: "Only members of the consortium can read the ledger.",
    Perm.WITNESS_REGISTER: "Only a steward of this institution or a moderator registers witnesses.",
    Perm.INSTITUTION_CREATE: "Only consortium moderators add institutions.",
    Perm.MEMBERSHIP_LIST: "Only people of this institution can see its members.",
    Perm.MEMBERSHIP_CHANGE: "Only a steward of this institution can change its other members.",
    Perm.SURVEY_VIEW: "Only members of the consortium can see its surveys.",
    Perm.SURVEY_MANAGE: "Only consortium moderators create and edit surveys.",
    Perm.SURVEY_ANSWER: "Only people of the institutions this survey is for can answer it.",
    Perm.SURVEY_RESULTS_VIEW: "Only consortium managers and moderators see survey results.",
    Perm.STORAGE_VIEW: "Only members of the consortium can see storage.",
    Perm.STORAGE_MANAGE: "Only consortium moderators manage storage nodes.",
    Perm.DASHBOARD_VIEW: "Only consortium managers and moderators see the dashboards.",
    Perm.TABLE1_RUN: "Only consortium moderators start a Table 1 experiment.",
}
