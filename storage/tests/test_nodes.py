"""Local node writes: direct I/O from aligned and unaligned buffers, its fallbacks, and sync."""

from __future__ import annotations

import errno
import mmap
import os
from pathlib import Path

import pytest

from storage import nodes
from storage.nodes import LocalFolder

SIZES = [0, 1, 4095, 4096, 4097, (1 << 20) + 3, 5 * (1 << 19)]


def _folder(tmp_path: Path, *, fsync: bool = True) -> LocalFolder:
    folder = LocalFolder(tmp_path / "node", fsync=fsync)
    folder.create()
    return folder


def _aligned_copy(data: bytes) -> memoryview:
    view = memoryview(mmap.mmap(-1, max(1, len(data))))[: len(data)]
    view[:] = data
    return view


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("aligned", [True, False])
def test_durable_writes_store_exactly_the_bytes(tmp_path, size, aligned):
    folder = _folder(tmp_path)
    data = os.urandom(size)
    folder.put("ab/obj/00000000.00", _aligned_copy(data) if aligned else data)
    folder.sync(["ab/obj/00000000.00"])
    assert folder.get("ab/obj/00000000.00") == data
    assert [p.name for p in (tmp_path / "node" / "ab" / "obj").iterdir()] == ["00000000.00"]


def test_a_filesystem_without_direct_io_gets_ordinary_writes(tmp_path, monkeypatch):
    real_open = os.open

    def no_direct(path, flags, *args):
        if flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(nodes.os, "open", no_direct)
    folder = _folder(tmp_path)
    data = os.urandom(10_000)
    folder.put("k/0", data)
    folder.sync(["k/0"])
    assert folder.get("k/0") == data
    assert folder._direct is False  # not tried again for this node
    assert not list((tmp_path / "node" / "k").glob("*.tmp"))


def test_a_direct_write_refused_midway_finishes_through_the_page_cache(tmp_path, monkeypatch):
    real_write = os.write
    refused = []

    def refuse_once(fd, data):
        if not refused:
            refused.append(fd)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    monkeypatch.setattr(nodes.os, "write", refuse_once)
    folder = _folder(tmp_path)
    data = os.urandom(3 * 4096 + 5)
    folder.put("k/0", _aligned_copy(data))
    assert refused
    assert folder.get("k/0") == data


def test_other_write_errors_make_the_node_unavailable(tmp_path, monkeypatch):
    def disk_full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(nodes.os, "write", disk_full)
    folder = _folder(tmp_path)
    with pytest.raises(nodes.NodeUnavailable, match="No space left"):
        folder.put("k/0", os.urandom(5000))
    assert not list((tmp_path / "node" / "k").iterdir())


def test_sync_fsyncs_each_file_then_each_folder_once(tmp_path, monkeypatch):
    folder = _folder(tmp_path)
    keys = ["a/x/1", "a/x/2", "a/y/1"]
    for key in keys:
        folder.put(key, b"shard")
    synced: list[str] = []
    real_fsync = os.fsync

    def record(fd):
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        return real_fsync(fd)

    monkeypatch.setattr(nodes.os, "fsync", record)
    folder.sync(keys)
    root = tmp_path / "node"
    assert synced == [str(root / k) for k in keys] + [str(root / "a/x"), str(root / "a/y")]


def test_without_fsync_nothing_is_synced_and_writes_are_buffered(tmp_path, monkeypatch):
    folder = _folder(tmp_path, fsync=False)
    monkeypatch.setattr(nodes.os, "fsync", lambda fd: pytest.fail("fsync without fsync=True"))
    folder.put("k/0", b"x" * 5000)
    folder.sync(["k/0"])
    assert folder.get("k/0") == b"x" * 5000


def test_sync_of_a_vanished_shard_is_an_unavailable_node(tmp_path):
    folder = _folder(tmp_path)
    folder.put("k/0", b"shard")
    (tmp_path / "node" / "k" / "0").unlink()
    with pytest.raises(nodes.NodeUnavailable, match="vanished"):
        folder.sync(["k/0"])
