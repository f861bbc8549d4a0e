"""Celery tasks of the ledger. Each is safe to run twice or concurrently: the outbox and the
log's lock make appending idempotent, and sealing or witnessing twice changes nothing."""

from celery import shared_task

from ledger import services, verification, witnessing


@shared_task(name="ledger.tasks.append_outbox", ignore_result=True, acks_late=True)
def append_outbox() -> int:
    """Move every outbox event into the log (also run by beat, so nothing waits forever)."""
    return services.append_all()


@shared_task(name="ledger.tasks.seal_block", ignore_result=True)
def seal_block() -> None:
    """Seal entries that have waited LEDGER_BLOCK_MAX_SECONDS even if no new events arrive."""
    services.seal_block_if_due()


@shared_task(name="ledger.tasks.send_to_witnesses", ignore_result=True, acks_late=True)
def send_to_witnesses(height: int) -> None:
    witnessing.witness_all(height=height)


@shared_task(name="ledger.tasks.witness_pending", ignore_result=True)
def witness_pending() -> None:
    """Beat: the newest checkpoint to the witnesses still behind it (a send lost, a witness
    that was down)."""
    witnessing.witness_pending()


@shared_task(name="ledger.tasks.verify", ignore_result=True)
def verify() -> None:
    verification.verify_ledger(triggered_by="beat")
