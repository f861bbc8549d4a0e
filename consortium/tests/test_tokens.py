from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from consortium.models import ApiToken
from consortium.services import api_token_issue, api_token_revoke, membership_set_role
from portal import cache_versions
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
    with mock.patch("django.utils.timezone.now", return_value=token.expires_at):
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


# Token lookups are cached under the "consortium" section (consortium/authentication.py). Each test
# below first shows the lookup was a cache hit, then that the change takes effect at once.


def _cached_me(api):
    """GET api-me, asserting the token came from the cache (no query for the token)."""
    with CaptureQueriesContext(connection) as queries:
        response = api.get(reverse("api-me"))
    assert not any("portal_apitoken" in q["sql"] for q in queries), queries.captured_queries
    return response


def test_a_cached_token_stops_working_at_once_when_revoked(cast, api):
    token, secret = api_token_issue(user=cast.bob.user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.get(reverse("api-me")).status_code == 200
    assert _cached_me(api).status_code == 200
    api_token_revoke(token=token)  # as another process (the admin, a script) would
    response = api.get(reverse("api-me"))
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_a_cached_token_stops_working_at_its_expiry(cast, api):
    token, secret = api_token_issue(user=cast.bob.user, ttl=timedelta(minutes=5))
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    api.get(reverse("api-me"))
    assert _cached_me(api).status_code == 200
    # No write: only the clock moves past the expiry.
    with mock.patch("django.utils.timezone.now", return_value=token.expires_at):
        response = api.get(reverse("api-me"))
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_a_cached_token_of_a_disabled_account_stops_at_once(cast, api):
    _, secret = api_token_issue(user=cast.bob.user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    api.get(reverse("api-me"))
    assert _cached_me(api).status_code == 200
    cast.bob.user.is_active = False  # as the admin and the account forms do: a save
    cast.bob.user.save(update_fields=["is_active"])
    assert api.get(reverse("api-me")).status_code == 401


def test_a_deactivation_around_the_services_reaches_a_cached_token_when_bumped(cast, api):
    # QuerySet.update() sends no signal and calls no service: the cache cannot hear of it
    # (portal/cache_versions.py). The token then works until the "consortium" section is
    # bumped by hand or by any other change to it, and for TOKEN_CACHE_SECONDS at most.
    from consortium.authentication import TOKEN_CACHE_SECONDS

    _, secret = api_token_issue(user=cast.bob.user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    api.get(reverse("api-me"))
    get_user_model().objects.filter(pk=cast.bob.user.pk).update(is_active=False)
    assert _cached_me(api).status_code == 200
    cache_versions.bump("consortium")
    assert api.get(reverse("api-me")).status_code == 401
    assert TOKEN_CACHE_SECONDS <= 60


def test_a_role_change_reaches_a_cached_token_at_once(cast, api):
    _, secret = api_token_issue(user=cast.bob.user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    api.get(reverse("api-me"))
    assert _cached_me(api).json()["institution_role"] == "staff"
    membership_set_role(by=cast.alice.user, membership=cast.bob, role="steward")
    assert api.get(reverse("api-me")).json()["institution_role"] == "steward"


def test_a_cached_token_belongs_to_its_own_secret_only(cast, api):
    _, bobs = api_token_issue(user=cast.bob.user)
    _, daves = api_token_issue(user=cast.dave.user)
    for secret, name in [(bobs, "bob"), (daves, "dave"), (bobs, "bob"), (daves, "dave")]:
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert api.get(reverse("api-me")).json()["username"] == name


def test_using_a_token_keeps_the_cache_and_notes_the_use_once_a_minute(cast, api):
    token, secret = api_token_issue(user=cast.bob.user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    api.get(reverse("api-me"))
    versions_after_first_use = cache_versions.versions(cache_versions.SECTIONS)
    token.refresh_from_db()
    assert token.last_used_at is not None
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            api.get(reverse("api-me"))
    assert not any(q["sql"].startswith("UPDATE") for q in queries)
    assert cache_versions.versions(cache_versions.SECTIONS) == versions_after_first_use
