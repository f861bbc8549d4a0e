"""The grant page's Delta Sharing part: explanation, state, snippet, profile, tokens."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from sharing import services
from sharing.models import SharingToken

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_grantee_sees_the_state_and_a_snippet_without_inline_script(cast, granted):
    grant = granted()
    page = _client(cast.dave.user).get("/access/grants/").content.decode()
    assert "Being prepared" in page
    services.share_files_make(grant_id=grant.pk)
    page = _client(cast.dave.user).get("/access/grants/").content.decode()
    url = f"{services.share_name(grant)}.default.{services.table_name(grant)}"
    assert f'delta_sharing.load_as_pandas("bizi-grant{grant.pk}.share#{url}")' in page
    assert "Ready (1 file)" in page and "Spark" in page
    assert "<script>" not in page and "onclick" not in page


def test_the_owner_side_sees_no_profile_button(cast, granted):
    granted()
    page = _client(cast.alice.user).get("/access/grants/").content.decode()
    assert "Download a profile" not in page


def test_a_profile_download_holds_a_working_token(cast, granted, settings):
    settings.SHARING_BASE_URL = "https://portal.example"
    grant = granted()
    response = _client(cast.dave.user).post(f"/sharing/grants/{grant.pk}/profile/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    profile = json.loads(response.content)
    assert profile["endpoint"] == "https://portal.example/delta-sharing"
    assert profile["shareCredentialsVersion"] == 1
    shares = Client().get(
        "/delta-sharing/shares", HTTP_AUTHORIZATION=f"Bearer {profile['bearerToken']}"
    )
    assert shares.json()["items"][0]["name"] == services.share_name(grant)
    page = _client(cast.dave.user).get("/access/grants/").content.decode()
    assert profile["bearerToken"][:12] in page  # listed by its prefix, with revoke
    assert profile["bearerToken"] not in page


def test_someone_outside_the_grantee_gets_no_profile(cast, granted):
    grant = granted()
    response = _client(cast.alice.user).post(f"/sharing/grants/{grant.pk}/profile/")
    assert response.status_code in (302, 403)
    assert not SharingToken.objects.exists()


def test_revoking_a_token_stops_the_next_request(cast, granted):
    grant = granted()
    token, secret = services.sharing_token_create(user=cast.dave.user, grant=grant)
    assert _client(cast.carol.user).post(f"/sharing/tokens/{token.pk}/revoke/").status_code == 404
    assert _client(cast.dave.user).post(f"/sharing/tokens/{token.pk}/revoke/").status_code == 302
    response = Client().get("/delta-sharing/shares", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 401 and response.json()["errorCode"] == "UNAUTHENTICATED"


def test_approval_queues_the_files_after_commit(
    cast, listing, ask, django_capture_on_commit_callbacks, sent_tasks
):
    from access import services as access

    request = ask(listing())
    with django_capture_on_commit_callbacks(execute=True):
        grant = access.access_request_approve(user=cast.alice.user, request=request)
    assert ("sharing.tasks.make_share_files", (grant.pk,)) in sent_tasks
