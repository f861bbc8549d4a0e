from celery import shared_task

from portal import tasking
from sharing import services


@shared_task(name="sharing.tasks.make_share_files", ignore_result=True, acks_late=True)
def make_share_files(grant_id: int) -> None:
    """Write a grant's view as the Parquet files of its share; the table row shows the state."""
    services.share_files_make(grant_id=grant_id)


@shared_task(name="sharing.tasks.sweep_share_files", ignore_result=True)
def sweep_share_files() -> int:
    """Beat: queue the share files still missing (a task lost with the broker, older grants)."""
    missing = services.share_tables_missing()
    return tasking.publish_each("sharing.tasks.make_share_files", [[pk] for pk in missing])
