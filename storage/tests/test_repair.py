"""Lost nodes and corrupt shards: reads go on from any k shards, problems are recorded, and
the scrub (or the repair task) rebuilds every shard onto a healthy node; m+1 losses are a
clear error naming the object."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from storage import repair, services
from storage.models import Shard, StorageEvent, StorageNode
from storage.services import ObjectUnreadableError
from storage.tests.helpers import (
    PLAIN,
    assert_all_shards_good,
    files_under,
    flip_byte,
    payload,
    put_bytes,
    read_back,
    shard_path,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(nodes):
    """A few objects of different sizes, every one with shards on every node."""
    datas = [payload(size, seed=size) for size in (0, 1, PLAIN + 1, 5 * PLAIN + 3)]
    return [(put_bytes(data), data) for data in datas]


def _busiest(nodes, count):
    return sorted(nodes, key=lambda n: -n.shards.count())[:count]


def test_losing_m_node_folders_leaves_every_object_readable_and_scrub_repairs(objects, nodes):
    lost = _busiest(nodes, 2)
    for node in lost:
        shutil.rmtree(node.path)
    for obj, data in objects:
        assert read_back(obj.pk) == data
    # The reads recorded what they met; nothing was rebuilt yet.
    assert StorageEvent.objects.filter(kind=StorageEvent.Kind.SHARD_MISSING).exists()

    report = repair.scrub()

    assert sorted(report.nodes_down) == sorted(n.name for n in lost)
    assert report.repaired > 0 and not report.unrecoverable
    for node in lost:
        node.refresh_from_db()
        assert node.status == StorageNode.Status.DOWN
        assert not node.shards.exists()  # everything rebuilt elsewhere
    for obj, data in objects:
        assert_all_shards_good(obj)
        assert read_back(obj.pk) == data
    assert StorageEvent.objects.filter(kind=StorageEvent.Kind.NODE_DOWN).count() == 2
    assert StorageEvent.objects.filter(kind=StorageEvent.Kind.SHARD_REPAIRED).count() == (
        report.repaired
    )
    # Afterwards even losing two more nodes leaves everything readable: the redundancy is back.
    for node in _busiest([n for n in nodes if n not in lost], 2):
        shutil.rmtree(node.path)
    for obj, data in objects:
        assert read_back(obj.pk) == data


def test_flipped_bytes_are_detected_on_read_recorded_and_repaired_in_place(objects):
    obj, data = objects[-1]
    shards = list(Shard.objects.filter(stripe__object=obj).select_related("node", "stripe"))
    # Two shards of every stripe, data and parity alike: the most a (4, 2) code can lose.
    damaged = [s for s in shards if s.index in (1, 4)]
    for shard in damaged:
        flip_byte(shard_path(shard), offset=shard.length // 2)

    assert read_back(obj.pk) == data

    corrupt = Shard.objects.filter(stripe__object=obj, status=Shard.Status.CORRUPT)
    # Data shards are read first; for the bad shard 1 the reader takes parity 4, also bad, and
    # then parity 5: it met both in every stripe.
    assert corrupt.count() == len(damaged)
    events = StorageEvent.objects.filter(kind=StorageEvent.Kind.SHARD_CORRUPT, object_id=obj.pk)
    assert events.count() == corrupt.count()
    assert read_back(obj.pk) == data
    assert events.count() == corrupt.count(), "a problem already known is not logged again"

    report = repair.scrub()

    assert report.repaired == len(damaged)
    assert_all_shards_good(obj)
    for shard in damaged:
        node_before = shard.node_id
        shard.refresh_from_db()
        assert shard.node_id == node_before  # rebuilt on its own node, which is healthy
    for other, other_data in objects:
        assert read_back(other.pk) == other_data


def test_losing_m_plus_1_shards_is_a_clear_error_naming_the_object(objects, nodes):
    obj, _ = objects[-1]
    stripe = obj.stripes.order_by("index").first()
    for shard in stripe.shards.select_related("node", "stripe")[:3]:
        shard_path(shard).unlink()

    with pytest.raises(ObjectUnreadableError) as err, services.object_open(obj.pk) as f:
        f.read()
    message = str(err.value)
    assert str(obj.pk) in message and obj.cid in message
    assert "stripe 0 has 3 readable shards of the 4 it needs" in message
    assert err.value.object_id == obj.pk

    report = repair.scrub()
    assert report.unrecoverable == [str(obj.pk)]
    assert StorageEvent.objects.filter(
        kind=StorageEvent.Kind.STRIPE_UNRECOVERABLE, object_id=obj.pk
    ).exists()
    for other, other_data in objects[:-1]:  # the rest is untouched
        assert read_back(other.pk) == other_data


def test_losing_m_plus_1_node_folders_names_the_objects_that_are_gone(objects, nodes):
    obj, _ = objects[-1]
    holders = obj.stripes.get(index=0).shards.select_related("node")[:3]
    for shard in holders:
        shutil.rmtree(shard.node.path)
    with pytest.raises(ObjectUnreadableError, match=str(obj.pk)):
        read_back(obj.pk)


def test_repair_is_idempotent(objects):
    obj, _ = objects[-1]
    shard = Shard.objects.filter(stripe__object=obj).select_related("node", "stripe").first()
    shard_path(shard).unlink()
    read_back(obj.pk)  # records it
    first = repair.object_repair(object_id=obj.pk)
    second = repair.object_repair(object_id=obj.pk)
    assert (first.repaired, second.repaired) == (1, 0)
    assert repair.repair_pending() == 0
    assert_all_shards_good(obj)


def test_a_node_back_from_an_outage_is_not_rebuilt_needlessly(objects, nodes):
    obj, _ = objects[-1]
    node = _busiest(nodes, 1)[0]
    away = node.path + ".away"
    shutil.move(node.path, away)
    read_back(obj.pk)  # marks its shards missing
    shutil.move(away, node.path)
    outcome = repair.object_repair(object_id=obj.pk)
    assert outcome.repaired == 0 and outcome.cleared > 0
    assert_all_shards_good(obj)


def test_a_node_marked_down_gets_its_shards_rebuilt_by_the_repair_sweep(objects, nodes):
    node = _busiest(nodes, 1)[0]
    services.node_set_status(node=node, status=StorageNode.Status.DOWN, reason="disk replaced")
    assert repair.repair_pending() > 0
    assert not node.shards.exists()
    for obj, data in objects:
        assert_all_shards_good(obj)
        assert read_back(obj.pk) == data


def test_draining_moves_every_shard_off_and_keeps_objects_whole(objects, nodes):
    node = _busiest(nodes, 1)[0]
    before = node.shards.count()
    # One of its shards is corrupt: draining rebuilds it instead of copying the bad bytes.
    flip_byte(shard_path(node.shards.select_related("node", "stripe").first()))
    moved = repair.node_drain(node=node)
    node.refresh_from_db()
    assert moved == before
    assert node.status == StorageNode.Status.DRAINING
    assert not node.shards.exists()
    assert files_under(Path(node.path)) == []
    assert StorageEvent.objects.filter(kind=StorageEvent.Kind.NODE_DRAINED, node=node).exists()
    for obj, data in objects:
        assert read_back(obj.pk) == data
        shards = Shard.objects.filter(stripe__object=obj).select_related("node", "stripe")
        assert all(s.status == Shard.Status.OK and s.node_id != node.pk for s in shards)
    # A drained node can come back into service.
    services.node_set_status(node=node, status=StorageNode.Status.UP)
    assert put_bytes(payload(100)).size == 100


def test_marking_a_vanished_node_up_is_refused(nodes):
    node = nodes[0]
    services.node_set_status(node=node, status=StorageNode.Status.DOWN)
    shutil.rmtree(node.path)
    with pytest.raises(services.StorageError, match="does not answer"):
        services.node_set_status(node=node, status=StorageNode.Status.UP)


def test_orphans_are_swept_once_old_enough(objects, nodes):
    obj, _ = objects[0]
    stray = Path(nodes[0].path) / "ab" / ("ab" + "0" * 30) / "00000000.00"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left by a put that died")
    assert repair.sweep_orphans() == 0  # too young: could be a put in flight
    old = time.time() - 7200
    os.utime(stray, (old, old))
    assert repair.sweep_orphans() == 1
    assert not stray.exists()
    assert read_back(obj.pk) == objects[0][1]
