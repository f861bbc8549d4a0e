"""The master key: from the environment or a generated 0600 file, required in production.
The table of wrapped keys: `key_wrap` / `key_unwrap` round trips, refuses what was altered, and
`keys_rewrap` moves every row to a new master key without touching a shard."""

from __future__ import annotations

import base64
import os
import stat
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import CommandError

from storage import crypto, keys
from storage.models import StorageEvent, StoredObject, WrappedKey
from storage.services import StorageError, key_unwrap, key_wrap, keys_rewrap, object_delete
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
    master, data_key = os.urandom(32), os.urandom(32)
    one, two = uuid.uuid4(), uuid.uuid4()
    wrapped = crypto.wrap_key(data_key, master_key=master, object_id=one)
    assert crypto.unwrap_key(wrapped, master_key=master, object_id=one) == data_key
    with pytest.raises(crypto.UnwrapError):
        crypto.unwrap_key(wrapped, master_key=master, object_id=two)
    with pytest.raises(crypto.UnwrapError):
        crypto.unwrap_key(wrapped, master_key=os.urandom(32), object_id=one)


@pytest.mark.django_db
def test_a_wrapped_key_round_trips_and_names_its_master_key(settings):
    key = os.urandom(32)
    row = key_wrap(key, purpose="grant")
    row = WrappedKey.objects.get(pk=row.pk)  # as stored
    assert row.purpose == "grant"
    assert row.master_key_id == crypto.key_id(keys.master_key())
    assert len(bytes(row.wrapped)) == crypto.WRAPPED_SIZE and key not in bytes(row.wrapped)
    assert key_unwrap(row) == key
    # Wrapping the same key again gives other bytes (a fresh nonce) that open to it too.
    again = key_wrap(key, purpose="grant")
    assert bytes(again.wrapped) != bytes(row.wrapped) and key_unwrap(again) == key


@pytest.mark.django_db
def test_key_wrap_takes_only_32_byte_keys_and_slug_purposes():
    with pytest.raises(ValueError, match="32 bytes"):
        key_wrap(os.urandom(16), purpose="grant")
    with pytest.raises(ValueError, match="slug"):
        key_wrap(os.urandom(32), purpose="Grant keys")
    assert not WrappedKey.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("offset", [0, 11, 12, 43, 44, 59])  # nonce, ciphertext, tag
def test_a_tampered_wrapped_key_is_refused(offset):
    row = key_wrap(os.urandom(32), purpose="grant")
    altered = bytearray(row.wrapped)
    altered[offset] ^= 0x01
    WrappedKey.objects.filter(pk=row.pk).update(wrapped=bytes(altered))
    with pytest.raises(StorageError, match="does not unwrap") as caught:
        key_unwrap(WrappedKey.objects.get(pk=row.pk))
    assert caught.value.code == "key_unavailable"


@pytest.mark.django_db
def test_wrapped_bytes_copied_onto_another_row_do_not_open_there():
    one, two = key_wrap(os.urandom(32), purpose="grant"), key_wrap(os.urandom(32), purpose="grant")
    WrappedKey.objects.filter(pk=two.pk).update(wrapped=one.wrapped)
    with pytest.raises(StorageError, match="does not unwrap"):
        key_unwrap(WrappedKey.objects.get(pk=two.pk))
    # A row cut short, or emptied, is refused the same way.
    WrappedKey.objects.filter(pk=two.pk).update(wrapped=bytes(one.wrapped)[:-1])
    with pytest.raises(StorageError, match="does not unwrap"):
        key_unwrap(WrappedKey.objects.get(pk=two.pk))


@pytest.mark.django_db
def test_a_key_under_a_master_key_no_longer_configured_says_which(settings):
    row = key_wrap(os.urandom(32), purpose="object")
    settings.STORAGE_MASTER_KEY = os.urandom(32).hex()
    with pytest.raises(StorageError, match=f"under master key {row.master_key_id}, which is"):
        key_unwrap(row)


@pytest.mark.django_db
def test_a_key_with_no_recorded_master_key_opens_under_any_configured_one(settings):
    """Grant keys from before the table (access 0002) carry no master key id."""
    old = bytes.fromhex(settings.STORAGE_MASTER_KEY)
    key, pk = os.urandom(32), uuid.uuid4()
    row = WrappedKey.objects.create(
        id=pk, purpose="grant", wrapped=crypto.wrap_key(key, master_key=old, object_id=pk)
    )
    assert row.master_key_id == ""
    settings.STORAGE_MASTER_KEY = os.urandom(32).hex()
    settings.STORAGE_OLD_MASTER_KEYS = [old.hex()]
    assert key_unwrap(row) == key
    settings.STORAGE_OLD_MASTER_KEYS = []
    with pytest.raises(StorageError, match="does not unwrap"):
        key_unwrap(row)


@pytest.mark.django_db
def test_an_objects_key_row_has_its_id_and_goes_with_it(nodes):
    obj = put_bytes(b"delete me")
    assert obj.wrapped_key_id == obj.pk and obj.wrapped_key.purpose == "object"
    object_delete(obj.pk)
    assert not WrappedKey.objects.filter(pk=obj.pk).exists()


