"""A listing's ledger events: edits are on the log, and their private parts are commitments."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from catalog.models import Dataset
from ledger.models import Entry
from ledger.services import append_all
from portal.tests.factories import InstitutionFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def _entries(kind: str) -> list[dict]:
    append_all()
    return [
        json.loads(bytes(d)) for d in Entry.objects.filter(kind=kind).values_list("data", flat=True)
    ]


def test_an_edit_of_title_terms_or_sensitivity_is_a_ledger_event_naming_the_fields(
    cast, api, publish
):
    pk = publish(cast.bob.user).json()["id"]
    api.force_authenticate(cast.bob.user)
    changed = {
        "title": "SME loans 2024 (revised)",
        "terms": "Only for case T-77.",
        "sensitivity": "restricted",
    }
    assert api.patch(reverse("api-dataset", args=[pk]), changed).status_code == 200
    (updated,) = _entries("dataset.updated")
    assert updated["subject"]["fields"] == ["sensitivity", "terms", "title"]
    assert updated["subject"]["title"] == "SME loans 2024 (revised)"
    assert updated["subject"]["sensitivity"] == "restricted"
    # The terms' text and the person are committed, not written.
    assert set(updated["commitments"]) == {"terms", "user"}
    assert "T-77" not in json.dumps(updated)
    # Saving the same values again changes nothing and records nothing.
    assert api.patch(reverse("api-dataset", args=[pk]), changed).status_code == 200
    assert len(_entries("dataset.updated")) == 1


def test_the_listing_page_opens_its_commitments_to_the_owner_and_moderators_only(
    cast, api, publish
):
    pk = publish(cast.bob.user).json()["id"]
    api.force_authenticate(cast.mo)
    reason = "Suspended pending audit SUS-4242."
    assert (
        api.post(reverse("api-dataset-suspend", args=[pk]), {"reason": reason}).status_code == 200
    )
    append_all()
    url = reverse("dataset", args=[pk])
    client = Client()
    for reader in (cast.bob.user, cast.alice.user, cast.mo):
        client.force_login(reader)
        page = client.get(url).content.decode()
        assert 'data-testid="ledger-openings"' in page and "✓ matches the entry" in page
    gus = MembershipFactory(user__username="gus", institution=InstitutionFactory(slug="gamma"))
    client.force_login(gus.user)
    page = client.get(url)
    assert Dataset.objects.get(pk=pk).status == "suspended"
    assert 'data-testid="ledger-openings"' not in page.content.decode()
