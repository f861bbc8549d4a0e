"""The ledger proves, it does not disclose (issue 14 §1).

A third institution reads every entry and every ledger page, and learns from them nothing the
API refuses it: no purpose, reason, row filter (whose literals may be customer identifiers) or
person. The request's parties and the moderators read the openings and check them.
"""

import base64
import importlib.util
import json
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from access import services
from access.services import Approval
from access.tests.test_downloads import fetch
from catalog.services import MetadataChange, dataset_suspend, dataset_update
from ledger.models import Entry
from ledger.services import append_all, seal_block_if_due
from portal.tests.factories import InstitutionFactory, MembershipFactory

pytestmark = pytest.mark.django_db

PURPOSE = "Review the loans of customer Ann Smith (case FRAUD-7731) before court."
FILTER = "customer = 'Ann Smith'"
CLEAR_NOTE = "Cleared after call with compliance, ticket CLR-5521."
REVOKE = "Revoked: court order REV-9090 lifted."
DENY = "Denied: purpose DNY-4410 too broad."
TERMS = "Use only for case TERMS-6060."
SUSPEND = "Suspended pending audit SUS-3131."
SECRETS = [
    "Ann Smith",
    "FRAUD-7731",
    "CLR-5521",
    "REV-9090",
    "DNY-4410",
    "TERMS-6060",
    "SUS-3131",
]
PEOPLE = ["alice", "bob", "dave", "mo"]


@pytest.fixture
def story(cast, listing, ask):  # type: ignore[no-untyped-def]
    """Every kind of event with private words: requested, cleared, approved, downloaded,
    revoked, denied, updated, suspended; all appended and sealed."""
    dataset = listing("confidential")
    request = ask(dataset, purpose=PURPOSE, filter_text=FILTER)
    services.access_request_clear(user=cast.mo, request=request, reason=CLEAR_NOTE)
    grant = services.access_request_approve(
        user=cast.alice.user,
        request=request,
        approval=Approval(extra_filter="region = 'north'", masks={"opened": "year_only"}),
    )
    return dataset, request, grant


def _finish(story, api, cast):  # type: ignore[no-untyped-def]
    dataset, request, grant = story
    response, _ = fetch(api, cast.dave.user, grant)
    assert response.status_code == 200
    services.grant_revoke(user=cast.alice.user, grant=grant, reason=REVOKE)
    other = services.access_request_create(
        user=cast.carol.user,
        dataset=dataset,
        purpose=PURPOSE + " Second try.",
        columns=["loan_id"],
        duration_days=5,
    )
    services.access_request_clear(user=cast.mo, request=other, reason="")
    services.access_request_deny(user=cast.alice.user, request=other, reason=DENY)
    dataset_update(user=cast.bob.user, dataset=dataset, change=MetadataChange(terms=TERMS))
    dataset_suspend(user=cast.mo, dataset=dataset, reason=SUSPEND)
    append_all()
    seal_block_if_due(force=True)
    return dataset, request, grant


