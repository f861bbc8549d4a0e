"""The engine without Django: the put pipeline's shared pools, and concurrent shard reads."""

from __future__ import annotations

import io
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from storage.cid import cid_of_bytes
from storage.engine import ObjectReader, fetch_shards, write_object
from storage.nodes import LocalFolder

STRIPE = 64 * 1024
KEY = bytes(range(32))


@pytest.fixture
def pool():
    with ThreadPoolExecutor(2) as compute, ThreadPoolExecutor(3) as io_pool:
        yield compute, io_pool


def _nodes(tmp_path: Path, fsync: bool) -> dict[int, LocalFolder]:
    backends = {i: LocalFolder(tmp_path / f"n{i}", fsync=fsync) for i in range(8)}
    for backend in backends.values():
        backend.create()
    return backends


def _put(data: bytes, backends, pool, *, window: int = 4):
    compute, io_pool = pool
    return write_object(
        io.BytesIO(data),
        object_id=uuid.uuid4(),
        k=4,
        m=2,
        stripe_size=STRIPE,
        data_key=KEY,
        backends=backends,
        placement=lambda i: [(i + j) % 8 for j in range(8)],
        executor=compute,
        io_executor=io_pool,
        window=window,
    )


@pytest.mark.parametrize("fsync", [True, False])
@pytest.mark.parametrize("window", [1, 2, 4])
def test_puts_round_trip_through_any_window_and_durability(tmp_path, pool, fsync, window):
    backends = _nodes(tmp_path, fsync)
    data = os.urandom(5 * STRIPE + 123)
    manifest = _put(data, backends, pool, window=window)
    assert manifest.cid == cid_of_bytes(data)
    assert [s.index for s in manifest.stripes] == list(range(6))
    compute, io_pool = pool
    with ObjectReader(
        manifest, data_key=KEY, backends=backends, executor=compute, io_executor=io_pool
    ) as reader:
        assert reader.read() == data


def test_one_pool_for_compute_and_writes_does_not_deadlock(tmp_path):
    backends = _nodes(tmp_path, True)
    data = os.urandom(7 * STRIPE)
    with ThreadPoolExecutor(1) as only:
        manifest = _put(data, backends, (only, only), window=3)
    assert manifest.size == len(data)


def test_concurrent_reads_find_what_one_at_a_time_finds(tmp_path, pool):
    backends = _nodes(tmp_path, False)
    manifest = _put(os.urandom(2 * STRIPE), backends, pool)
    stripe = manifest.stripes[0]
    by_index = {s.index: s for s in stripe.shards}
    (backends[by_index[0].node_id].root / by_index[0].key).unlink()  # missing
    path = backends[by_index[2].node_id].root / by_index[2].key
    path.write_bytes(b"x" + path.read_bytes()[1:])  # corrupt
    serial = fetch_shards(stripe, k=4, backends=backends)
    concurrent = fetch_shards(stripe, k=4, backends=backends, io_executor=pool[1])
    assert sorted(serial[0]) == sorted(concurrent[0]) == [1, 3, 4, 5]
    assert serial[0] == concurrent[0]
    assert [(p.shard, p.kind) for p in serial[1]] == [(0, "missing"), (2, "corrupt")]
    assert serial[1] == concurrent[1]
