"""Celery tasks of the surveys. Both are safe to run twice or at once: a rebuild of a snapshot
that is already at its survey's version does nothing, and an older rebuild never overwrites a
newer one."""

from celery import shared_task

from surveys import services


@shared_task(name="surveys.tasks.rebuild_results", ignore_result=True, acks_late=True)
def rebuild_results(survey_id: int) -> None:
    """Queued by answers (coalesced, see surveys/services.py): rebuild one survey's results."""
    services.snapshot_rebuild_queued(survey_id=survey_id)


@shared_task(name="surveys.tasks.rebuild_stale", ignore_result=True)
def rebuild_stale() -> int:
    """Run by beat: rebuild every snapshot behind its answers, so a lost task heals itself."""
    return services.snapshot_rebuild_stale()
