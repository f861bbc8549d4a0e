"""The ledger's public API, checked the way an auditor's machine would check it."""

import base64
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from consortium.services import api_token_issue
from ledger import merkle
from ledger.keys import log_verifier
from ledger.notes import open_checkpoint
from ledger.services import append_all, seal_block_if_due
from portal.tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


@pytest.fixture
def log_of_40(seal_blocks):  # type: ignore[no-untyped-def]
    seal_blocks(25, 15)


def test_public_key_is_a_note_verifier_key_named_after_the_origin(client, settings):
    body = client.get(reverse("api-ledger-public-key")).content.decode().strip()
    assert body == log_verifier().to_vkey()
    assert body.startswith(settings.LEDGER_ORIGIN + "+")


def test_entries_carry_their_exact_bytes(api, cast, log_of_40):
    api.force_authenticate(cast.aud)
    body = api.get(reverse("api-ledger-entries"), {"start": 10, "end": 20}).json()
    assert body["tree_size"] == 40
    assert [e["index"] for e in body["entries"]] == list(range(10, 20))
    for e in body["entries"]:
        data = base64.b64decode(e["data"])
        assert merkle.leaf_hash(data).hex() == e["leaf_hash"]
        assert e["entry"]["subject"]["n"] == e["index"]


def test_inclusion_and_consistency_proofs_verify_against_the_checkpoint(api, cast, log_of_40):
    api.force_authenticate(cast.bob.user)
    checkpoint_text = api.get(reverse("api-ledger-checkpoint")).content
    checkpoint, _ = open_checkpoint(checkpoint_text, [log_verifier()])
    assert checkpoint.size == 40
    for index in (0, 17, 39):
        proof = api.get(reverse("api-ledger-inclusion"), {"index": index, "tree_size": 40}).json()
        merkle.verify_inclusion(
            base64.b64decode(proof["leaf_hash"]),
            index,
            40,
            [base64.b64decode(h) for h in proof["hashes"]],
            checkpoint.root_hash,
        )
    block_0 = api.get(reverse("api-ledger-blocks")).json()["results"][-1]
    proof = api.get(reverse("api-ledger-consistency"), {"first": 25, "second": 40}).json()
    merkle.verify_consistency(
        25,
        40,
        [base64.b64decode(h) for h in proof["hashes"]],
        base64.b64decode(block_0["root_hash"]),
        checkpoint.root_hash,
    )


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("api-ledger-inclusion", {"index": 40, "tree_size": 40}, "index"),
        ("api-ledger-inclusion", {"index": 0, "tree_size": 41}, "tree_size"),
        ("api-ledger-inclusion", {"index": "x", "tree_size": 4}, "index"),
        ("api-ledger-consistency", {"first": 30, "second": 20}, "first"),
        ("api-ledger-consistency", {"second": 20}, "first"),
        ("api-ledger-entries", {"start": 5, "end": 2}, "end"),
        ("api-ledger-entries", {"start": -1, "end": 2}, "start"),
    ],
)
def test_bad_proof_parameters_answer_400_naming_the_field(api, cast, log_of_40, url, params, field):
    api.force_authenticate(cast.aud)
    response = api.get(reverse(url), params)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_outsiders_cannot_read_the_ledger(api, log_of_40):
    assert api.get(reverse("api-ledger-entries"), {"start": 0, "end": 1}).status_code == 401
    api.force_authenticate(UserFactory())  # signed in, but in no institution or role
    response = api.get(reverse("api-ledger-entries"), {"start": 0, "end": 1})
    assert response.status_code == 403


def test_nobody_can_write_through_the_read_endpoints(api, cast, log_of_40):
    api.force_authenticate(cast.mo)
    assert api.post(reverse("api-ledger-entries"), {}).status_code == 405
    assert api.delete(reverse("api-ledger-blocks")).status_code == 405


@pytest.mark.django_db(transaction=True)
def test_the_standalone_verifier_checks_the_live_portal(live_server, record_many, tmp_path, cast):
    record_many(30)
    append_all()
    seal_block_if_due(force=True)
    _, token = api_token_issue(user=cast.aud)
    state = tmp_path / "state.json"

    def verify():  # type: ignore[no-untyped-def]
        return subprocess.run(  # noqa: S603 - the project's own verifier
            [
                sys.executable,
                "tools/bizi_verify.py",
                "--url",
                live_server.url,
                "--token",
                token,
                "--state",
                str(state),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    first = verify()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "OK: verified 30 entries" in first.stdout
    record_many(12, start=30)
    append_all()
    seal_block_if_due(force=True)
    second = verify()  # now also checks consistency with the state saved by the first run
    assert second.returncode == 0, second.stdout + second.stderr
    assert "OK: verified 42 entries" in second.stdout