@pytest.mark.django_db
def test_rewrap_changes_every_wrapped_key_and_no_shard(nodes, settings, tmp_path):
    datas = [payload(n * PLAIN + 5, seed=n) for n in range(3)]
    objs = [put_bytes(d) for d in datas]
    grant_key = os.urandom(32)
    grant_row = key_wrap(grant_key, purpose="grant")
    before = {row.pk: bytes(row.wrapped) for row in WrappedKey.objects.all()}
    data_keys = {obj.pk: key_unwrap(obj.wrapped_key) for obj in objs}
    before_files = {p: p.read_bytes() for p in files_under(tmp_path / "nodes")}
    new_key = os.urandom(32)
    seen: list[tuple[int, int]] = []

    counts = keys_rewrap(new_key=new_key, batch=2, progress=lambda *p: seen.append(p))

    assert counts == {"object": 3, "grant": 1} and seen == [(2, 4), (4, 4)]
    for row in WrappedKey.objects.all():
        assert bytes(row.wrapped) != before[row.pk]
        assert row.master_key_id == crypto.key_id(new_key) and row.rewrapped_at is not None
    assert {p: p.read_bytes() for p in files_under(tmp_path / "nodes")} == before_files
    # Under the old key alone the objects no longer open, with a message saying why.
    with pytest.raises(StorageError, match="neither STORAGE_MASTER_KEY nor listed"):
        read_back(objs[0].pk)
    # The operator switches to the new key and drops the old one.
    settings.STORAGE_MASTER_KEY = new_key.hex()
    for obj, data in zip(objs, datas, strict=True):
        assert read_back(obj.pk) == data
        assert key_unwrap(StoredObject.objects.get(pk=obj.pk).wrapped_key) == data_keys[obj.pk]
    assert key_unwrap(WrappedKey.objects.get(pk=grant_row.pk)) == grant_key
    assert keys_rewrap(new_key=new_key) == {}  # already done: nothing to do
    assert StorageEvent.objects.filter(kind=StorageEvent.Kind.KEYS_REWRAPPED).count() == 2


@pytest.mark.django_db
def test_an_interrupted_rewrap_is_finished_by_running_it_again(settings):
    rows = [key_wrap(os.urandom(32), purpose="grant") for _ in range(5)]
    inside = {row.pk: key_unwrap(row) for row in rows}
    new_key = os.urandom(32)

    def stop_after_the_first_batch(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        keys_rewrap(new_key=new_key, batch=2, progress=stop_after_the_first_batch)
    moved = WrappedKey.objects.filter(master_key_id=crypto.key_id(new_key))
    assert moved.count() == 2  # the first batch committed
    # Meanwhile both master keys open what they hold (the new one listed as old, as during a
    # switch-over), and the second run does the rest and nothing twice.
    settings.STORAGE_OLD_MASTER_KEYS = [new_key.hex()]
    assert {row.pk: key_unwrap(row) for row in WrappedKey.objects.all()} == inside
    assert keys_rewrap(new_key=new_key) == {"grant": 3}
    settings.STORAGE_MASTER_KEY, settings.STORAGE_OLD_MASTER_KEYS = new_key.hex(), []
    assert {row.pk: key_unwrap(row) for row in WrappedKey.objects.all()} == inside


@pytest.mark.django_db
def test_rewrap_refuses_to_start_while_a_master_key_is_missing(settings):
    first = settings.STORAGE_MASTER_KEY
    kept = key_wrap(os.urandom(32), purpose="grant")
    settings.STORAGE_MASTER_KEY = os.urandom(32).hex()
    forgotten = key_wrap(os.urandom(32), purpose="object")
    # A third key is current; the first is listed as old, the second forgotten.
    settings.STORAGE_MASTER_KEY = os.urandom(32).hex()
    settings.STORAGE_OLD_MASTER_KEYS = [first]
    with pytest.raises(StorageError, match="nothing was re-wrapped") as caught:
        keys_rewrap(new_key=os.urandom(32))
    assert forgotten.master_key_id in caught.value.message
    assert kept.master_key_id not in caught.value.message
    assert {r.pk: bytes(r.wrapped) for r in WrappedKey.objects.all()} == {
        kept.pk: bytes(kept.wrapped),
        forgotten.pk: bytes(forgotten.wrapped),
    }


@pytest.mark.django_db
def test_a_row_that_does_not_open_stops_the_rewrap_and_is_named():
    good = key_wrap(os.urandom(32), purpose="grant")
    bad = key_wrap(os.urandom(32), purpose="grant")
    WrappedKey.objects.filter(pk=bad.pk).update(wrapped=bytes(60))
    with pytest.raises(StorageError, match=str(bad.pk)):
        keys_rewrap(new_key=os.urandom(32), batch=10)
    # Its batch rolled back: the good key is still under the current master key.
    assert WrappedKey.objects.get(pk=good.pk).master_key_id == good.master_key_id


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
    assert "1 keys re-wrapped" in out and "(1 object)" in out
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    settings.STORAGE_MASTER_KEY_FILE = str(path)
    settings.STORAGE_MASTER_KEY = ""
    assert read_back(obj.pk) == b"rewrap me"
    with pytest.raises(CommandError, match="is the current"):
        call_command("storage_rewrap", new_key_file=str(path))
