"""The storage API, persona by persona: who sees nodes and Table 1, who changes node status."""

from __future__ import annotations

import pytest
from django.urls import reverse

from consortium.models import Membership
from storage.models import StorageEvent, StorageNode

pytestmark = pytest.mark.django_db

# persona -> (list nodes, read Table 1 (none yet: 404 if allowed), mark a node down, sees location)
MATRIX = {
    "alice": (200, 404, 403, False),  # steward of a member institution
    "bob": (200, 404, 403, False),  # staff
    "carol": (200, 404, 403, False),
    "mo": (200, 404, 200, True),  # moderator manages nodes
    "meg": (200, 404, 403, False),  # manager
    "aud": (200, 404, 403, False),  # auditor
}


def _user(cast, name):  # type: ignore[no-untyped-def]
    value = getattr(cast, name)
    return value.user if isinstance(value, Membership) else value


@pytest.mark.parametrize("persona", sorted(MATRIX))
def test_storage_permissions(cast, api, nodes, persona):
    list_status, table1_status, change_status, sees_location = MATRIX[persona]
    api.force_authenticate(_user(cast, persona))

    response = api.get(reverse("api-storage-nodes"))
    assert response.status_code == list_status
    body = response.json()
    assert body["count"] == len(nodes)
    assert ("location" in body["results"][0]) is sees_location

    assert api.get(reverse("api-storage-table1")).status_code == table1_status

    node = nodes[0]
    response = api.patch(reverse("api-storage-node", args=[node.pk]), {"status": "down"})
    assert response.status_code == change_status
    node.refresh_from_db()
    assert node.status == ("down" if change_status == 200 else "up")


def test_anonymous_and_outsiders_get_nothing(db, api, nodes):
    from portal.tests.factories import UserFactory

    assert api.get(reverse("api-storage-nodes")).status_code == 401
    assert api.get(reverse("api-storage-table1")).status_code == 401
    api.force_authenticate(UserFactory(username="nobody"))  # no institution, no role
    assert api.get(reverse("api-storage-nodes")).status_code == 403
    assert api.get(reverse("api-storage-table1")).status_code == 403


def test_node_list_reports_health(cast, api, nodes, tmp_path):
    import shutil

    from storage import repair
    from storage.tests.helpers import PLAIN, payload, put_bytes

    put_bytes(payload(4 * PLAIN))
    shutil.rmtree(nodes[0].path)
    repair.scrub(repair=False)
    api.force_authenticate(cast.mo)
    rows = {r["name"]: r for r in api.get(reverse("api-storage-nodes")).json()["results"]}
    lost = rows[nodes[0].name]
    assert lost["status"] == "down" and not lost["healthy"] and lost["bad_shards"] > 0
    assert "missing" in lost["last_error"]
    assert rows[nodes[1].name]["healthy"] and rows[nodes[1].name]["shards"] > 0


def test_moderator_changes_are_validated_and_logged(cast, api, nodes):
    api.force_authenticate(cast.mo)
    url = reverse("api-storage-node", args=[nodes[0].pk])
    response = api.patch(url, {"status": "exploded"})
    assert response.status_code == 400
    assert "status" in response.json()["fields"]
    assert (
        api.patch(reverse("api-storage-node", args=[99999]), {"status": "down"}).status_code == 404
    )
    response = api.patch(url, {"status": "draining", "reason": "replacing the disk"})
    assert response.status_code == 200 and response.json()["status"] == "draining"
    event = StorageEvent.objects.get(kind=StorageEvent.Kind.NODE_DRAINING)
    assert event.detail == "replacing the disk"
    assert StorageNode.objects.get(pk=nodes[0].pk).status == "draining"
