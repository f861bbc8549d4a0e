"""A put that fails midway leaves no shard and no row; a node failing mid-put is replaced."""

from __future__ import annotations

import io
import os
import threading

import pytest

from storage import repair, services
from storage.models import Shard, StoredObject, Stripe
from storage.nodes import NodeUnavailable
from storage.tests.helpers import PLAIN, files_under, payload, read_back

pytestmark = pytest.mark.django_db


class Breaks(io.RawIOBase):
    """A stream that fails after `after` bytes, as an upload cut off mid-way would."""

    def __init__(self, data: bytes, after: int) -> None:
        self.data = io.BytesIO(data)
        self.after = after

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.data.tell() >= self.after:
            raise ConnectionResetError("the client went away")
        n = self.data.readinto(memoryview(buffer)[: max(1, self.after - self.data.tell())])
        return n


def _nothing_left(tmp_path) -> None:
    assert files_under(tmp_path / "nodes") == []
    assert not StoredObject.objects.exists()
    assert not Stripe.objects.exists() and not Shard.objects.exists()


def test_a_stream_failing_after_several_stripes_leaves_nothing(nodes, tmp_path):
    data = payload(6 * PLAIN)
    with pytest.raises(ConnectionResetError):
        services.object_put(Breaks(data, after=4 * PLAIN + 10))
    _nothing_left(tmp_path)


def test_a_failure_while_writing_rows_leaves_no_shards(nodes, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Shard.objects, "bulk_create", fail)
    with pytest.raises(RuntimeError, match="database went away"):
        services.object_put(io.BytesIO(payload(3 * PLAIN)))
    _nothing_left(tmp_path)


def test_every_node_failing_mid_put_leaves_nothing(nodes, tmp_path, monkeypatch):
    from storage.nodes import LocalFolder

    real_put = LocalFolder.put
    calls = {"n": 0}

    def flaky(self, key, data):
        calls["n"] += 1
        if calls["n"] > 20:
            raise NodeUnavailable(f"{self.root} stopped answering")
        return real_put(self, key, data)

    monkeypatch.setattr(LocalFolder, "put", flaky)
    with pytest.raises(NodeUnavailable):
        services.object_put(io.BytesIO(payload(8 * PLAIN)))
    monkeypatch.setattr(LocalFolder, "put", real_put)
    _nothing_left(tmp_path)


def test_a_node_lost_mid_put_is_replaced_by_a_spare(nodes, tmp_path, monkeypatch):
    from storage.nodes import LocalFolder

    real_put = LocalFolder.put
    lock = threading.Lock()
    seen: dict[str, object] = {"calls": 0, "victim": None}
    first_stored = threading.Event()

    def vanishing(self, key, data):
        with lock:
            seen["calls"] += 1
            first = seen["victim"] is None
            seen["victim"] = seen["victim"] or str(self.root)  # the node of the first shard
            vanish = seen["calls"] == 20
        if vanish:
            # Its disk goes away mid-put, once the first shard has reached it (on a busy
            # machine the threads may otherwise still be writing that one).
            first_stored.wait(timeout=10)
            victim = str(seen["victim"])
            os.rename(victim, victim + ".gone")
        stored = real_put(self, key, data)
        if first:
            first_stored.set()
        return stored

    monkeypatch.setattr(LocalFolder, "put", vanishing)
    data = payload(6 * PLAIN)
    obj = services.object_put(io.BytesIO(data))
    victim = next(n for n in nodes if n.path == seen["victim"])
    on_victim = Shard.objects.filter(stripe__object=obj, node=victim)
    assert on_victim.exists()  # shards that reached it before it failed...
    assert set(on_victim.values_list("status", flat=True)) == {Shard.Status.MISSING}  # ...lost
    assert read_back(obj.pk) == data
    lost = on_victim.count()
    assert repair.repair_pending() == lost
    assert not on_victim.exists()
    assert read_back(obj.pk) == data
