import socket

from celery import shared_task

from portal.services import heartbeat_record


@shared_task(name="portal.tasks.heartbeat", ignore_result=True)
def heartbeat() -> None:
    """Proves a worker is alive and reading the queue; `/healthz` reports its age."""
    heartbeat_record(name="celery", hostname=socket.gethostname())
