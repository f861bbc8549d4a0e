"""Grant states: one `Grant.State`, read from a grant (`state`) or selected in SQL
(`Grant.objects.in_state`, `.active()`), and the two always agree."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access import services
from access.models import AccessRequest, Grant

pytestmark = pytest.mark.django_db


def test_grant_state_and_in_state_agree(cast, granted):
    """Each grant is in exactly one state, the same by its property and by the queryset, also
    between its `expires_at` and the expiry task's mark."""
    now = timezone.now()
    grants = {name: granted() for name in ("active", "due", "marked", "revoked")}
    Grant.objects.filter(pk=grants["due"].pk).update(expires_at=now - timedelta(minutes=1))
    Grant.objects.filter(pk=grants["marked"].pk).update(
        expires_at=now - timedelta(minutes=1), expired_at=now
    )
    services.grant_revoke(user=cast.alice.user, grant=grants["revoked"], reason="Ended.")
    expected = {
        "active": Grant.State.ACTIVE,
        "due": Grant.State.EXPIRED,
        "marked": Grant.State.EXPIRED,
        "revoked": Grant.State.REVOKED,
    }
    for name, grant in grants.items():
        grant.refresh_from_db()
        assert grant.state == expected[name]
        in_states = [s for s in Grant.State if Grant.objects.in_state(s).filter(pk=grant.pk)]
        assert in_states == [expected[name]], name
    assert list(Grant.objects.active()) == [grants["active"]]
    assert list(Grant.objects.expiry_due()) == [grants["due"]]
    with pytest.raises(ValueError, match="not a grant state"):
        Grant.objects.in_state("frozen")


def test_the_expiry_task_marks_what_is_due(cast, granted):
    due = granted()
    Grant.objects.filter(pk=due.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert services.grants_expire() == 1
    assert services.grants_expire() == 0
    due.refresh_from_db()
    assert due.expired_at is not None and due.state == Grant.State.EXPIRED
    assert due.request.state == AccessRequest.State.APPROVED
