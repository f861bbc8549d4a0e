from celery import shared_task

from catalog import services


@shared_task(name="catalog.tasks.process_upload", ignore_result=True, acks_late=True)
def process_upload(upload_id: str) -> None:
    """Check and store a large upload; the upload's row carries the progress and outcome."""
    services.upload_process(upload_id=upload_id)


@shared_task(name="catalog.tasks.make_arrow_copy", ignore_result=True, acks_late=True)
def make_arrow_copy(version_id: int) -> None:
    """Store a version's Arrow copy, which its downloads read instead of parsing the CSV."""
    services.version_arrow_copy(version_id=version_id)


@shared_task(name="catalog.tasks.sweep_arrow_copies", ignore_result=True)
def sweep_arrow_copies() -> int:
    """Beat: queue the copies still missing (a task lost with the broker, older versions)."""
    missing = services.versions_without_arrow_copy()
    for version_id in missing:
        make_arrow_copy.delay(version_id)
    return len(missing)
