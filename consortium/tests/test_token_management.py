"""Tokens and sessions (issue 14, finding 7): what revokes a token, and managing one's own tokens.

A password change, a reset or a deactivation revokes every API token of the account (the old
token used to keep working); people list and revoke their own tokens on the "API tokens" page
and at `GET /api/v1/auth/tokens/`, `DELETE /api/v1/auth/tokens/{id}/`.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse

from consortium.models import ApiToken
from consortium.services import api_token_issue
from portal.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-much-better-pass-2026"


def _works(secret: str) -> bool:
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return api.get(reverse("api-me")).status_code == 200


# --- what revokes ---------------------------------------------------------------------------


def test_a_password_change_on_the_page_revokes_the_accounts_tokens(cast, client):
    _, secret = api_token_issue(user=cast.bob.user)
    _, others = api_token_issue(user=cast.alice.user)
    assert _works(secret)
    client.force_login(cast.bob.user)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert not _works(secret)
    assert ApiToken.objects.get(user=cast.bob.user).revoked_at is not None
    assert _works(others)  # someone else's tokens are theirs


def test_a_password_reset_revokes_the_accounts_tokens(cast, client):
    _, secret = api_token_issue(user=cast.bob.user)
    client.post(reverse("password_reset"), {"email": cast.bob.user.email})
    link = next(line for line in mail.outbox[0].body.splitlines() if "/reset/" in line)
    form = client.get(link.split("testserver", 1)[1], follow=True)
    response = client.post(
        form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert not _works(secret)


def test_a_password_set_in_code_revokes_the_accounts_tokens(cast):
    _, secret = api_token_issue(user=cast.bob.user)
    user = get_user_model().objects.get(pk=cast.bob.user.pk)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert not _works(secret)


def test_deactivation_revokes_the_tokens_for_good(cast):
    _, secret = api_token_issue(user=cast.bob.user)
    user = get_user_model().objects.get(pk=cast.bob.user.pk)
    user.is_active = False
    user.save()
    assert ApiToken.objects.get(user=user).revoked_at is not None
    user.is_active = True
    user.save()
    assert not _works(secret)  # reactivation does not bring an old token back


def test_deactivation_in_the_admin_revokes_the_tokens(cast, client):
    _, secret = api_token_issue(user=cast.bob.user)
    superuser = get_user_model().objects.create_superuser("root", "root@example.invalid", "x")
    client.force_login(superuser)
    url = reverse("admin:auth_user_change", args=[cast.bob.user.pk])
    page = client.get(url)
    data = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    data.update(
        {
            "username": "bob",
            "is_active": "",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        }
    )
    data.pop("groups", None)
    data.pop("user_permissions", None)
    data.pop("last_login", None)
    data.pop("date_joined", None)
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert not get_user_model().objects.get(pk=cast.bob.user.pk).is_active
    assert ApiToken.objects.get(user=cast.bob.user).revoked_at is not None
    assert not _works(secret)


def test_a_deactivation_by_update_revokes_the_token_when_next_used(cast):
    _, secret = api_token_issue(user=cast.bob.user)
    get_user_model().objects.filter(pk=cast.bob.user.pk).update(is_active=False)
    assert not _works(secret)
    get_user_model().objects.filter(pk=cast.bob.user.pk).update(is_active=True)
    assert not _works(secret)


def test_signing_in_or_editing_the_name_keeps_the_tokens(cast, client):
    _, secret = api_token_issue(user=cast.bob.user)
    signed_in = client.post(reverse("login"), {"username": "bob", "password": PASSWORD})
    assert signed_in.status_code == 302
    user = get_user_model().objects.get(pk=cast.bob.user.pk)
    user.first_name = "Bob"
    user.save()
    assert _works(secret)


# --- the API ----------------------------------------------------------------------------------


def test_the_token_list_shows_ones_own_live_tokens_without_secrets(cast, api):
    mine, secret = api_token_issue(user=cast.bob.user, name="nightly export")
    revoked, _ = api_token_issue(user=cast.bob.user, name="old")
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=mine.created_at)
    api_token_issue(user=cast.alice.user, name="alice's")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    response = api.get(reverse("api-tokens"))
    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["name"] for r in rows] == ["nightly export"]
    assert set(rows[0]) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at"}
    assert secret not in response.content.decode()
    assert mine.digest not in response.content.decode()


def test_a_token_can_be_named_when_created(cast, api):
    response = api.post(
        reverse("api-token"), {"username": "bob", "password": PASSWORD, "name": "ci runner"}
    )
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert [r["name"] for r in api.get(reverse("api-tokens")).json()["results"]] == ["ci runner"]


def test_deleting_ones_own_token_revokes_it(cast, api):
    other, other_secret = api_token_issue(user=cast.bob.user, name="laptop")
    _, secret = api_token_issue(user=cast.bob.user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert api.delete(reverse("api-token-detail", args=[other.pk])).status_code == 204
    assert not _works(other_secret)
    assert _works(secret)


def test_someone_elses_token_is_not_found(cast, api):
    alices, alices_secret = api_token_issue(user=cast.alice.user)
    api.force_authenticate(cast.bob.user)
    response = api.delete(reverse("api-token-detail", args=[alices.pk]))
    assert response.status_code == 404
    assert response.json()["status"] == 404
    assert _works(alices_secret)


def test_the_token_list_needs_a_sign_in(cast, api):
    assert api.get(reverse("api-tokens")).status_code == 401


def test_the_single_token_endpoint_is_unchanged(cast, api):
    response = api.post(reverse("api-token"), {"username": "bob", "password": PASSWORD})
    assert response.status_code == 201
    assert set(response.json()) == {"token", "prefix", "expires_at"}
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    assert api.delete(reverse("api-token")).status_code == 204


# --- the page ---------------------------------------------------------------------------------


def test_the_tokens_page_lists_ones_own_tokens_and_is_linked(cast, client):
    api_token_issue(user=cast.bob.user, name="nightly export")
    api_token_issue(user=cast.alice.user, name="alice's")
    client.force_login(cast.bob.user)
    home = client.get(reverse("home")).content.decode()
    assert reverse("tokens") in home
    page = client.get(reverse("tokens")).content.decode()
    assert "nightly export" in page and "alice" not in page


def test_revoking_on_the_page_asks_first_then_revokes(cast):
    token, secret = api_token_issue(user=cast.bob.user, name="laptop")
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.bob.user)
    url = reverse("token-revoke", args=[token.pk])
    confirm = client.get(url)
    assert confirm.status_code == 200 and "laptop" in confirm.content.decode()
    assert _works(secret)  # asking is not revoking
    assert client.post(url).status_code == 403  # no CSRF token
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm.content.decode())
    response = client.post(url, {"csrfmiddlewaretoken": csrf.group(1)})
    assert response.status_code == 302
    assert not _works(secret)


def test_someone_elses_token_is_not_found_on_the_page(cast, client):
    alices, secret = api_token_issue(user=cast.alice.user)
    client.force_login(cast.bob.user)
    assert client.get(reverse("token-revoke", args=[alices.pk])).status_code == 404
    assert client.post(reverse("token-revoke", args=[alices.pk])).status_code == 404
    assert _works(secret)


def test_a_token_created_on_the_page_is_shown_once(cast, client):
    client.force_login(cast.bob.user)
    response = client.post(reverse("tokens"), {"name": "spreadsheet"})
    assert response.status_code == 200
    secret = re.search(r"(bizi_[A-Za-z0-9_-]{20,})", response.content.decode()).group(1)
    assert _works(secret)
    assert secret not in client.get(reverse("tokens")).content.decode()
    assert ApiToken.objects.get(user=cast.bob.user).name == "spreadsheet"
