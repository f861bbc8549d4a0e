"""Reading storage's state for pages, the API and commands (no side effects)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from storage.models import Shard, StorageNode, StoredObject, Table1Run


def nodes_with_health() -> list[dict[str, Any]]:
    """Every node with its status, shard count, bad shards and bytes held; two queries.

    The shards are grouped by node on their own rather than joined to the nodes: with 10^6
    shard rows PostgreSQL then aggregates the shard table alone (in parallel), about three
    times faster than grouping the join by every node column.
    """
    per_node = {
        row["node_id"]: row
        for row in Shard.objects.values("node_id")
        .annotate(
            shard_count=Count("id"),
            bad_count=Count("id", filter=~Q(status=Shard.Status.OK)),
            stored=Sum("length"),
        )
        .order_by()
    }
    none = {"shard_count": 0, "bad_count": 0, "stored": 0}
    rows = []
    for node in StorageNode.objects.order_by("name"):
        counts = per_node.get(node.pk, none)
        rows.append(
            {
                "id": node.pk,
                "name": node.name,
                "kind": node.kind,
                "status": node.status,
                "status_changed_at": node.status_changed_at,
                "location": node.location,
                "shards": counts["shard_count"],
                "bad_shards": counts["bad_count"],
                "stored_bytes": counts["stored"] or 0,
                "last_checked_at": node.last_checked_at,
                "last_error": node.last_error,
            }
        )
    return rows


def object_get(object_id: Any) -> StoredObject | None:
    """The stored object's row (CID, size, code), or None."""
    return StoredObject.objects.filter(pk=object_id).first()


def table1_latest() -> Table1Run | None:
    """The latest finished run (a queued, running or failed one has no report to serve)."""
    return (
        Table1Run.objects.filter(status=Table1Run.Status.DONE)
        .order_by("-created_at", "-id")
        .first()
    )


def table1_run_get(run_id: int) -> Table1Run | None:
    return Table1Run.objects.filter(pk=run_id).first()


def table1_in_progress() -> Table1Run | None:
    """The run queued or running now, if any (the dashboard starts no second one meanwhile)."""
    return (
        Table1Run.objects.filter(status__in=[Table1Run.Status.QUEUED, Table1Run.Status.RUNNING])
        .order_by("-created_at", "-id")
        .first()
    )


def nodes() -> QuerySet[StorageNode]:
    return StorageNode.objects.order_by("pk")
