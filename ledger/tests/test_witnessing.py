"""The portal sends checkpoints to real witness servers (C2SP tlog-witness over HTTP) and
serves the checkpoint with the cosignatures they return."""

from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse

from ledger.db_guard import guard_sql, unguard_sql
from ledger.keys import log_verifier
from ledger.models import Cosignature, Witness
from ledger.notes import (
    format_add_checkpoint,
    parse_note,
    parse_verifier_key,
    verify_note,
)
from ledger.services import append_all, seal_block_if_due
from ledger.witnessing import cosignature_submit, witness_all, witness_pending, witness_register
from portal.errors import DomainError
from portal.tests.factories import InstitutionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def witness(witness_service):
    service, url = witness_service
    return witness_register(
        institution=InstitutionFactory(slug="northbank"), name="", url=url, vkey=service.vkey
    )


def _seal(record_many, n, start=0):
    record_many(n, start=start)
    append_all()
    return seal_block_if_due(force=True)


def test_first_checkpoint_and_an_honest_extension_are_cosigned(record_many, witness):
    first = _seal(record_many, 5)
    assert witness_all(height=first.height) == {str(witness): "cosigned"}
    second = _seal(record_many, 9, start=5)
    assert witness_all(height=second.height) == {str(witness): "cosigned"}
    witness.refresh_from_db()
    assert witness.last_cosigned_size == 14 and witness.last_status == "cosigned"
    assert Cosignature.objects.filter(witness=witness).count() == 2


def test_checkpoint_is_served_with_cosignatures_that_verify(record_many, witness, client, cast):
    block = _seal(record_many, 3)
    witness_all(height=block.height)
    client.force_login(cast.aud)
    body = client.get(reverse("api-ledger-checkpoint")).content
    witness_key = parse_verifier_key(witness.vkey).for_cosignatures()
    verified = verify_note(parse_note(body), [log_verifier(), witness_key])
    assert {s.name for s in verified.verified} == {log_verifier().name, witness_key.name}


def test_a_witness_refuses_a_rewritten_history_and_the_portal_shows_why(record_many, witness):
    block = _seal(record_many, 4)
    assert witness_all(height=block.height)[str(witness)] == "cosigned"
    # Someone with database access rewrites the log behind the triggers and seals it again.
    with connection.cursor() as cursor:
        for statement in unguard_sql(connection.vendor):
            cursor.execute(statement)
        for table in ("ledger_cosignature", "ledger_block", "ledger_treenode", "ledger_entry"):
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        for statement in guard_sql(connection.vendor):
            cursor.execute(statement)
    forged = _seal(record_many, 6, start=100)
    outcome = witness_all(height=forged.height)
    assert outcome[str(witness)] == "refused (422)"
    witness.refresh_from_db()
    assert witness.last_cosigned_size == 4, "the witness still vouches only for the honest tree"
    assert (witness.last_status, witness.last_status_code) == ("refused", 422)
    assert "consistency proof" in witness.last_reason
    assert not Cosignature.objects.exists()


def test_an_unreachable_witness_is_recorded_not_fatal(record_many, witness):
    Witness.objects.filter(pk=witness.pk).update(url="http://127.0.0.1:9")
    block = _seal(record_many, 2)
    outcome = witness_all(height=block.height)
    assert outcome[str(witness)] == "unreachable"
    witness.refresh_from_db()
    assert witness.last_status == "unreachable" and witness.last_reason


def test_beat_sends_the_newest_checkpoint_to_a_witness_its_own_send_missed(
    record_many, witness, settings
):
    block = _seal(record_many, 4)  # its own send: lost with the broker
    assert witness_pending() == {}, "sealed just now: its own send may still be on its way"
    later = block.sealed_at + timedelta(seconds=settings.LEDGER_WITNESS_DEADLINE_SECONDS + 1)
    assert witness_pending(now=later) == {str(witness): "cosigned"}
    assert witness_pending(now=later) == {}, "cosigned: nothing more to send"


def test_beat_leaves_a_failing_witness_to_its_backoff(record_many, witness, settings):
    Witness.objects.filter(pk=witness.pk).update(url="http://127.0.0.1:9")
    block = _seal(record_many, 2)
    later = block.sealed_at + timedelta(seconds=settings.LEDGER_WITNESS_DEADLINE_SECONDS + 1)
    assert witness_pending(now=later) == {str(witness): "unreachable"}
    assert witness_pending(now=later) == {}, "backing off: not asked again yet"


def test_a_witness_may_push_its_cosignature(record_many, witness_service, tmp_path):
    service, _url = witness_service
    witness = witness_register(
        institution=InstitutionFactory(), name="", url="http://127.0.0.1:9", vkey=service.vkey
    )
    block = _seal(record_many, 3)
    status, _, reply = service.add_checkpoint(
        format_add_checkpoint(0, [], block.checkpoint.encode())
    )
    assert status == 200
    cosignature = cosignature_submit(tree_size=3, line=reply.decode().strip())
    assert cosignature.witness == witness
    with pytest.raises(DomainError, match="No block"):
        cosignature_submit(tree_size=99, line=reply.decode().strip())


def test_registering_a_bad_key_is_refused():
    with pytest.raises(DomainError, match="not a verifier key"):
        witness_register(
            institution=InstitutionFactory(), name="x", url="http://127.0.0.1:1", vkey="nonsense"
        )
