"""storage_cid, storage_scrub and storage_node from the command line."""

from __future__ import annotations

import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from storage.tests.helpers import PLAIN, payload, put_bytes, read_back, shard_path


def test_storage_cid_prints_the_ipfs_cid(tmp_path, capsys):
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello world\n")
    call_command("storage_cid", str(path))
    assert capsys.readouterr().out.strip() == (
        "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    )
    with pytest.raises(CommandError, match="cannot read"):
        call_command("storage_cid", str(tmp_path / "absent"))


@pytest.mark.django_db
def test_storage_scrub_shows_progress_and_repairs(nodes, capsys):
    objects = [(put_bytes(payload(n * PLAIN + 1, seed=n)), n) for n in range(5)]
    shutil.rmtree(nodes[2].path)
    call_command("storage_scrub")
    out = capsys.readouterr().out
    assert "scrub [" in out and "5/5 objects (100 %" in out
    assert "OK: 5 objects" in out and f"nodes marked down: {nodes[2].name}" in out
    for obj, n in objects:
        assert read_back(obj.pk) == payload(n * PLAIN + 1, seed=n)


@pytest.mark.django_db
def test_storage_scrub_fails_loudly_when_an_object_is_lost(nodes, capsys):
    obj = put_bytes(payload(3 * PLAIN))
    for shard in obj.stripes.get(index=1).shards.select_related("node", "stripe")[:3]:
        shard_path(shard).unlink()  # m+1 = 3 shards of one stripe
    with pytest.raises(CommandError, match=f"UNRECOVERABLE objects: {obj.pk}"):
        call_command("storage_scrub")


@pytest.mark.django_db
def test_storage_node_add_list_down_up_drain(nodes, tmp_path, capsys):
    call_command("storage_node", "add", "extra", "--path", str(tmp_path / "extra"))
    assert (tmp_path / "extra" / ".bizi-node").exists()
    put_bytes(payload(2 * PLAIN))
    call_command("storage_node", "list")
    listing = capsys.readouterr().out
    assert "extra" in listing and "local" in listing
    call_command("storage_node", "down", nodes[0].name)
    call_command("storage_node", "up", nodes[0].name)
    call_command("storage_node", "drain", nodes[1].name)
    out = capsys.readouterr().out
    assert f"{nodes[0].name} is up" in out and "shards moved off" in out
    with pytest.raises(CommandError, match="no storage node called"):
        call_command("storage_node", "up", "nope")
    with pytest.raises(CommandError, match="already a storage node"):
        call_command("storage_node", "add", "extra", "--path", str(tmp_path / "x"))
