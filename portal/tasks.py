import socket

from celery import shared_task
from celery.signals import worker_ready

from portal.access.tasks import expire_grants
from portal.catalog.tasks import process_upload
from portal.services import heartbeat_record

# Celery discovers `tasks` modules of apps only; the catalog is a package inside `portal`.
__all__ = ["expire_grants", "heartbeat", "process_upload"]


@shared_task(name="portal.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Proves a worker is alive and reading the queue; `/healthz` reports its age."""
    heartbeat_record(name="celery", hostname=socket.gethostname())


@worker_ready.connect
def _beat_on_start(**kwargs: object) -> None:
    # Report healthy as soon as a worker is up, not one interval later.
    heartbeat.delay()
