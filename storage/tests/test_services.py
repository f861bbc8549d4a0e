"""object_put / object_open / object_delete: round trips, CIDs, placement, ciphertext only."""

from __future__ import annotations

import io
import uuid

import pytest

from storage import services
from storage.cid import cid_of_bytes
from storage.models import Shard, StorageNode, StoredObject, Stripe
from storage.services import Policy, StorageError
from storage.tests.helpers import (
    PLAIN,
    STRIPE,
    assert_all_shards_good,
    files_under,
    payload,
    put_bytes,
    read_back,
)

pytestmark = pytest.mark.django_db

SIZES = [0, 1, PLAIN - 1, PLAIN, PLAIN + 1, 3 * PLAIN + 12_345]


@pytest.mark.parametrize("size", SIZES)
def test_put_then_open_gives_the_same_bytes_and_the_ipfs_cid(nodes, size):
    data = payload(size, seed=size)
    obj = put_bytes(data)
    assert obj.size == size
    assert obj.cid == cid_of_bytes(data)
    assert read_back(obj.pk) == data
    stripes = max(1, -(-size // PLAIN))
    assert obj.stripes.count() == stripes
    assert Shard.objects.filter(stripe__object=obj).count() == 6 * stripes
    assert_all_shards_good(obj)


def test_stripe_boundaries_follow_the_stripe_size(nodes):
    obj = put_bytes(payload(2 * PLAIN + 1))
    lengths = list(obj.stripes.order_by("index").values_list("length", flat=True))
    assert lengths == [STRIPE, STRIPE, 1 + 16]  # ciphertext and tag per stripe


def test_shards_of_a_stripe_are_on_distinct_nodes_and_spread_over_all_nodes(nodes):
    obj = put_bytes(payload(8 * PLAIN))
    for stripe in obj.stripes.all():
        node_ids = list(stripe.shards.values_list("node_id", flat=True))
        assert len(set(node_ids)) == 6
    used = set(Shard.objects.filter(stripe__object=obj).values_list("node_id", flat=True))
    assert used == {n.pk for n in nodes}


def test_stored_size_counts_every_shard_and_stays_near_the_mds_ideal(nodes):
    obj = put_bytes(payload(10 * PLAIN))
    total = sum(Shard.objects.filter(stripe__object=obj).values_list("length", flat=True))
    assert obj.stored_size == total
    assert 1.5 <= obj.stored_size / obj.size < 1.52  # (k+m)/k plus tags and shift padding


def test_nodes_only_ever_hold_ciphertext(nodes, tmp_path):
    marker = b"NORTHBANK-CONFIDENTIAL-LOAN-BOOK;"
    data = marker * (3 * PLAIN // len(marker))
    put_bytes(data)
    files = files_under(tmp_path / "nodes")
    assert len(files) == 6 * 3
    for path in files:
        content = path.read_bytes()
        assert marker not in content
        assert marker[:8] not in content, path


def test_the_same_bytes_stored_twice_get_different_keys_and_ciphertext(nodes, tmp_path):
    data = payload(PLAIN)
    first, second = put_bytes(data), put_bytes(data)
    assert first.cid == second.cid
    assert services.key_unwrap(first.wrapped_key) != services.key_unwrap(second.wrapped_key)
    shard = Shard.objects.filter(stripe__object=first, index=0).get()
    other = Shard.objects.filter(stripe__object=second, index=0).get()
    assert bytes(shard.sha256) != bytes(other.sha256)


@pytest.mark.parametrize(("k", "m"), [(2, 1), (6, 2), (1, 7)])
def test_other_policies_round_trip(nodes, k, m):
    data = payload(3 * PLAIN + 7, seed=k)
    obj = put_bytes(data, policy=Policy(k=k, m=m))
    assert (obj.k, obj.m) == (k, m)
    assert read_back(obj.pk) == data
    assert_all_shards_good(obj)


def test_a_stream_without_readinto_works_too(nodes):
    class Chunks:
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def read(self, n: int) -> bytes:
            return self.data.read(min(n, 1000))  # short reads, as a socket gives them

    data = payload(2 * PLAIN + 5)
    obj = services.object_put(Chunks(data))
    assert obj.cid == cid_of_bytes(data)
    assert read_back(obj.pk) == data


def test_open_reads_in_any_piece_sizes_and_iterates_by_stripe(nodes):
    data = payload(3 * PLAIN + 99)
    obj = put_bytes(data)
    with services.object_open(obj.pk) as f:
        pieces = [f.read(1), f.read(PLAIN), f.read(7)]
        pieces += list(f)
    assert b"".join(pieces) == data
    with services.object_open(str(obj.pk)) as f:
        assert [len(p) for p in f] == [PLAIN, PLAIN, PLAIN, 99]


def test_too_few_nodes_up_is_refused_before_anything_is_written(nodes, tmp_path):
    for node in nodes[:3]:
        services.node_set_status(node=node, status=StorageNode.Status.DOWN)
    with pytest.raises(StorageError, match=r"needs 6 storage nodes that are up.*only 5"):
        put_bytes(payload(100))
    assert not StoredObject.objects.exists()
    assert files_under(tmp_path / "nodes") == []


def test_default_nodes_are_made_when_none_is_registered(db, settings, tmp_path):
    settings.STORAGE_LOCAL_NODES = 6
    obj = put_bytes(b"hello world\n")
    assert obj.cid == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    assert StorageNode.objects.count() == 6
    assert all(
        n.path.startswith(str(tmp_path / "default-nodes")) for n in StorageNode.objects.all()
    )
    assert read_back(obj.pk) == b"hello world\n"


def test_delete_removes_rows_and_shard_files(nodes, tmp_path, django_capture_on_commit_callbacks):
    keep = put_bytes(payload(PLAIN, seed=1))
    gone = put_bytes(payload(2 * PLAIN, seed=2))
    with django_capture_on_commit_callbacks(execute=True):
        services.object_delete(gone.pk)
    assert not StoredObject.objects.filter(pk=gone.pk).exists()
    assert not Stripe.objects.filter(object_id=gone.pk).exists()
    assert len(files_under(tmp_path / "nodes")) == 6
    assert read_back(keep.pk) == payload(PLAIN, seed=1)


def test_unknown_objects_are_a_clear_error(nodes):
    with pytest.raises(StorageError, match="no stored object") as err:
        services.object_open(uuid.uuid4())
    assert err.value.code == "not_found"
    with pytest.raises(StorageError, match="no stored object"):
        services.object_open("not-a-uuid")


def test_bad_policies_are_refused():
    with pytest.raises(StorageError):
        Policy(k=0, m=2)
    with pytest.raises(StorageError):
        Policy(k=4, m=2, stripe_size=16)


def test_durable_puts_fsync_and_still_round_trip(nodes, settings):
    settings.STORAGE_FSYNC = True  # the default outside tests
    data = payload(2 * PLAIN + 3)
    obj = put_bytes(data)
    assert read_back(obj.pk) == data
