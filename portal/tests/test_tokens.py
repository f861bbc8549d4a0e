from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.models import ApiToken
from portal.services import api_token_issue
from portal.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _token(api, username, password=PASSWORD):
    return api.post(reverse("api-token"), {"username": username, "password": password})


def test_token_is_issued_and_stored_only_as_a_digest(cast, api):
    response = _token(api, "bob")
    assert response.status_code == 201
    secret = response.json()["token"]
    stored = ApiToken.objects.get(user=cast.bob.user)
    assert secret.startswith("bizi_") and len(secret) > 40
    assert secret not in {stored.digest, stored.prefix, stored.name}
    assert stored.digest != secret and len(stored.digest) == 64
    assert stored.expires_at > timezone.now() + timedelta(days=1)

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(reverse("api-me")).json()["username"] == "bob"


def test_wrong_password_gets_401_with_message(cast, api):
    response = _token(api, "bob", "not-the-password")
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password."


def test_missing_fields_get_400_with_field_errors(cast, api):
    response = api.post(reverse("api-token"), {"username": "bob"})
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"password"}


def test_expired_token_stops_working(cast, api):
    token, secret = api_token_issue(user=cast.bob.user, ttl=timedelta(minutes=5))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(reverse("api-me")).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.get(reverse("api-me"))
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_revoked_token_stops_working(cast, api):
    _, secret = api_token_issue(user=cast.bob.user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.delete(reverse("api-token")).status_code == 204
    response = api.get(reverse("api-me"))
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


def test_unknown_token_is_refused(cast, api):
    api.credentials(HTTP_AUTHORIZATION="Bearer bizi_made-up")
    assert api.get(reverse("api-me")).status_code == 401


def test_delete_without_token_is_refused(cast, api):
    api.force_authenticate(cast.bob.user)
    response = api.delete(reverse("api-token"))
    assert response.status_code == 401


def test_disabled_account_cannot_use_its_token(cast, api):
    _, secret = api_token_issue(user=cast.bob.user)
    cast.bob.user.is_active = False
    cast.bob.user.save()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(reverse("api-me")).status_code == 401
