from celery import shared_task

from catalog import services
from portal import tasking


@shared_task(name="catalog.tasks.process_upload", ignore_result=True, acks_late=True)
def process_upload(upload_id: str) -> None:
    """Check and store a large upload; the upload's row carries the progress and outcome."""
    services.upload_process(upload_id=upload_id)


@shared_task(name="catalog.tasks.sweep_uploads", ignore_result=True)
def sweep_uploads() -> int:
    """Beat: send again the uploads still `received` (the broker was down) or stuck checking."""
    unsent = services.uploads_unsent()
    return tasking.publish_each("catalog.tasks.process_upload", [[pk] for pk in unsent])


@shared_task(name="catalog.tasks.make_arrow_copy", ignore_result=True, acks_late=True)
def make_arrow_copy(version_id: int) -> None:
    """Store a version's Arrow copy, which its downloads read instead of parsing the CSV."""
    services.version_arrow_copy(version_id=version_id)


@shared_task(name="catalog.tasks.sweep_arrow_copies", ignore_result=True)
def sweep_arrow_copies() -> int:
    """Beat: queue the copies still missing (a task lost with the broker, older versions)."""
    missing = services.versions_without_arrow_copy()
    return tasking.publish_each("catalog.tasks.make_arrow_copy", [[pk] for pk in missing])
