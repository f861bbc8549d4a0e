"""Two stewards deciding one request at once produce exactly one outcome (PostgreSQL, threads).

Both deciders are lined up at the same point — after reading the request, before writing — by
the services' `_after_read` seam. With the row lock the second one cannot even read until the
first commits, then finds the request decided and is refused; without it (the second test
removes it) both read "pending" and both decide: the hazard the lock exists for.
"""

import contextlib
import threading

import pytest
from django.db import connection

from access import services
from access.models import AccessRequest, Grant
from consortium.models import Membership
from ledger.models import OutboxEvent
from portal.errors import DomainError
from portal.tests.factories import MembershipFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(cast, request):  # type: ignore[no-untyped-def]
    second = MembershipFactory(
        user__username="alfred", institution=cast.acme, role=Membership.Role.STEWARD
    ).user
    barrier = threading.Barrier(2, timeout=3)

    def line_up(_request):  # type: ignore[no-untyped-def]
        # With the lock the other decider is blocked before this point: go on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()

    outcomes: dict[str, object] = {}

    def decide(name, action):  # type: ignore[no-untyped-def]
        try:
            outcomes[name] = action()
        except DomainError as exc:
            outcomes[name] = exc
        finally:
            connection.close()

    original = services._after_read
    services._after_read = line_up
    try:
        threads = [
            threading.Thread(
                target=decide,
                args=(
                    "approve",
                    lambda: services.access_request_approve(user=cast.alice.user, request=request),
                ),
            ),
            threading.Thread(
                target=decide,
                args=(
                    "deny",
                    lambda: services.access_request_deny(
                        user=second, request=request, reason="No."
                    ),
                ),
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        services._after_read = original
    return outcomes


def _decisions(request) -> list[str]:  # type: ignore[no-untyped-def]
    kinds = OutboxEvent.objects.filter(kind__in=["access.approved", "access.denied"])
    return sorted(kinds.values_list("kind", flat=True))


def test_two_stewards_at_once_make_one_decision(cast, listing, ask):
    request = ask(listing())
    outcomes = _race(cast, request)
    refused = [o for o in outcomes.values() if isinstance(o, DomainError)]
    succeeded = [o for o in outcomes.values() if not isinstance(o, DomainError)]
    assert len(outcomes) == 2 and len(refused) == 1 and len(succeeded) == 1
    assert "cannot be" in refused[0].message
    request.refresh_from_db()
    assert len(_decisions(request)) == 1
    assert request.state in ("approved", "denied")
    assert Grant.objects.filter(request=request).exists() == (request.state == "approved")


def test_without_the_lock_both_would_decide(cast, listing, ask, monkeypatch):
    """The hazard is real: take the lock away and the same race records two decisions."""

    def unlocked(request):  # type: ignore[no-untyped-def]
        found = AccessRequest.objects.select_related("dataset", "version", "institution").get(
            pk=request.pk
        )
        services._after_read(found)
        return found

    monkeypatch.setattr(services, "_locked", unlocked)
    request = ask(listing())
    outcomes = _race(cast, request)
    assert not any(isinstance(o, DomainError) for o in outcomes.values())
    assert _decisions(request) == ["access.approved", "access.denied"]
