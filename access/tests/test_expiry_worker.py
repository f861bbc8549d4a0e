"""A real worker on Redis runs the expiry task; sent twice, it still expires each grant once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access.models import Grant
from access.tasks import expire_grants
from conftest import wait_for
from ledger.models import Entry, OutboxEvent
from portal.models import WorkerHeartbeat
from portal.tasks import heartbeat

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _expired_events() -> int:
    return (
        OutboxEvent.objects.filter(kind="access.expired").count()
        + Entry.objects.filter(kind="access.expired").count()
    )


def test_the_worker_expires_each_grant_exactly_once(celery_worker, granted):
    grant = granted()
    Grant.objects.filter(pk=grant.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expire_grants.delay()
    expire_grants.delay()
    expired = wait_for(lambda: Grant.objects.filter(pk=grant.pk, expired_at__isnull=False).first())
    first = expired.expired_at
    expire_grants.delay()
    # The solo pool runs tasks in order: once this heartbeat is in, the third run is done too.
    since = timezone.now()
    heartbeat.delay()
    wait_for(lambda: WorkerHeartbeat.objects.filter(name="celery", beat_at__gt=since).first())
    assert _expired_events() == 1
    grant.refresh_from_db()
    assert grant.expired_at == first