def test_a_third_institution_learns_nothing_from_the_ledger_that_the_api_refuses_it(
    story, api, cast
):
    dataset, request, grant = _finish(story, api, cast)
    gus = MembershipFactory(user__username="gus", institution=InstitutionFactory(slug="gamma"))
    outsiders = [gus.user, cast.aud]
    size = Entry.objects.count()
    assert size >= 10
    kinds = set(Entry.objects.values_list("kind", flat=True))
    assert {"access.requested", "access.approved", "data.downloaded", "dataset.updated"} <= kinds

    for outsider in outsiders:
        # The API refuses it the request and the grant ...
        api.force_authenticate(outsider)
        assert api.get(f"/api/v1/requests/{request.pk}/").status_code == 404
        assert api.get(f"/api/v1/grants/{grant.pk}/").status_code == 404
        # ... and the ledger tells it nothing more: not in the entries' bytes, the decoded
        # JSON beside them, nor any ledger page.
        body = api.get(reverse("api-ledger-entries"), {"start": 0, "end": size}).content
        entries = json.loads(body)["entries"]
        assert len(entries) == size
        raw = b"".join(base64.b64decode(e["data"]) for e in entries)
        client = Client()
        client.force_login(outsider)
        pages = [reverse("ledger"), reverse("ledger-block", args=[0])]
        pages += [reverse("ledger-entry", args=[i]) for i in range(size)]
        pages += [reverse("ledger-dataset", args=[dataset.pk])]
        html = b""
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, page
            html += response.content
        for text in (body, raw, html):
            for secret in [*SECRETS, "region = 'north'"]:
                assert secret.encode() not in text
            for person in PEOPLE:
                assert f'"{person}"'.encode() not in text
                assert f">{person}<".encode() not in html
        # What it may know is there: who, which dataset, columns and masks.
        approved = next(
            json.loads(base64.b64decode(e["data"]))
            for e in entries
            if e["kind"] == "access.approved"
        )
        assert approved["actor"] == {"institution": "acme"}
        assert approved["subject"]["institution"] == "beta"
        assert approved["subject"]["masks"] == {"opened": "year_only"}
        assert set(approved["commitments"]) == {"filter", "user"}


def test_the_parties_and_moderators_see_each_opening_and_that_it_matches(story, api, cast):
    _, request, grant = _finish(story, api, cast)
    for reader in (cast.dave.user, cast.carol.user, cast.alice.user, cast.mo):
        api.force_authenticate(reader)
        ledger = api.get(f"/api/v1/requests/{request.pk}/").json()["ledger"]
        opened = {(e["kind"], f["field"]): f for e in ledger for f in e["fields"]}
        assert opened[("access.requested", "purpose")]["value"] == PURPOSE
        assert opened[("access.requested", "filter")]["value"] == FILTER
        assert opened[("access.requested", "user")]["value"] == "dave"
        assert opened[("access.cleared", "reason")]["value"] == CLEAR_NOTE
        assert opened[("access.cleared", "user")]["value"] == "mo"
        assert opened[("access.approved", "filter")]["value"] == (
            "customer = 'Ann Smith' and region = 'north'"
        )
        assert opened[("access.revoked", "reason")]["value"] == REVOKE
        assert {f["check"] for f in opened.values()} == {"matches"}
        assert all(e["entry_index"] is not None for e in ledger)
    # Each opening checks against the entry's bytes with the auditors' own verifier.
    verifier = _bizi_verify()
    requested = next(e for e in ledger if e["kind"] == "access.requested")
    data = bytes(Entry.objects.get(index=requested["entry_index"]).data)
    for f in requested["fields"]:
        verdict = verifier.check_opening(data, f["field"], f["value"], f["salt"], "the entry")
        assert verdict.startswith("OK")
    with pytest.raises(verifier.Failed):
        verifier.check_opening(data, "purpose", PURPOSE + "!", requested["fields"][1]["salt"], "e")
    # The download's record carries the opening of who downloaded.
    api.force_authenticate(cast.dave.user)
    (record,) = api.get(f"/api/v1/grants/{grant.pk}/downloads/").json()
    (downloaded,) = record["ledger"]
    assert downloaded["kind"] == "data.downloaded"
    assert [(f["field"], f["value"], f["check"]) for f in downloaded["fields"]] == [
        ("user", "dave", "matches")
    ]


def test_the_request_page_shows_the_openings_to_its_parties_only(story, api, cast):
    _, request, _ = _finish(story, api, cast)
    url = reverse("access-request", args=[request.pk])
    client = Client()
    client.force_login(cast.dave.user)
    page = client.get(url).content.decode()
    assert 'data-testid="ledger-openings"' in page
    assert "FRAUD-7731" in page and "✓ matches the entry" in page
    gus = MembershipFactory(user__username="gus", institution=InstitutionFactory(slug="gamma"))
    client.force_login(gus.user)
    assert client.get(url).status_code == 404


def _bizi_verify():  # type: ignore[no-untyped-def]
    path = Path(__file__).resolve().parents[2] / "tools" / "bizi_verify.py"
    spec = importlib.util.spec_from_file_location("bizi_verify_for_openings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
