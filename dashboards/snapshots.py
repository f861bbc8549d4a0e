"""Reading and writing `DashboardSnapshot` rows, and the JSON their figures travel in.

Figures hold dates and datetimes (weeks, days, check times); JSON has neither, so they are
stored tagged (`{"$date": "2026-03-02"}`) and come back as the same Python values, and a page
built from a snapshot is the page built live.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from dashboards.models import DashboardSnapshot

# Bump when a payload's layout changes: rows written by the previous code are then ignored
# (and replaced by the next rebuild) instead of breaking the page.
PAYLOAD_VERSION = 2
DEFAULT_KEY = f"v{PAYLOAD_VERSION}:all"


def encode(value: Any) -> Any:
    """`value` with dates and datetimes tagged, ready for a JSONField."""
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """The inverse of `encode` (tuples come back as lists)."""
    if isinstance(value, dict):
        if len(value) == 1 and "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if len(value) == 1 and "$date" in value:
            return date.fromisoformat(value["$date"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def max_age() -> timedelta:
    """Older than this, a snapshot is not served: beat or the worker has stopped, and a page
    computed now (and cached per process like a filtered one) is better than a stale one."""
    return timedelta(seconds=10 * float(settings.DASHBOARD_SNAPSHOT_SECONDS))


def snapshot_read(kind: str, key: str = DEFAULT_KEY) -> tuple[Any, datetime] | None:
    """`(payload, computed_at)` of the fresh snapshot of `kind`, or None; one query."""
    row = (
        DashboardSnapshot.objects.filter(
            kind=kind, key=key, computed_at__gte=timezone.now() - max_age()
        )
        .values_list("payload", "computed_at")
        .first()
    )
    if row is None:
        return None
    return decode(row[0]), row[1]


def snapshot_write(
    kind: str, payload: Any, *, computed_at: datetime, took_ms: int, key: str = DEFAULT_KEY
) -> DashboardSnapshot:
    """Store `payload` as the snapshot of `kind`, replacing the previous one.

    Idempotent: a rebuild that runs twice, or two at once, leaves one row per (kind, key)
    (the unique constraint, and update_or_create's lock and retry); an older computation that
    finishes last does not replace a newer one.
    """
    snapshot, created = DashboardSnapshot.objects.update_or_create(
        kind=kind,
        key=key,
        create_defaults={
            "payload": encode(payload),
            "computed_at": computed_at,
            "took_ms": took_ms,
        },
        defaults={},
    )
    if not created and snapshot.computed_at < computed_at:
        DashboardSnapshot.objects.filter(pk=snapshot.pk, computed_at__lt=computed_at).update(
            payload=encode(payload), computed_at=computed_at, took_ms=took_ms
        )
        snapshot.refresh_from_db()
    return snapshot
