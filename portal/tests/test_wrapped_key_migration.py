"""A database from before the wrapped-key table (issue 15) migrates with every key intact.

A listing and a masked grant are made with today's code and downloaded. The database is then
taken back to storage 0002 and access 0001, where each stored object and each grant holds its
own wrapped key; there, through the models as they were, every key is wrapped again the way
the old code wrapped it, and one more object and one more grant are made as the old code made
them. Migrated forward again, every key opens to the same bytes, the download is byte for byte
the same, the new grant pseudonymizes under its own key, and a rotation still covers them all.
Runs on SQLite and, with DATABASE_URL set, on PostgreSQL.

The old wrapping is written out here rather than imported from `storage.crypto`: it is the
format of rows already in databases, so this test holds it fixed.
"""

import hashlib
import hmac
import os
import uuid

import pytest
from Crypto.Cipher import AES
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import StateApps

from access.models import Grant
from access.services import Approval
from access.tests.conftest import ask, granted, listing  # noqa: F401
from access.tests.test_downloads import fetch, rows_of
from storage.models import StoredObject, WrappedKey
from storage.services import key_unwrap

BEFORE_THE_TABLE = [("storage", "0002_table1run_progress"), ("access", "0001_moved_from_portal")]
MASKED = Approval(columns=["loan_id", "customer"], masks={"customer": "pseudonymize"})


# --- The wrapping as the old code did it (storage.crypto v1) ---------------------------------


def old_wrap(key: bytes, *, master: bytes, bound_to: uuid.UUID) -> bytes:
    nonce = os.urandom(12)
    cipher = AES.new(master, AES.MODE_GCM, nonce=nonce)
    cipher.update(b"bizi-storage wrap v1" + bound_to.bytes)
    ciphertext, tag = cipher.encrypt_and_digest(key)
    return nonce + ciphertext + tag


def old_unwrap(wrapped: bytes, *, master: bytes, bound_to: uuid.UUID) -> bytes:
    cipher = AES.new(master, AES.MODE_GCM, nonce=wrapped[:12])
    cipher.update(b"bizi-storage wrap v1" + bound_to.bytes)
    return cipher.decrypt_and_verify(wrapped[12:44], wrapped[44:])


def old_key_id(master: bytes) -> str:
    return hashlib.sha256(b"bizi-storage master key id v1" + master).hexdigest()[:16]


def token(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:16]


def _migrate(targets: list[tuple[str, str]]) -> StateApps:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_keys_of_objects_and_grants_move_into_the_table(
    cast,
    api,
    granted,  # noqa: F811 - the fixture imported above
    settings,
    tmp_path,
    capsys,
):
    master, previous = os.urandom(32), os.urandom(32)
    settings.STORAGE_MASTER_KEY = master.hex()
    settings.STORAGE_OLD_MASTER_KEYS = []
    grant = granted(approval=MASKED)
    before = fetch(api, cast.dave.user, grant)[1]
    inside = {row.pk: key_unwrap(row) for row in WrappedKey.objects.all()}
    objects = set(StoredObject.objects.values_list("pk", flat=True))
    assert objects and set(inside) == objects | {grant.wrapped_key_id}

    old = _migrate(BEFORE_THE_TABLE)
    try:
        # The way back put every key where the old code kept it, still opening to the same key.
        OldObject = old.get_model("storage", "StoredObject")
        OldGrant = old.get_model("access", "Grant")
        for obj in OldObject.objects.all():
            assert obj.master_key_id == old_key_id(master)
            wrapped = bytes(obj.wrapped_key)
            assert old_unwrap(wrapped, master=master, bound_to=obj.pk) == inside[obj.pk]
            obj.wrapped_key = old_wrap(inside[obj.pk], master=master, bound_to=obj.pk)
            obj.save(update_fields=["wrapped_key"])
        was = OldGrant.objects.get(pk=grant.pk)
        assert was.key_id == grant.wrapped_key_id
        assert (
            old_unwrap(bytes(was.wrapped_key), master=master, bound_to=was.key_id)
            == (inside[was.key_id])
        )
        was.wrapped_key = old_wrap(inside[was.key_id], master=master, bound_to=was.key_id)
        was.save(update_fields=["wrapped_key"])

        # One more object (empty: no stripes) and one more grant, made as the old code made
        # them; the grant under a master key that is an old one by the time it is read.
        empty_key, empty_id = os.urandom(32), uuid.uuid4()
        OldObject.objects.create(
            id=empty_id,
            cid="bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
            size=0,
            stored_size=0,
            k=4,
            m=2,
            stripe_size=1024,
            wrapped_key=old_wrap(empty_key, master=master, bound_to=empty_id),
            master_key_id=old_key_id(master),
        )
        OldRequest = old.get_model("access", "AccessRequest")
        request = OldRequest.objects.get(pk=grant.request_id)
        request.pk = None
        request.institution_id = cast.acme.pk  # the owner's own staff ask too
        request.requested_by_id = cast.bob.user.pk
        request.save()
        second_key = os.urandom(32)
        second = OldGrant.objects.create(
            request=request,
            version_id=was.version_id,
            institution_id=cast.acme.pk,
            columns=was.columns,
            filter=was.filter,
            masks=was.masks,
            key_id=uuid.uuid4(),
            granted_by_id=was.granted_by_id,
            expires_at=was.expires_at,
        )
        second.wrapped_key = old_wrap(second_key, master=previous, bound_to=second.key_id)
        second.save(update_fields=["wrapped_key"])
        second_pk, second_key_id = second.pk, second.key_id
    finally:
        # Forward again whatever happened, so later tests find the schema they expect.
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())

    settings.STORAGE_OLD_MASTER_KEYS = [previous.hex()]
    for obj in StoredObject.objects.select_related("wrapped_key"):
        row = obj.wrapped_key
        assert (row.pk, row.purpose, row.master_key_id) == (obj.pk, "object", old_key_id(master))
        assert key_unwrap(row) == (empty_key if obj.pk == empty_id else inside[obj.pk])
    moved = Grant.objects.select_related("wrapped_key").get(pk=grant.pk)
    assert (moved.wrapped_key_id, moved.wrapped_key.purpose) == (grant.wrapped_key_id, "grant")
    assert moved.wrapped_key.master_key_id == ""  # grants never recorded it
    assert key_unwrap(moved.wrapped_key) == inside[grant.wrapped_key_id]
    assert fetch(api, cast.dave.user, moved)[1] == before  # decrypted and masked as before

    made_old = Grant.objects.get(pk=second_pk)
    assert made_old.wrapped_key_id == second_key_id
    assert key_unwrap(made_old.wrapped_key) == second_key
    response, body = fetch(api, cast.bob.user, made_old)
    assert response.status_code == 200, response.content
    assert [r["customer"] for r in rows_of(body)] == [
        token(second_key, name) for name in ["Ann Smith", "Bob Jones", "Carl Berg", "Ann Smith"]
    ]

    # A rotation covers the migrated rows too, and gives the grants' keys their master key id.
    new = tmp_path / "new.key"
    call_command("storage_rewrap", new_key_file=str(new), generate=True)
    assert f"(2 grant, {len(objects) + 1} object)" in capsys.readouterr().out
    settings.STORAGE_MASTER_KEY, settings.STORAGE_MASTER_KEY_FILE = "", str(new)
    settings.STORAGE_OLD_MASTER_KEYS = []
    assert not WrappedKey.objects.filter(master_key_id="").exists()
    assert fetch(api, cast.dave.user, moved)[1] == before
    assert key_unwrap(Grant.objects.get(pk=second_pk).wrapped_key) == second_key
