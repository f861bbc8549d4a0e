from celery import shared_task

from access.services import grants_expire


@shared_task(name="access.tasks.expire_grants", ignore_result=True)
def expire_grants() -> int:
    """Beat runs this every ACCESS_EXPIRE_SECONDS; safe to run twice or at once."""
    return grants_expire()
