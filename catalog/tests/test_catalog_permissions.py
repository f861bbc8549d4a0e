"""Who may publish, see, preview, edit, withdraw, suspend and restore (page and API)."""

import pytest
from django.urls import reverse

from catalog.models import Dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing(cast, publish):  # type: ignore[no-untyped-def]
    return Dataset.objects.get(pk=publish(cast.bob.user).json()["id"])


def _user(cast, name):  # type: ignore[no-untyped-def]
    value = getattr(cast, name)
    return getattr(value, "user", value)


@pytest.mark.parametrize(
    ("persona", "status"), [("alice", 201), ("dave", 201), ("mo", 403), ("meg", 403), ("aud", 403)]
)
def test_only_members_of_an_institution_publish(cast, publish, persona, status):
    assert publish(_user(cast, persona)).status_code == status


# persona: (sees listing, sees preview, may edit, may suspend)
MATRIX = {
    "alice": (True, True, True, False),
    "bob": (True, True, True, False),
    "carol": (True, False, False, False),
    "dave": (True, False, False, False),
    "mo": (True, False, False, True),
    "meg": (True, False, False, False),
    "aud": (True, False, False, False),
}


@pytest.mark.parametrize("persona", sorted(MATRIX))
def test_listing_permissions_page_and_api(cast, api, client, listing, persona):
    sees, preview, edit, moderate = MATRIX[persona]
    user = _user(cast, persona)
    client.force_login(user)
    api.force_authenticate(user)
    page = client.get(reverse("dataset", args=[listing.pk]))
    assert page.status_code == (200 if sees else 404)
    assert (b'data-testid="preview"' in page.content) is preview
    assert (b"Upload a new version" in page.content) is edit

    response = api.patch(reverse("api-dataset", args=[listing.pk]), {"title": "Renamed"})
    assert response.status_code == (200 if edit else 403)
    response = client.post(reverse("dataset-edit", args=[listing.pk]), {"title": "x"})
    assert response.status_code == (400 if edit else 403)  # 400: the rest of the form is missing

    response = api.post(reverse("api-dataset-suspend", args=[listing.pk]), {"reason": "check"})
    assert response.status_code == (200 if moderate else 403)
    listing.refresh_from_db()
    assert listing.status == ("suspended" if moderate else "active")


def test_withdrawn_listings_leave_the_catalog_but_not_their_owners(cast, api, client, listing):
    api.force_authenticate(cast.bob.user)
    response = api.post(reverse("api-dataset-withdraw", args=[listing.pk]), {"reason": "stale"})
    assert response.status_code == 200 and response.json()["status"] == "withdrawn"
    api.force_authenticate(cast.dave.user)
    assert api.get(reverse("api-dataset", args=[listing.pk])).status_code == 404
    assert api.get(reverse("api-datasets")).json()["count"] == 0
    api.force_authenticate(cast.alice.user)
    assert api.get(reverse("api-dataset", args=[listing.pk])).status_code == 200


def test_a_reason_is_required_and_states_are_checked(cast, api, listing):
    api.force_authenticate(cast.mo)
    response = api.post(reverse("api-dataset-suspend", args=[listing.pk]), {"reason": " "})
    assert response.status_code == 400 and "reason" in response.json()["fields"]
    response = api.post(reverse("api-dataset-restore", args=[listing.pk]), {"reason": "ok"})
    assert response.status_code == 400  # not suspended
    api.post(reverse("api-dataset-suspend", args=[listing.pk]), {"reason": "complaint"})
    api.force_authenticate(cast.bob.user)
    response = api.patch(reverse("api-dataset", args=[listing.pk]), {"title": "sneaky"})
    assert response.status_code == 403  # frozen while suspended
    api.force_authenticate(cast.mo)
    response = api.post(reverse("api-dataset-restore", args=[listing.pk]), {"reason": "resolved"})
    assert response.status_code == 200 and response.json()["status"] == "active"
    from ledger.models import OutboxEvent

    kinds = list(OutboxEvent.objects.values_list("kind", flat=True))
    assert kinds == ["dataset.published", "dataset.suspended", "dataset.restored"]
