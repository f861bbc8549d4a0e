"""The dashboards' one write: rebuilding the shared snapshots of the unfiltered views."""

from __future__ import annotations

import time

from django.utils import timezone

from dashboards import selectors, snapshots


def snapshots_rebuild(*, kinds: list[str] | None = None) -> dict[str, int]:
    """Compute each dashboard's unfiltered figures and store them; milliseconds per dashboard.

    Safe to run twice or at once (`snapshots.snapshot_write`); rows of another schema version
    are deleted, as nothing of this version reads them.
    """
    took: dict[str, int] = {}
    for kind in kinds or list(selectors.SNAPSHOT_PAYLOADS):
        started = time.perf_counter()
        # The time the computation started: the figures are at least this fresh.
        computed_at = timezone.now()
        _schema, compute = selectors.SNAPSHOT_PAYLOADS[kind]
        payload = compute()
        took[kind] = round((time.perf_counter() - started) * 1000)
        snapshots.snapshot_write(kind, payload, computed_at=computed_at, took_ms=took[kind])
    snapshots.snapshots_of_other_versions_delete()
    return took
