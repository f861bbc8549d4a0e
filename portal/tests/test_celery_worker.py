"""A real worker process on real Redis runs the portal's tasks against the test database."""

import pytest

from conftest import wait_for
from portal.models import WorkerHeartbeat
from portal.tasks import heartbeat

pytestmark = [pytest.mark.celery, pytest.mark.slow]


def test_a_real_worker_runs_the_heartbeat_task(celery_worker, client):
    assert not WorkerHeartbeat.objects.exists()
    heartbeat.delay()
    beat = wait_for(lambda: WorkerHeartbeat.objects.filter(name="celery").first())
    assert beat.hostname
    assert client.get("/healthz").json() == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "worker": "ok",
        "worker_last_beat": beat.beat_at.isoformat(),
    }
