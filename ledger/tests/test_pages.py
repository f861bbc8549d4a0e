import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from playwright.sync_api import expect

from conftest import sign_in
from ledger.services import append_all, seal_block_if_due
from ledger.verification import verify_ledger
from portal.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed(record_many):
    record_many(12)
    append_all()
    seal_block_if_due(force=True)
    verify_ledger()


@pytest.mark.parametrize("persona", ["alice", "dave", "mo", "meg", "aud"])
def test_every_participant_reads_every_ledger_page(client, cast, sealed, persona):
    user = getattr(cast, persona)
    client.force_login(getattr(user, "user", user))
    overview = client.get(reverse("ledger"))
    assert overview.status_code == 200
    assert b"passed" in overview.content and b"bizi-block 0" in overview.content
    assert client.get(reverse("ledger-block", args=[0])).status_code == 200
    entry = client.get(reverse("ledger-entry", args=[5]))
    assert entry.status_code == 200 and b"Check the proof in this browser" in entry.content
    history = client.get(reverse("ledger-dataset", args=["ds-5"]))
    assert history.status_code == 200 and b'href="/ledger/entries/5/"' in history.content


def test_outsiders_are_refused_and_missing_objects_are_404(client, cast, sealed):
    client.force_login(UserFactory())
    assert client.get(reverse("ledger")).status_code == 403
    client.force_login(cast.aud)
    assert client.get(reverse("ledger-block", args=[7])).status_code == 404
    assert client.get(reverse("ledger-entry", args=[999])).status_code == 404


def test_overview_query_count_does_not_grow_with_blocks(client, cast, record_many):
    client.force_login(cast.aud)
    record_many(3)
    append_all()
    seal_block_if_due(force=True)
    client.get(reverse("ledger"))  # as in a session under way: the user is cached
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("ledger"))
    for start in range(3, 40, 3):
        record_many(3, start=start)
        append_all()
        seal_block_if_due(force=True)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("ledger"))
    assert len(many) == len(few)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_auditor_checks_an_inclusion_proof_in_the_browser(new_page, record_many):
    UserFactory(username="auditor")
    from django.contrib.auth import get_user_model

    from consortium.models import ConsortiumRole

    ConsortiumRole.objects.create(
        user=get_user_model().objects.get(username="auditor"), role="auditor"
    )
    record_many(21)
    append_all()
    seal_block_if_due(force=True)

    page = new_page()
    sign_in(page, "auditor", PASSWORD)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Ledger").click()
    expect(page.get_by_test_id("tree-size")).to_have_text("21")
    page.get_by_role("link", name="0", exact=True).click()
    page.get_by_role("link", name="13", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Entry 13: dataset.published")
    page.get_by_role("button", name="Check the proof in this browser").click()
    expect(page.locator("#verify-result")).to_contain_text("Proof checked: entry 13 is in the tree")


def _witness_vkey(name: str = "witness.acme.example") -> str:
    from ledger.notes import generate_signer

    return generate_signer(name, 0x04).verifier().to_vkey()


def test_a_steward_registers_the_institutions_witness(client, cast):
    from ledger.models import Witness

    client.force_login(cast.alice.user)
    page = client.get(reverse("ledger-witness-new"))
    assert page.status_code == 200 and b"witness serve" in page.content
    response = client.post(
        reverse("ledger-witness-new"),
        {"institution": cast.acme.pk, "url": "http://127.0.0.1:8470", "vkey": _witness_vkey()},
    )
    assert response.status_code == 302
    witness = Witness.objects.get()
    assert (witness.institution, witness.name) == (cast.acme, "witness.acme.example")


def test_a_steward_cannot_register_for_another_institution(client, cast):
    client.force_login(cast.alice.user)
    response = client.post(
        reverse("ledger-witness-new"),
        {"institution": cast.beta.pk, "url": "http://127.0.0.1:8470", "vkey": _witness_vkey()},
    )
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content


@pytest.mark.parametrize("persona", ["bob", "meg", "aud"])
def test_staff_and_readers_cannot_register_witnesses(client, cast, persona):
    user = getattr(cast, persona)
    client.force_login(getattr(user, "user", user))
    assert client.get(reverse("ledger-witness-new")).status_code == 403


def test_a_bad_verifier_key_is_explained(client, cast):
    client.force_login(cast.mo)
    response = client.post(
        reverse("ledger-witness-new"),
        {"institution": cast.beta.pk, "url": "http://127.0.0.1:8470", "vkey": "not-a-key"},
    )
    assert response.status_code == 400
    assert b"This is not a verifier key" in response.content
