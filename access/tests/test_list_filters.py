"""`?state=` and `?mine=` of the request and grant lists: a valid value narrows the list, an
unknown one answers 400 in the one error shape, naming the parameter, never an empty list."""

from datetime import timedelta

import pytest
from django.utils import timezone

from access import services
from access.models import Grant

pytestmark = pytest.mark.django_db


def _refused(response, field: str) -> str:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == 400 and body["code"] == "invalid" and body["detail"]
    assert list(body["fields"]) == [field]
    return body["fields"][field][0]


def test_requests_by_state(cast, api, listing, ask):
    waiting = ask(listing())
    moderated = ask(listing("confidential"))
    api.force_authenticate(cast.alice.user)
    body = api.get("/api/v1/requests/", {"state": "pending_decision"}).json()
    assert [r["id"] for r in body["results"]] == [waiting.pk]
    api.force_authenticate(cast.mo)
    body = api.get("/api/v1/requests/", {"state": "pending_moderation"}).json()
    assert [r["id"] for r in body["results"]] == [moderated.pk]
    message = _refused(api.get("/api/v1/requests/", {"state": "approvd"}), "state")
    assert message.startswith("“approvd” is not a request state; use one of: pending_moderation")


def test_my_requests(cast, api, listing, ask):
    theirs = ask(listing())  # Beta's request for Acme's data
    api.force_authenticate(cast.alice.user)
    assert len(api.get("/api/v1/requests/").json()["results"]) == 1
    assert api.get("/api/v1/requests/", {"mine": "true"}).json()["results"] == []
    api.force_authenticate(cast.dave.user)
    body = api.get("/api/v1/requests/", {"mine": "1"}).json()
    assert [r["id"] for r in body["results"]] == [theirs.pk]
    assert len(api.get("/api/v1/requests/", {"mine": "false"}).json()["results"]) == 1
    _refused(api.get("/api/v1/requests/", {"mine": "perhaps"}), "mine")


def test_grants_by_state(cast, api, granted):
    active, revoked, expired = granted(), granted(), granted()
    services.grant_revoke(user=cast.alice.user, grant=revoked, reason="Ended.")
    Grant.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    api.force_authenticate(cast.dave.user)
    for state, grant in [("active", active), ("revoked", revoked), ("expired", expired)]:
        body = api.get("/api/v1/grants/", {"state": state}).json()
        assert [(g["id"], g["state"]) for g in body["results"]] == [(grant.pk, state)]
    message = _refused(api.get("/api/v1/grants/", {"state": "frozen"}), "state")
    assert message == "“frozen” is not a grant state; use one of: active, expired, revoked."
