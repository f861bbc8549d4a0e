"""Data builders of the dashboard tests: rows with chosen dates, put in directly.

The dashboards only aggregate, so the tests make exactly the rows whose counts they check
(datasets, shards, storage events, ledger entries and blocks), with the times they need.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache

from access.models import AccessRequest, Download, Grant
from catalog.models import Dataset, DatasetVersion
from consortium.models import Institution
from ledger.models import Block, Entry
from storage.models import Shard, StorageEvent, StorageNode, StoredObject, Stripe, WrappedKey


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def dataset(
    institution: Institution,
    user: Any,
    *,
    day: str,
    category: str = "loans",
    sensitivity: str = "internal",
    status: str = "active",
) -> Dataset:
    return Dataset.objects.create(
        institution=institution,
        title=f"{category} {day}",
        description="d",
        category=category,
        sensitivity=sensitivity,
        terms="t",
        status=status,
        created_by=user,
        created_at=at(day),
        updated_at=at(day),
    )


def version(ds: Dataset, user: Any) -> DatasetVersion:
    return DatasetVersion.objects.create(
        dataset=ds,
        number=ds.versions.count() + 1,
        object_id=uuid.uuid4(),
        cid=f"bafk{uuid.uuid4().hex}",
        size_bytes=100,
        row_count=4,
        columns=[{"name": "id", "type": "int64", "null_count": 0}],
        created_by=user,
        created_at=ds.created_at,
    )


def access_request(
    ds: Dataset,
    institution: Institution,
    user: Any,
    *,
    state: str,
    created: datetime,
    moderated: datetime | None = None,
    decided: datetime | None = None,
) -> AccessRequest:
    """A request in `state` with the given times (nothing checks that they make sense)."""
    ver = ds.versions.order_by("-number").first() or version(ds, user)
    return AccessRequest.objects.create(
        dataset=ds,
        version=ver,
        institution=institution,
        requested_by=user,
        purpose="Benchmark default rates against our own book.",
        columns=["id"],
        duration_days=30,
        state=state,
        created_at=created,
        updated_at=decided or moderated or created,
        moderated_at=moderated,
        decided_at=decided,
        withdrawn_at=created if state == "withdrawn" else None,
    )


def grant(request: AccessRequest, user: Any) -> Grant:
    assert request.decided_at is not None
    return Grant.objects.create(
        request=request,
        version=request.version,
        institution=request.institution,
        columns=request.columns,
        wrapped_key=WrappedKey.objects.create(purpose="grant", wrapped=b""),  # never opened
        granted_by=user,
        created_at=request.decided_at,
        expires_at=request.decided_at + timedelta(days=30),
    )


def download(
    of: Grant, user: Any, *, finished: datetime | None, rows: int = 0, size: int = 0
) -> Download:
    """A download of `of`; unfinished (abandoned) when `finished` is None."""
    return Download.objects.create(
        grant=of,
        user=user,
        format="csv",
        started_at=(finished or of.created_at) - timedelta(seconds=1),
        finished_at=finished,
        rows=rows,
        bytes=size,
        sha256="0" * 64 if finished else "",
    )


def node(name: str, status: str = "up") -> StorageNode:
    return StorageNode.objects.create(name=name, path=f"/nonexistent/{name}", status=status)


def stored_object(
    nodes: list[StorageNode], *, size: int, stored: int, bad: int = 0
) -> StoredObject:
    """An object of one stripe with a shard on each node; the first `bad` shards are corrupt."""
    pk = uuid.uuid4()
    obj = StoredObject.objects.create(
        id=pk,
        cid=f"bafk{uuid.uuid4().hex}",
        size=size,
        stored_size=stored,
        k=max(1, len(nodes) - 2),
        m=min(2, len(nodes) - 1),
        stripe_size=stored,
        wrapped_key=WrappedKey.objects.create(id=pk, purpose="object", wrapped=b""),
    )
    stripe = Stripe.objects.create(object=obj, index=0, length=stored)
    share = stored // len(nodes)
    Shard.objects.bulk_create(
        Shard(
            stripe=stripe,
            index=i,
            node=n,
            sha256=b"\0" * 32,
            length=share,
            status=Shard.Status.CORRUPT if i < bad else Shard.Status.OK,
        )
        for i, n in enumerate(nodes)
    )
    return obj


def storage_event(kind: str, day: str, detail: str = "") -> StorageEvent:
    return StorageEvent.objects.create(kind=kind, created_at=at(day), detail=detail)


def ledger_entries(kinds_and_days: list[tuple[str, str]]) -> list[Entry]:
    """Entries appended on the given days, after whatever the log holds."""
    start = Entry.objects.count()
    return Entry.objects.bulk_create(
        Entry(
            index=start + i,
            event_id=start + i,
            kind=kind,
            data=b"{}",
            leaf_hash=hashlib.sha256(f"{start + i}{kind}{day}".encode()).digest(),
            recorded_at=at(day),
            appended_at=at(day),
        )
        for i, (kind, day) in enumerate(kinds_and_days)
    )


def block(height: int, tree_size: int, day: str, hour: int = 12) -> Block:
    return Block.objects.create(
        height=height,
        prev_hash=b"\0" * 32,
        tree_size=tree_size,
        root_hash=b"\1" * 32,
        sealed_at=at(day, hour),
        block_hash=bytes([height % 256]) * 32,
        checkpoint=f"bizi test log\n{tree_size}\nroot\n",
    )


@pytest.fixture(autouse=True)
def _fresh_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    # The ledger's per-kind counts are cached; each test starts from an empty cache (the
    # cache also checks itself against the log, which test_ledger.py covers). Pages compute
    # their figures afresh unless a test turns the minute's reuse back on (test_caching.py).
    cache.clear()
    monkeypatch.setattr("dashboards.selectors.CACHE_SECONDS", 0)
