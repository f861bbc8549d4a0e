"""Is this deployment healthy: database, broker and the Celery workers' heartbeat (`/healthz`)."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from portal.celery import app
from portal.models import WorkerHeartbeat


def heartbeat_record(*, name: str, hostname: str) -> WorkerHeartbeat:
    beat, _ = WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now(), "hostname": hostname[:200]}
    )
    return beat


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
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as exc:  # noqa: BLE001 - the broker's own error class varies by transport
        return f"error: {exc.__class__.__name__}"
