"""tlog-proof receipts: a grant's approval and a download, provable years later offline."""

import base64
import json
import subprocess

import pytest
from django.db import transaction
from django.urls import reverse

from access.tests.test_downloads import fetch
from ledger import merkle
from ledger.keys import log_verifier
from ledger.models import Cosignature, Witness
from ledger.notes import open_checkpoint
from ledger.services import append_all, seal_block_if_due
from portal.tests.factories import InstitutionFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _receipt(api, user, url):  # type: ignore[no-untyped-def]
    api.force_authenticate(user)
    return api.get(url)


def _parse(text: str):  # type: ignore[no-untyped-def]
    head, checkpoint = text.split("\n\n", 1)
    lines = head.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    entry = base64.b64decode(lines[1].removeprefix("extra "))
    index = int(lines[2].removeprefix("index "))
    return entry, index, [base64.b64decode(h) for h in lines[3:]], checkpoint


def test_a_grant_and_a_download_each_have_a_receipt_that_verifies(api, cast, granted):
    grant = granted()
    response, _ = fetch(api, cast.dave.user, grant)
    assert response.status_code == 200
    grant_url = reverse("api-grant-receipt", args=[grant.pk])
    # Not in a sealed block yet: a clear answer, not a broken proof.
    early = _receipt(api, cast.dave.user, grant_url)
    assert early.status_code == 404 and "sealed block" in early.json()["detail"]
    append_all()
    seal_block_if_due(force=True)
    download = grant.downloads.get()
    for url, kind in (
        (grant_url, "access.approved"),
        (reverse("api-download-receipt", args=[grant.pk, download.pk]), "data.downloaded"),
    ):
        response = _receipt(api, cast.dave.user, url)
        assert response.status_code == 200
        assert response["Content-Disposition"].endswith('.tlog-proof"')
        entry, index, proof, checkpoint_text = _parse(response.content.decode())
        assert json.loads(entry)["kind"] == kind
        checkpoint, _ = open_checkpoint(checkpoint_text.encode(), [log_verifier()])
        merkle.verify_inclusion(
            merkle.leaf_hash(entry), index, checkpoint.size, proof, checkpoint.root_hash
        )
    # The owner's steward may fetch them too; a third institution may not.
    assert _receipt(api, cast.alice.user, grant_url).status_code == 200
    gus = MembershipFactory(institution=InstitutionFactory(slug="gamma")).user
    assert _receipt(api, gus, grant_url).status_code == 404
    other = reverse("api-download-receipt", args=[grant.pk, download.pk + 99])
    assert _receipt(api, cast.dave.user, other).status_code == 404


@pytest.mark.golang
def test_the_go_client_checks_a_receipt_offline(api, cast, granted, tlog_client, tmp_path):
    grant = granted()
    append_all()
    seal_block_if_due(force=True)
    text = _receipt(api, cast.dave.user, reverse("api-grant-receipt", args=[grant.pk])).content
    good = tmp_path / "grant.tlog-proof"
    good.write_bytes(text)
    vkey = log_verifier().to_vkey()
    ok = subprocess.run(  # noqa: S603 - our test program
        [str(tlog_client), "-vkey", vkey, "-receipt", str(good)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK: receipt proves entry" in ok.stdout
    entry, *_ = _parse(text.decode())
    forged = text.replace(
        base64.b64encode(entry), base64.b64encode(entry.replace(b"beta", b"gama"))
    )
    bad = tmp_path / "forged.tlog-proof"
    bad.write_bytes(forged)
    refused = subprocess.run(  # noqa: S603 - our test program
        [str(tlog_client), "-vkey", vkey, "-receipt", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1 and "FAILED" in refused.stdout


def test_the_policy_names_the_log_the_witnesses_by_institution_and_the_quorum(api, cast, settings):
    api.force_authenticate(cast.aud)
    url = reverse("api-ledger-policy")
    vkey = log_verifier().to_vkey()
    lines = api.get(url).content.decode().splitlines()
    assert f"log {vkey} http://testserver/api/v1/ledger/tlog/" in lines
    assert lines[-1] == "quorum none"  # no witness registered yet
    for n, institution in enumerate((cast.acme, cast.acme, cast.beta)):
        Witness.objects.create(
            institution=institution,
            name=f"w{n}.example",
            url=f"https://w{n}.example/",
            vkey=f"w{n}.example+0000000{n}+AAAA",
        )
    settings.LEDGER_WITNESS_QUORUM = 2
    text = api.get(url).content.decode()
    ids = list(Witness.objects.order_by("pk").values_list("pk", flat=True))
    assert f"group acme any acme-{ids[0]} acme-{ids[1]}" in text
    assert f"group beta any beta-{ids[2]}" in text
    assert text.endswith("group institutions 2 acme beta\nquorum institutions\n")
    settings.LEDGER_WITNESS_QUORUM = 5  # more than there are institutions: all of them
    assert "group institutions 2 acme beta" in api.get(url).content.decode()
    assert Cosignature.objects.count() == 0


def test_the_ledger_page_says_whether_the_latest_checkpoint_meets_the_quorum(client, cast):
    from ledger.models import Block
    from ledger.services import record_event

    with transaction.atomic():
        record_event("dataset.published", None, {"dataset": "x"})
    append_all()
    seal_block_if_due(force=True)
    client.force_login(cast.aud)
    page = client.get(reverse("ledger")).content.decode()
    assert "none required" in page  # no witness registered yet
    witness = Witness.objects.create(
        institution=cast.beta, name="w.beta.example", url="https://w.example/", vkey="w+00+AA"
    )
    page = client.get(reverse("ledger")).content.decode()
    assert "not met" in page and "0 of the 1 institution" in page
    Cosignature.objects.create(
        block=Block.objects.order_by("-height").first(),
        witness=witness,
        # Well formed (key id, timestamp, signature); the page does not verify it.
        signature_line="— w.beta.example " + base64.b64encode(bytes(76)).decode(),
        timestamp=1,
    )
    page = client.get(reverse("ledger")).content.decode()
    assert '<span class="ok">met</span>' in page and "(beta)" in page
