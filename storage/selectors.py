"""Reading storage's state for pages, the API and commands (no side effects)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, Sum

from storage.models import Shard, StorageNode, StoredObject, Table1Run


def nodes_with_health() -> list[dict[str, Any]]:
    """Every node with its status, shard count, bad shards and bytes held; one query."""
    bad = ~Q(shards__status=Shard.Status.OK)
    rows = StorageNode.objects.annotate(
        shard_count=Count("shards"),
        bad_count=Count("shards", filter=bad),
        stored=Sum("shards__length"),
    ).order_by("name")
    return [
        {
            "id": node.pk,
            "name": node.name,
            "kind": node.kind,
            "status": node.status,
            "status_changed_at": node.status_changed_at,
            "location": node.location,
            "shards": node.shard_count,
            "bad_shards": node.bad_count,
            "stored_bytes": node.stored or 0,
            "last_checked_at": node.last_checked_at,
            "last_error": node.last_error,
        }
        for node in rows
    ]


def object_get(object_id: Any) -> StoredObject | None:
    """The stored object's row (CID, size, code), or None."""
    return StoredObject.objects.filter(pk=object_id).first()


def table1_latest() -> Table1Run | None:
    return Table1Run.objects.order_by("-created_at", "-id").first()
