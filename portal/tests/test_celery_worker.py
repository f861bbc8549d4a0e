"""A real worker process on real Redis runs the portal's tasks against the test database."""

import pytest

from conftest import wait_for
from portal.models import WorkerHeartbeat
from portal.tasks import heartbeat

pytestmark = [pytest.mark.celery, pytest.mark.slow]


def test_a_real_worker_runs_the_heartbeat_task(celery_worker, client):
    # The worker queues a heartbeat for itself when it starts, through Redis like any task.
    first = wait_for(lambda: WorkerHeartbeat.objects.filter(name="celery").first())
    assert first.hostname
    heartbeat.delay()  # and one sent from here
    beat = wait_for(
        lambda: WorkerHeartbeat.objects.filter(name="celery", beat_at__gt=first.beat_at).first()
    )
    assert client.get("/healthz").json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
        "worker_last_beat": beat.beat_at.isoformat(),
    }
