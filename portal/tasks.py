import socket

from celery import shared_task
from celery.signals import worker_ready

from portal import tasking
from portal.health import heartbeat_record


@shared_task(name="portal.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Proves a worker is alive and reading the queue; `/healthz` reports its age."""
    heartbeat_record(name="celery", hostname=socket.gethostname())


@worker_ready.connect
def _beat_on_start(**kwargs: object) -> None:
    # Report healthy as soon as a worker is up, not one interval later.
    tasking.publish("portal.tasks.heartbeat")
