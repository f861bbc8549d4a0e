"""Celery tasks of storage: thin wrappers that load by id and call `storage.repair`.

Each is safe to run twice or concurrently: repairs and drains act on the shard rows with
conditional updates, and a shard already repaired or moved is simply skipped.
"""

import logging

from celery import shared_task

from portal import tasking
from storage import repair, services
from storage.models import StorageNode

log = logging.getLogger(__name__)


@shared_task(name="storage.tasks.repair_object", ignore_result=True, acks_late=True)
def repair_object(object_id: str) -> int:
    """Rebuild the bad shards of one object (queued when a read finds a bad shard)."""
    return repair.object_repair(object_id=object_id).repaired


@shared_task(name="storage.tasks.repair_pending", ignore_result=True, acks_late=True)
def repair_pending() -> int:
    """Rebuild every bad shard recorded (beat: catches repairs whose message was lost)."""
    return repair.repair_pending()


@shared_task(name="storage.tasks.scrub", ignore_result=True)
def scrub() -> str:
    """Read and check every shard, repair what is wrong, sweep orphans (beat)."""
    report = repair.scrub()
    log.info("storage scrub: %s", report.summary())
    return report.summary()


@shared_task(name="storage.tasks.drain_node", ignore_result=True, acks_late=True)
def drain_node(node_id: int) -> int:
    """Move every shard off a node marked draining."""
    node = StorageNode.objects.filter(pk=node_id, status=StorageNode.Status.DRAINING).first()
    if node is None:
        return 0  # marked up or down again meanwhile: nothing to drain
    return repair.node_drain(node=node)


@shared_task(name="storage.tasks.drain_pending", ignore_result=True)
def drain_pending() -> int:
    """Beat: drain again every node still marked draining that holds shards."""
    draining = repair.nodes_draining()
    return tasking.publish_each("storage.tasks.drain_node", [[pk] for pk in draining])


@shared_task(name="storage.tasks.run_table1", ignore_result=True, acks_late=True)
def run_table1(run_id: int) -> str:
    """Run a Table 1 run queued from the storage dashboard (claimed once; see the service)."""
    run = services.table1_execute(run_id=run_id)
    return "skipped: already claimed or finished" if run is None else run.status


@shared_task(name="storage.tasks.table1_pending", ignore_result=True)
def table1_pending() -> int:
    """Beat: send again the Table 1 runs whose message may have been lost."""
    return tasking.publish_each(
        "storage.tasks.run_table1", [[pk] for pk in services.table1_runs_unsent()]
    )
