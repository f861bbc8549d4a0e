from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import WorkerHeartbeat
from portal.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_broker_and_worker(client):
    body = client.get(reverse("healthz")).json()
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["worker"] == "no heartbeat yet"
    assert body["status"] == "degraded"


def test_healthz_is_ok_after_a_heartbeat_and_stale_later(client):
    heartbeat()  # what the worker runs, called in-process here
    assert client.get(reverse("healthz")).json()["status"] == "ok"
    WorkerHeartbeat.objects.update(beat_at=timezone.now() - timedelta(hours=1))
    assert client.get(reverse("healthz")).json()["worker"] == "stale"
