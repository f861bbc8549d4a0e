"""Who may see and change an institution's people, page and API, persona by persona.

404: the object is not visible to the actor at all; 403: visible, but the action is not allowed.
"""

import pytest
from django.urls import reverse

from consortium.models import Membership

pytestmark = pytest.mark.django_db

# persona -> expected status for: list Acme's members (API), read bob's membership (API),
# change bob's role (API), Acme's page shows its people, change bob's role (page)
MATRIX = {
    "alice": (200, 200, 200, True, 200),  # Acme steward
    "bob": (200, 200, 403, True, 403),  # Acme staff (bob on himself: not a steward)
    "carol": (403, 404, 404, False, 404),  # Beta steward: another institution
    "dave": (403, 404, 404, False, 404),  # Beta staff
    "mo": (200, 200, 403, True, 403),  # moderator sees, does not manage members
    "meg": (403, 404, 404, False, 404),  # manager
    "aud": (403, 404, 404, False, 404),  # auditor
}


def _user(cast, name):
    value = getattr(cast, name)
    return value.user if isinstance(value, Membership) else value


@pytest.mark.parametrize("persona", sorted(MATRIX))
def test_membership_permissions_api(cast, api, persona):
    list_status, read_status, change_status, _, _ = MATRIX[persona]
    api.force_authenticate(_user(cast, persona))

    response = api.get(reverse("api-institution-memberships", args=[cast.acme.pk]))
    assert response.status_code == list_status
    if list_status == 200:
        assert {m["user"]["username"] for m in response.json()["results"]} == {"alice", "bob"}

    response = api.get(reverse("api-membership", args=[cast.bob.pk]))
    assert response.status_code == read_status

    response = api.patch(reverse("api-membership", args=[cast.bob.pk]), {"role": "steward"})
    assert response.status_code == change_status
    cast.bob.refresh_from_db()
    assert cast.bob.role == ("steward" if change_status == 200 else "staff")


@pytest.mark.parametrize("persona", sorted(MATRIX))
def test_membership_permissions_pages(cast, client, persona):
    _, _, _, sees_people, change_status = MATRIX[persona]
    client.force_login(_user(cast, persona))

    page = client.get(reverse("institution-detail", args=["acme"]))
    assert page.status_code == 200
    assert (b'data-testid="member-bob"' in page.content) is sees_people

    response = client.post(reverse("membership-role", args=[cast.bob.pk]), {"role": "steward"})
    assert response.status_code == (302 if change_status == 200 else change_status)
    cast.bob.refresh_from_db()
    assert cast.bob.role == ("steward" if change_status == 200 else "staff")


def test_membership_list_is_scoped_to_own_institution(cast, api):
    api.force_authenticate(cast.carol.user)
    names = {m["user"]["username"] for m in api.get(reverse("api-memberships")).json()["results"]}
    assert names == {"carol", "dave"}


def test_steward_cannot_change_own_role(cast, api):
    api.force_authenticate(cast.alice.user)
    response = api.patch(reverse("api-membership", args=[cast.alice.pk]), {"role": "staff"})
    assert response.status_code == 403
    assert "steward" in response.json()["detail"]


def test_anonymous_gets_401_from_api_and_login_redirect_from_pages(cast, api, client):
    assert api.get(reverse("api-memberships")).status_code == 401
    response = client.get(reverse("institution-detail", args=["acme"]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
