"""A real worker on Redis repairs what a read found: the read records the corrupt shard and
queues `storage.tasks.repair_object` after commit; the worker rebuilds it."""

import pytest

from conftest import wait_for
from storage.models import Shard, StorageEvent
from storage.tests.helpers import (
    PLAIN,
    flip_byte,
    payload,
    put_bytes,
    read_back,
    sha256,
    shard_path,
)

pytestmark = [pytest.mark.celery, pytest.mark.slow]


def test_a_worker_repairs_a_corruption_found_by_a_read(celery_worker, nodes):
    data = payload(3 * PLAIN + 1)
    obj = put_bytes(data)
    shard = Shard.objects.select_related("node", "stripe").get(
        stripe__object=obj, stripe__index=1, index=2
    )
    good = shard_path(shard).read_bytes()
    flip_byte(shard_path(shard), offset=100)

    assert read_back(obj.pk) == data  # from the other shards; the problem is recorded

    assert Shard.objects.get(pk=shard.pk).status in (Shard.Status.CORRUPT, Shard.Status.OK)

    def repaired() -> bool:
        return StorageEvent.objects.filter(
            kind=StorageEvent.Kind.SHARD_REPAIRED, object_id=obj.pk, stripe=1, shard=2
        ).exists()

    wait_for(repaired, timeout=30)
    shard.refresh_from_db()
    assert shard.status == Shard.Status.OK
    assert sha256(shard_path(shard).read_bytes()) == bytes(shard.sha256) == sha256(good)
    assert (
        StorageEvent.objects.filter(kind=StorageEvent.Kind.SHARD_CORRUPT, object_id=obj.pk).count()
        == 1
    )
