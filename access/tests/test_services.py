"""The request → moderation → decision → grant → revoke/expire workflow, by its services."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from access import services
from access.models import AccessRequest, Grant, Notification
from access.services import Approval
from ledger.models import OutboxEvent
from portal.errors import DomainError

pytestmark = pytest.mark.django_db


def kinds() -> list[str]:
    return list(OutboxEvent.objects.order_by("id").values_list("kind", flat=True))


def access_kinds() -> list[str]:
    return [k for k in kinds() if k.startswith(("access.", "data."))]


def test_internal_requests_go_to_the_owner(cast, listing, ask, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        request = ask(listing(), filter_text="region = 'north'")
    assert request.state == AccessRequest.State.PENDING_DECISION
    assert request.filter == "region = 'north'"
    assert access_kinds() == ["access.requested"]
    assert Notification.objects.filter(user=cast.alice.user).count() == 1
    assert not Notification.objects.filter(user=cast.mo).exists()
    assert [m.to for m in mail.outbox] == [[cast.alice.user.email]]


def test_confidential_requests_wait_for_a_moderator(cast, listing, ask):
    request = ask(listing("confidential"))
    assert request.state == AccessRequest.State.PENDING_MODERATION
    assert Notification.objects.filter(user=cast.mo).count() == 1
    # The owner's steward may decide, but not before a moderator has cleared it.
    with pytest.raises(DomainError, match="waiting for a moderator: it cannot be approved"):
        services.access_request_approve(user=cast.alice.user, request=request)
    services.access_request_clear(user=cast.mo, request=request)
    request.refresh_from_db()
    assert request.state == AccessRequest.State.PENDING_DECISION
    assert request.moderated_by == cast.mo
    grant = services.access_request_approve(user=cast.alice.user, request=request)
    assert grant.columns == request.columns
    assert access_kinds() == ["access.requested", "access.cleared", "access.approved"]


def test_a_moderator_rejects_with_a_reason(cast, listing, ask):
    request = ask(listing("restricted"))
    with pytest.raises(DomainError, match="Say why"):
        services.access_request_reject(user=cast.mo, request=request, reason=" ")
    services.access_request_reject(user=cast.mo, request=request, reason="Purpose too vague.")
    request.refresh_from_db()
    assert (request.state, request.moderation_reason) == ("rejected", "Purpose too vague.")
    with pytest.raises(DomainError, match="cannot be cleared now"):
        services.access_request_clear(user=cast.mo, request=request)


def test_a_moderator_of_either_side_cannot_moderate(cast, listing, ask):
    from portal.tests.factories import ConsortiumRoleFactory

    ConsortiumRoleFactory(user=cast.carol.user)  # carol: steward of Beta and a moderator
    request = ask(listing("confidential"))
    with pytest.raises(PermissionDenied):
        services.access_request_clear(user=cast.carol.user, request=request)
    ConsortiumRoleFactory(user=cast.bob.user)  # bob: staff of the owner and a moderator
    with pytest.raises(PermissionDenied):
        services.access_request_reject(user=cast.bob.user, request=request, reason="mine")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"purpose": "data please"}, "at least 20 characters"),
        ({"columns": []}, "at least one column"),
        ({"columns": ["salary"]}, "“salary” is not a column"),
        ({"filter_text": "salary > 1"}, "no column “salary”"),
        ({"duration_days": 0}, "at least one day"),
        ({"duration_days": 366}, "at most 365 days"),
    ],
)
def test_bad_requests_are_refused(listing, ask, kwargs, message):
    with pytest.raises(DomainError, match=message):
        ask(listing(), **kwargs)
    assert not AccessRequest.objects.exists()
    assert access_kinds() == []


def test_staff_cannot_request_their_own_institutions_data(cast, listing, ask):
    with pytest.raises(PermissionDenied):
        ask(listing(), user=cast.bob.user)


def test_a_duplicate_open_request_is_refused_until_the_first_closes(cast, listing, ask):
    dataset = listing()
    first = ask(dataset)
    with pytest.raises(DomainError, match="already has an open request"):
        ask(dataset, user=cast.carol.user)  # the same institution, another person
    services.access_request_withdraw(user=cast.dave.user, request=first)
    assert ask(dataset).state == "pending_decision"


def test_withdrawn_and_suspended_listings_take_no_requests(cast, listing, ask):
    from catalog.services import dataset_suspend, dataset_withdraw

    dataset = listing()
    dataset_withdraw(user=cast.alice.user, dataset=dataset, reason="Stale")
    dataset.refresh_from_db()
    with pytest.raises((DomainError, PermissionDenied)):
        ask(dataset)
    other = listing()
    dataset_suspend(user=cast.mo, dataset=other, reason="Check")
    other.refresh_from_db()
    with pytest.raises(DomainError, match="suspended"):
        ask(other)


def test_withdrawal(cast, listing, ask):
    request = ask(listing())
    with pytest.raises(PermissionDenied):
        services.access_request_withdraw(user=cast.alice.user, request=request)
    services.access_request_withdraw(user=cast.dave.user, request=request)
    request.refresh_from_db()
    assert request.state == "withdrawn" and request.withdrawn_at is not None
    with pytest.raises(DomainError, match="only a waiting request"):
        services.access_request_withdraw(user=cast.dave.user, request=request)
    with pytest.raises(DomainError, match="cannot be approved"):
        services.access_request_approve(user=cast.alice.user, request=request)
    assert access_kinds() == ["access.requested", "access.withdrawn"]


def test_nobody_decides_on_their_own_institutions_request(cast, listing, ask):
    request = ask(listing())
    for user in (cast.carol.user, cast.dave.user, cast.bob.user, cast.mo, cast.meg):
        with pytest.raises(PermissionDenied):
            services.access_request_approve(user=user, request=request)
        with pytest.raises(PermissionDenied):
            services.access_request_deny(user=user, request=request, reason="no")


def test_a_steward_denies_with_a_reason(cast, listing, ask):
    request = ask(listing())
    with pytest.raises(DomainError, match="Say why"):
        services.access_request_deny(user=cast.alice.user, request=request, reason="")
    services.access_request_deny(user=cast.alice.user, request=request, reason="Not for resale.")
    request.refresh_from_db()
    assert (request.state, request.decision_reason, request.decided_by) == (
        "denied",
        "Not for resale.",
        cast.alice.user,
    )
    assert Notification.objects.filter(user=cast.dave.user, message__contains="denied").exists()


def test_approval_narrows_tightens_masks_and_shortens(cast, listing, ask):
    request = ask(listing(), filter_text="region = 'north'", duration_days=60)
    grant = services.access_request_approve(
        user=cast.alice.user,
        request=request,
        approval=Approval(
            columns=["customer", "loan_id", "opened", "region", "amount"],
            extra_filter="amount > 100",
            masks={"customer": "pseudonymize", "opened": "year_only"},
            duration_days=10,
        ),
    )
    assert grant.columns == ["loan_id", "amount", "opened", "region", "customer"]  # file order
    assert grant.filter == "region = 'north' and amount > 100"
    assert grant.masks == {"customer": "pseudonymize", "opened": "year_only"}
    assert timedelta(days=9, hours=23) < grant.expires_at - timezone.now() <= timedelta(days=10)
    assert grant.version == request.version
    assert len(bytes(grant.wrapped_key.wrapped)) > 32  # stored wrapped, never the bare key


@pytest.mark.parametrize(
    ("approval", "message"),
    [
        (Approval(columns=["nope"]), "not a column of this request"),
        (Approval(duration_days=31), "at most 30 days"),
        (Approval(extra_filter="amount >"), "expected a value"),
        (Approval(masks={"amount": "year_only"}), "year_only applies to dates"),
        (Approval(masks={"region": "truncate:0"}), "from 1 to 1000"),
        (Approval(masks={"region": "shuffle"}), "is not a mask"),
        (Approval(columns=["loan_id"], masks={"region": "pseudonymize"}), "masked but not granted"),
    ],
)
def test_bad_approvals_are_refused_and_change_nothing(cast, listing, ask, approval, message):
    request = ask(listing())
    with pytest.raises(DomainError, match=message):
        services.access_request_approve(user=cast.alice.user, request=request, approval=approval)
    request.refresh_from_db()
    assert request.state == "pending_decision"
    assert not Grant.objects.exists()
    assert access_kinds() == ["access.requested"]


def test_revocation(cast, granted):
    grant = granted()
    for user in (cast.dave.user, cast.carol.user, cast.bob.user, cast.meg):
        with pytest.raises(PermissionDenied):
            services.grant_revoke(user=user, grant=grant, reason="x")
    services.grant_revoke(user=cast.alice.user, grant=grant, reason="Terms breached.")
    grant.refresh_from_db()
    assert grant.state == "revoked" and grant.revoked_by == cast.alice.user
    with pytest.raises(DomainError, match="already revoked"):
        services.grant_revoke(user=cast.mo, grant=grant, reason="again")
    assert access_kinds()[-1] == "access.revoked"


def test_a_moderator_revokes(cast, granted):
    grant = granted()
    services.grant_revoke(user=cast.mo, grant=grant, reason="Consortium rule.")
    grant.refresh_from_db()
    assert grant.revoked_by == cast.mo


def test_expiry_happens_exactly_once(cast, granted):
    from access.tasks import expire_grants

    grant = granted(duration_days=1)
    later = granted(duration_days=30, user=cast.carol.user)  # a second listing and grant
    assert later.expired_at is None
    assert services.grants_expire() == 0
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert expire_grants() == 1
    assert expire_grants() == 0
    grant.refresh_from_db()
    first = grant.expired_at
    assert first is not None and grant.state == "expired"
    assert services.grants_expire(now=timezone.now() + timedelta(days=31)) == 1  # only `later`
    grant.refresh_from_db()
    assert grant.expired_at == first  # set once, never moved
    assert access_kinds().count("access.expired") == 2
    with pytest.raises(DomainError, match="expired"):
        services.grant_revoke(user=cast.alice.user, grant=grant, reason="late")


def test_revoked_grants_do_not_expire(cast, granted):
    grant = granted()
    services.grant_revoke(user=cast.alice.user, grant=grant, reason="Done.")
    assert services.grants_expire(now=timezone.now() + timedelta(days=400)) == 0
    assert "access.expired" not in access_kinds()


def test_a_failed_change_records_nothing(cast, listing, ask, monkeypatch):
    request = ask(listing())

    def boom(*args, **kwargs):
        raise RuntimeError("crash after the event")

    monkeypatch.setattr(services, "notify", boom)
    with pytest.raises(RuntimeError):
        services.access_request_deny(user=cast.alice.user, request=request, reason="no")
    request.refresh_from_db()
    assert request.state == "pending_decision"
    assert access_kinds() == ["access.requested"]


# --- a filter uses only granted, unmasked columns (issue 14, finding 6) -----------------------


def test_a_request_filters_only_on_columns_it_asks_for(listing, ask):
    with pytest.raises(DomainError, match="“customer” is not among the columns requested") as e:
        ask(listing(), columns=["loan_id", "amount"], filter_text="loan_id > 1 and customer = 'x'")
    assert e.value.field == "filter" and "(at character 17)" in e.value.message
    assert not AccessRequest.objects.exists()


@pytest.mark.parametrize(
    ("filter_text", "approval", "field", "message"),
    [
        # A mask on a filtered column would let the grantee probe its values.
        (
            "customer = 'Ann Smith'",
            Approval(masks={"customer": "pseudonymize"}),
            "masks",
            "uses “customer”, which is masked",
        ),
        (
            "",
            Approval(extra_filter="region = 'north'", masks={"region": "truncate:1"}),
            "masks",
            "“region”, which is masked",
        ),
        (
            "region = 'north'",
            Approval(columns=["loan_id", "amount"]),
            "columns",
            "uses “region”, which is not granted",
        ),
        (
            "",
            Approval(columns=["loan_id"], extra_filter="amount > 1"),
            "columns",
            "uses “amount”, which is not granted",
        ),
    ],
)
def test_an_approved_filter_uses_only_granted_unmasked_columns(
    cast, listing, ask, filter_text, approval, field, message
):
    request = ask(listing(), filter_text=filter_text)
    with pytest.raises(DomainError, match=message) as caught:
        services.access_request_approve(user=cast.alice.user, request=request, approval=approval)
    assert caught.value.field == field
    request.refresh_from_db()
    assert request.state == "pending_decision" and not Grant.objects.exists()
