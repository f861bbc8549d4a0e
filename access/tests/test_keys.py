"""Master-key rotation covers grants: `storage_rewrap` re-wraps their pseudonymization keys."""

import os

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from access.keys import grant_keys_rewrap
from access.models import Grant
from access.services import Approval
from access.tests.test_downloads import fetch
from storage.crypto import UnwrapError, key_id, unwrap_key, wrap_key
from storage.keys import keyring, master_key
from storage.models import StoredObject

pytestmark = pytest.mark.django_db

MASKED = Approval(columns=["loan_id", "customer"], masks={"customer": "pseudonymize"})


@pytest.fixture
def old_key(settings) -> bytes:  # type: ignore[no-untyped-def]
    key = os.urandom(32)
    settings.STORAGE_MASTER_KEY = key.hex()
    settings.STORAGE_OLD_MASTER_KEYS = []
    return key


def test_after_rotation_grants_keep_their_tokens_and_the_old_key_opens_nothing(
    cast, api, granted, settings, tmp_path, capsys, old_key
):
    grants = [granted(approval=MASKED), granted(approval=MASKED, user=cast.carol.user)]
    before = [fetch(api, cast.dave.user, grant)[1] for grant in grants]

    path = tmp_path / "new.key"
    call_command("storage_rewrap", new_key_file=str(path), generate=True)
    assert "2 data keys re-wrapped" in capsys.readouterr().out
    # The operator switches every process to the new key and drops the old one.
    settings.STORAGE_MASTER_KEY, settings.STORAGE_MASTER_KEY_FILE = "", str(path)

    after = [fetch(api, cast.dave.user, grant)[1] for grant in grants]
    assert after == before  # the same pseudonyms, byte for byte
    assert before[0] != before[1]  # and still one key per grant
    for grant in Grant.objects.all():
        with pytest.raises(UnwrapError):
            unwrap_key(bytes(grant.wrapped_key), master_key=old_key, object_id=grant.key_id)
    for obj in StoredObject.objects.all():
        with pytest.raises(UnwrapError):
            unwrap_key(bytes(obj.wrapped_key), master_key=old_key, object_id=obj.pk)

    # Rotate once more (the old key still listed as old, as during a switch-over).
    settings.STORAGE_OLD_MASTER_KEYS = [old_key.hex()]
    again = tmp_path / "newer.key"
    call_command("storage_rewrap", new_key_file=str(again), generate=True)
    assert "2 keys of other apps" in capsys.readouterr().out
    settings.STORAGE_MASTER_KEY_FILE = str(again)
    assert grant_keys_rewrap(keyring=keyring(), new_key=master_key()) == 0  # nothing left
    assert [fetch(api, cast.dave.user, grant)[1] for grant in grants] == before


def test_a_grant_key_no_master_key_opens_stops_the_whole_rotation(cast, granted, tmp_path, old_key):
    good, bad = granted(approval=MASKED), granted(approval=MASKED, user=cast.carol.user)
    stray = wrap_key(os.urandom(32), master_key=os.urandom(32), object_id=bad.key_id)
    Grant.objects.filter(pk=bad.pk).update(wrapped_key=stray)

    with pytest.raises(CommandError, match=f"grant #{bad.pk}"):
        call_command("storage_rewrap", new_key_file=str(tmp_path / "new.key"), generate=True)
    # One transaction: storage's data keys did not move either.
    assert set(StoredObject.objects.values_list("master_key_id", flat=True)) == {key_id(old_key)}
    good.refresh_from_db()
    unwrap_key(bytes(good.wrapped_key), master_key=old_key, object_id=good.key_id)
