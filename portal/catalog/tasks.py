from celery import shared_task

from portal.catalog import services


@shared_task(name="portal.catalog.tasks.process_upload", ignore_result=True, acks_late=True)
def process_upload(upload_id: str) -> None:
    """Check and store a large upload; the upload's row carries the progress and outcome."""
    services.upload_process(upload_id=upload_id)
