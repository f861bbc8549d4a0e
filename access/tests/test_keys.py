"""Master-key rotation covers grants: their pseudonymization keys are rows of storage's one
table of wrapped keys, which `storage_rewrap` re-wraps together with the objects' data keys."""

import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from access.models import Grant
from access.services import Approval, grant_key
from access.tests.test_downloads import fetch
from portal.errors import DomainError
from storage.models import StoredObject, WrappedKey
from storage.services import StorageError, key_unwrap, keys_rewrap

pytestmark = pytest.mark.django_db

MASKED = Approval(columns=["loan_id", "customer"], masks={"customer": "pseudonymize"})


@pytest.fixture
def old_key(settings) -> bytes:
    key = os.urandom(32)
    settings.STORAGE_MASTER_KEY = key.hex()
    settings.STORAGE_OLD_MASTER_KEYS = []
    return key


def test_a_grant_keeps_its_key_wrapped_in_storage(granted, old_key):
    grant = granted(approval=MASKED)
    row = WrappedKey.objects.get(pk=grant.wrapped_key_id)
    assert row.purpose == "grant" and row.master_key_id
    assert len(grant_key(grant)) == 32 and grant_key(grant) not in bytes(row.wrapped)
    other = granted(approval=MASKED, user=grant.request.requested_by)
    assert grant_key(other) != grant_key(grant)  # one key per grant


def test_after_rotation_grants_keep_their_tokens_and_the_old_key_opens_nothing(
    cast, api, granted, settings, tmp_path, capsys, old_key
):
    grants = [granted(approval=MASKED), granted(approval=MASKED, user=cast.carol.user)]
    before = [fetch(api, cast.dave.user, grant)[1] for grant in grants]
    objects = StoredObject.objects.count()

    new_key = os.urandom(32)
    path = tmp_path / "new.key"
    path.write_text(new_key.hex())
    call_command("storage_rewrap", new_key_file=str(path))
    # One run over the one table: the grants' keys and the objects' data keys.
    out = capsys.readouterr().out
    assert f"{objects + 2} keys re-wrapped" in out and f"(2 grant, {objects} object)" in out
    # The operator switches every process to the new key and drops the old one.
    settings.STORAGE_MASTER_KEY, settings.STORAGE_MASTER_KEY_FILE = "", str(path)

    after = [fetch(api, cast.dave.user, grant)[1] for grant in grants]
    assert after == before  # the same pseudonyms, byte for byte
    assert before[0] != before[1]  # and still one key per grant
    assert keys_rewrap(new_key=new_key) == {}  # a second run finds nothing to do

    # With only the old master key configured, nothing opens any more.
    settings.STORAGE_MASTER_KEY = old_key.hex()
    for row in WrappedKey.objects.all():
        with pytest.raises(StorageError, match="neither STORAGE_MASTER_KEY nor listed"):
            key_unwrap(row)

    # Rotate once more (the old key still listed as old, as during a switch-over).
    settings.STORAGE_MASTER_KEY = ""
    settings.STORAGE_OLD_MASTER_KEYS = [old_key.hex()]
    again = tmp_path / "newer.key"
    call_command("storage_rewrap", new_key_file=str(again), generate=True)
    assert "(2 grant," in capsys.readouterr().out
    settings.STORAGE_MASTER_KEY_FILE = str(again)
    assert [fetch(api, cast.dave.user, grant)[1] for grant in grants] == before


def test_a_grant_key_that_does_not_open_stops_the_rotation_and_its_downloads(
    cast, api, granted, tmp_path, old_key
):
    good, bad = granted(approval=MASKED), granted(approval=MASKED, user=cast.carol.user)
    # Another row's bytes: they are bound to that row and do not open here.
    WrappedKey.objects.filter(pk=bad.wrapped_key_id).update(wrapped=good.wrapped_key.wrapped)

    with pytest.raises(CommandError, match=str(bad.wrapped_key_id)):
        call_command("storage_rewrap", new_key_file=str(tmp_path / "new.key"), generate=True)
    response, _ = fetch(api, cast.dave.user, Grant.objects.get(pk=bad.pk))
    assert response.status_code == 400
    assert "key cannot be read" in response.content.decode()
    with pytest.raises(DomainError):
        grant_key(Grant.objects.get(pk=bad.pk))
    assert fetch(api, cast.dave.user, good)[0].status_code == 200
