"""Helpers for storage's tests: payloads, puts and reads, shard files on disk."""

from __future__ import annotations

import hashlib
import io
import random
import uuid
from pathlib import Path

from storage import services
from storage.crypto import TAG_SIZE
from storage.models import Shard, StoredObject
from storage.nodes import shard_key

STRIPE = 64 * 1024  # encoded bytes per stripe in these tests (STORAGE_STRIPE_BYTES)
PLAIN = STRIPE - TAG_SIZE  # plaintext bytes per stripe


def payload(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def put_bytes(data: bytes, **kwargs) -> StoredObject:
    return services.object_put(io.BytesIO(data), **kwargs)


def read_back(object_id: uuid.UUID | str) -> bytes:
    with services.object_open(object_id) as f:
        return f.read()


def files_under(root: Path) -> list[Path]:
    """Every shard file below `root` (not node markers or temporary files)."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def shard_path(shard: Shard) -> Path:
    key = shard_key(shard.stripe.object_id, shard.stripe.index, shard.index)
    return Path(shard.node.path) / key


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def flip_byte(path: Path, offset: int = 0) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0xFF
    path.write_bytes(bytes(data))


def assert_all_shards_good(obj: StoredObject) -> None:
    """Every shard row is ok, on an up node, and its file holds bytes with the recorded hash."""
    shards = Shard.objects.filter(stripe__object=obj).select_related("node", "stripe")
    assert shards.count() == sum(1 for _ in shards)
    for shard in shards:
        assert shard.status == Shard.Status.OK, shard
        assert shard.node.status == "up", shard
        data = shard_path(shard).read_bytes()
        assert len(data) == shard.length
        assert sha256(data) == bytes(shard.sha256), shard
    by_stripe: dict[int, set[int]] = {}
    for shard in shards:
        by_stripe.setdefault(shard.stripe_id, set()).add(shard.node_id)
    for stripe_id, node_ids in by_stripe.items():
        assert len(node_ids) == obj.k + obj.m, f"stripe {stripe_id}: shards share a node"
