from celery import shared_task

from dashboards.services import snapshots_rebuild


@shared_task(name="dashboards.tasks.rebuild_snapshots", ignore_result=True)
def rebuild_snapshots() -> dict[str, int]:
    """Beat runs this every DASHBOARD_SNAPSHOT_SECONDS; safe to run twice or at once."""
    return snapshots_rebuild()
