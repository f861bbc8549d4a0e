"""The master key: from the environment or a generated 0600 file, required in production;
re-wrapping moves every data key to a new master key without touching a shard."""

from __future__ import annotations

import base64
import os
import stat

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from storage import crypto, keys
from storage.models import StorageEvent, StoredObject
from storage.services import StorageError, keys_rewrap
from storage.tests.helpers import PLAIN, files_under, payload, put_bytes, read_back


def test_keys_are_read_as_hex_or_base64():
    raw = bytes(range(32))
    assert keys.parse_key(raw.hex()) == raw
    assert keys.parse_key(base64.b64encode(raw).decode()) == raw
    assert keys.parse_key(base64.urlsafe_b64encode(raw).decode().rstrip("=")) == raw
    with pytest.raises(ImproperlyConfigured, match="32 bytes"):
        keys.parse_key("too short")


def test_a_missing_key_file_is_generated_owner_only_outside_production(settings, tmp_path):
    settings.STORAGE_MASTER_KEY = ""
    settings.STORAGE_MASTER_KEY_FILE = str(tmp_path / "sub" / "master.key")
    first = keys.master_key()
    path = tmp_path / "sub" / "master.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.master_key() == first  # read back, not generated again
    assert len(first) == 32


def test_production_refuses_to_run_without_a_master_key(settings, tmp_path):
    settings.BIZI_PRODUCTION = True
    settings.STORAGE_MASTER_KEY = ""
    settings.STORAGE_MASTER_KEY_FILE = str(tmp_path / "absent.key")
    with pytest.raises(ImproperlyConfigured, match="STORAGE_MASTER_KEY"):
        keys.master_key()
    assert not (tmp_path / "absent.key").exists()


def test_wrapped_keys_are_bound_to_their_object_and_master_key():
    import uuid

    master, data_key = os.urandom(32), os.urandom(32)
    one, two = uuid.uuid4(), uuid.uuid4()
    wrapped = crypto.wrap_key(data_key, master_key=master, object_id=one)
    assert crypto.unwrap_key(wrapped, master_key=master, object_id=one) == data_key
    with pytest.raises(crypto.UnwrapError):
        crypto.unwrap_key(wrapped, master_key=master, object_id=two)
    with pytest.raises(crypto.UnwrapError):
        crypto.unwrap_key(wrapped, master_key=os.urandom(32), object_id=one)


@pytest.mark.django_db
def test_rewrap_changes_every_wrapped_key_and_no_shard(nodes, settings, tmp_path):
    datas = [payload(n * PLAIN + 5, seed=n) for n in range(3)]
    objs = [put_bytes(d) for d in datas]
    before_keys = {o.pk: bytes(o.wrapped_key) for o in objs}
    before_files = {p: p.read_bytes() for p in files_under(tmp_path / "nodes")}
    new_key = os.urandom(32)

    assert keys_rewrap(new_key=new_key, batch=2) == 3

    for obj in StoredObject.objects.all():
        assert bytes(obj.wrapped_key) != before_keys[obj.pk]
        assert obj.master_key_id == crypto.key_id(new_key)
    assert {p: p.read_bytes() for p in files_under(tmp_path / "nodes")} == before_files
    # Under the old key alone the objects no longer open, with a message saying why.
    with pytest.raises(StorageError, match="neither STORAGE_MASTER_KEY nor listed"):
        read_back(objs[0].pk)
    settings.STORAGE_MASTER_KEY = new_key.hex()
    for obj, data in zip(objs, datas, strict=True):
        assert read_back(obj.pk) == data
    assert keys_rewrap(new_key=new_key) == 0  # already done: nothing to do
    assert StorageEvent.objects.filter(kind=StorageEvent.Kind.KEYS_REWRAPPED).count() == 2


@pytest.mark.django_db
def test_old_master_keys_still_open_objects_during_the_switch(nodes, settings):
    obj = put_bytes(b"before the switch")
    old = settings.STORAGE_MASTER_KEY
    settings.STORAGE_MASTER_KEY = os.urandom(32).hex()
    settings.STORAGE_OLD_MASTER_KEYS = [old]
    assert read_back(obj.pk) == b"before the switch"


@pytest.mark.django_db
def test_the_rewrap_command_takes_a_new_key_file(nodes, settings, tmp_path, capsys):
    obj = put_bytes(b"rewrap me")
    path = tmp_path / "new.key"
    with pytest.raises(CommandError, match="does not exist"):
        call_command("storage_rewrap", new_key_file=str(path))
    call_command("storage_rewrap", new_key_file=str(path), generate=True)
    out = capsys.readouterr().out
    assert "1 data keys re-wrapped" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    settings.STORAGE_MASTER_KEY_FILE = str(path)
    settings.STORAGE_MASTER_KEY = ""
    assert read_back(obj.pk) == b"rewrap me"
    with pytest.raises(CommandError, match="is the current"):
        call_command("storage_rewrap", new_key_file=str(path))
