"""OAuth profiles (shareCredentialsVersion 2, oauth_client_credentials) with the real client."""

from __future__ import annotations

import base64
import json

import delta_sharing
import pytest
import requests
from django.test import Client

from access import services as access
from sharing import services
from sharing.models import SharingToken

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def endpoint(live_server, settings):  # type: ignore[no-untyped-def]
    settings.SHARING_BASE_URL = live_server.url
    return live_server.url + "/delta-sharing"


def _oauth_profile(tmp_path, user, grant, endpoint):  # type: ignore[no-untyped-def]
    client, secret = services.oauth_client_create(user=user, grant=grant)
    path = tmp_path / f"oauth-{client.pk}.share"
    profile = services.oauth_profile_json(client=client, secret=secret, endpoint=endpoint)
    path.write_text(json.dumps(profile))
    return str(path), client, secret


def test_the_client_reads_a_grant_through_an_oauth_profile(cast, granted, endpoint, tmp_path):
    grant = granted()
    assert services.share_files_make(grant_id=grant.pk)
    path, client, _secret = _oauth_profile(tmp_path, cast.dave.user, grant, endpoint)
    url = f"{path}#{services.share_name(grant)}.default.{services.table_name(grant)}"
    assert len(delta_sharing.load_as_pandas(url)) == 4
    token = SharingToken.objects.get(client=client)
    assert token.expires_at <= grant.expires_at
    services.oauth_client_revoke(user=cast.dave.user, client=client)
    token.refresh_from_db()
    assert token.revoked_at is not None  # revoking the client ends the tokens it got


def test_the_token_endpoint_refuses_in_rfc_6749s_shape(cast, granted, endpoint, tmp_path):
    grant = granted()
    _path, client, secret = _oauth_profile(tmp_path, cast.dave.user, grant, endpoint)

    def ask(auth: str | None, data: dict) -> requests.Response:  # type: ignore[type-arg]
        headers = {"Authorization": auth} if auth else {}
        return requests.post(endpoint + "/oauth/token", data=data, headers=headers, timeout=10)

    basic = "Basic " + base64.b64encode(f"{client.client_id}:{secret}".encode()).decode()
    good = ask(basic, {"grant_type": "client_credentials"})
    assert good.status_code == 200 and good.json()["token_type"] == "Bearer"
    assert 0 < good.json()["expires_in"] <= 3600
    form = ask(
        None,
        {
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": secret,
        },
    )
    assert form.status_code == 200
    wrong = "Basic " + base64.b64encode(f"{client.client_id}:nope".encode()).decode()
    assert ask(wrong, {"grant_type": "client_credentials"}).json()["error"] == "invalid_client"
    assert ask(basic, {"grant_type": "password"}).json()["error"] == "unsupported_grant_type"
    assert ask(None, {"grant_type": "client_credentials"}).json()["error"] == "invalid_request"
    assert ask("Basic !!!", {"grant_type": "client_credentials"}).status_code == 401
    access.grant_revoke(user=cast.alice.user, grant=grant, reason="The project ended early.")
    refused = ask(basic, {"grant_type": "client_credentials"})
    assert refused.status_code == 401 and "revoked" in refused.json()["error_description"]


def test_the_grant_page_hands_out_an_oauth_profile(cast, granted, settings):
    settings.SHARING_BASE_URL = "https://portal.example"
    grant = granted()
    web = Client()
    web.force_login(cast.dave.user)
    response = web.post(f"/sharing/grants/{grant.pk}/profile/", {"kind": "oauth"})
    profile = json.loads(response.content)
    assert profile["shareCredentialsVersion"] == 2
    assert profile["type"] == "oauth_client_credentials"
    assert profile["tokenEndpoint"] == "https://portal.example/delta-sharing/oauth/token"
    page = web.get("/access/grants/").content.decode()
    assert profile["clientId"] in page and profile["clientSecret"] not in page
    again = json.loads(web.post(f"/sharing/grants/{grant.pk}/profile/", {"kind": "oauth"}).content)
    with pytest.raises(services.OAuthError):  # one client per person and grant
        services.oauth_token_issue(
            client_id=profile["clientId"],
            secret=profile["clientSecret"],
            grant_type="client_credentials",
        )
    assert again["clientId"] != profile["clientId"]
