"""Brute force and proxies: lockout on every sign-in path, reset limits, the client address.

Issue 14, finding 3: the token endpoint's throttle was escaped with a new `X-Forwarded-For` on
every request, and the sign-in page, the admin and password reset had no limit at all.
"""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse

from portal import cache_versions
from portal.clientip import client_ip
from portal.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "not-the-password"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def _login(client, username, password, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def _token(api, username, password, **extra):
    return api.post(reverse("api-token"), {"username": username, "password": password}, **extra)


# --- the client address ------------------------------------------------------------------------


def test_by_default_the_address_is_the_peer_whatever_the_header_says(settings):
    settings.BIZI_TRUSTED_PROXIES = 0
    request = RequestFactory().get(
        "/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.1"
    )
    assert client_ip(request) == "203.0.113.9"


def test_behind_one_proxy_the_hop_that_proxy_added_is_the_client(settings):
    settings.BIZI_TRUSTED_PROXIES = 1
    # The client wrote the first two entries itself; our proxy appended the address it saw.
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 2.2.2.2, 198.51.100.7"
    )
    assert client_ip(request) == "198.51.100.7"


def test_behind_two_proxies_the_second_hop_from_the_right_is_the_client(settings):
    settings.BIZI_TRUSTED_PROXIES = 2
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.7, 10.0.0.1"
    )
    assert client_ip(request) == "198.51.100.7"


def test_a_proxy_setting_without_a_header_or_with_garbage_falls_back_to_the_peer(settings):
    settings.BIZI_TRUSTED_PROXIES = 1
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.2")) == "10.0.0.2"
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="evil")
    assert client_ip(request) == "10.0.0.2"


def test_no_proxy_ssl_header_is_trusted_by_default(settings):
    from django.conf import settings as live

    assert live.BIZI_TRUSTED_PROXIES == 0
    assert live.SECURE_PROXY_SSL_HEADER is None
    assert live.REST_FRAMEWORK["NUM_PROXIES"] == 0


# --- the token endpoint's throttle ---------------------------------------------------------------


def test_a_new_forwarded_for_each_time_does_not_escape_the_token_throttle(cast, api):
    # Incomplete requests (400) count against the throttle without being failed sign-ins.
    codes = [
        api.post(
            reverse("api-token"), {"username": "bob"}, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}"
        ).status_code
        for i in range(31)
    ]
    assert codes[:30] == [400] * 30
    assert codes[30] == 429
    assert api.post(reverse("api-token"), {"username": "bob"}).json()["status"] == 429


def test_behind_a_proxy_the_throttle_counts_per_real_client(cast, api, settings):
    settings.BIZI_TRUSTED_PROXIES = 1
    for i in range(30):
        forwarded = f"9.9.9.{i}, 198.51.100.1"  # the client's own prefix changes, our hop does not
        api.post(reverse("api-token"), {"username": "bob"}, HTTP_X_FORWARDED_FOR=forwarded)
    limited = api.post(
        reverse("api-token"), {"username": "bob"}, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1"
    )
    assert limited.status_code == 429
    other = api.post(reverse("api-token"), {"username": "bob"}, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert other.status_code == 400


# --- lockout: the sign-in page -------------------------------------------------------------------


def test_the_sign_in_page_locks_a_username_out_after_the_limit(cast, client):
    for _ in range(2):
        assert _login(client, "bob", WRONG).status_code == 200
    # The failure that reaches the limit is answered with the lockout already.
    assert _login(client, "bob", WRONG).status_code == 429
    # Locked out: even the right password is refused, with a clear message and no session.
    response = _login(client, "bob", PASSWORD)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "15 minutes" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_follows_the_username_to_other_addresses(cast, client):
    for i in range(3):
        _login(client, "bob", WRONG, REMOTE_ADDR=f"203.0.113.{i}")
    assert _login(client, "bob", PASSWORD, REMOTE_ADDR="203.0.113.99").status_code == 429


def test_the_lockout_follows_the_address_to_other_usernames(cast, client):
    for name in ["bob", "alice", "carol"]:
        _login(client, name, WRONG, REMOTE_ADDR="203.0.113.5")
    assert _login(client, "dave", PASSWORD, REMOTE_ADDR="203.0.113.5").status_code == 429
    # Someone else, elsewhere, signs in as usual.
    other = _login(client, "dave", PASSWORD, REMOTE_ADDR="203.0.113.6")
    assert other.status_code == 302


def test_a_new_forwarded_for_each_time_does_not_escape_the_lockout(cast, client):
    for i in range(3):
        _login(client, f"nobody{i}", WRONG, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    locked = _login(client, "bob", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.200")
    assert locked.status_code == 429


def test_behind_a_proxy_the_lockout_is_per_real_client(cast, client, settings):
    settings.BIZI_TRUSTED_PROXIES = 1
    for i in range(3):
        _login(client, f"nobody{i}", WRONG, HTTP_X_FORWARDED_FOR=f"6.6.6.{i}, 198.51.100.1")
    assert _login(client, "bob", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    # Everyone comes through the same proxy: another client behind it is not locked out.
    assert _login(client, "bob", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 302


def test_the_lockout_ends_after_the_cool_off(cast, client):
    for _ in range(3):
        _login(client, "bob", WRONG)
    assert _login(client, "bob", PASSWORD).status_code == 429
    long_ago = AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    AccessAttempt.objects.update(attempt_time=long_ago)
    assert _login(client, "bob", PASSWORD).status_code == 302


def test_a_success_before_the_limit_clears_the_failures(cast, client):
    for _ in range(2):
        _login(client, "bob", WRONG)
    assert _login(client, "bob", PASSWORD).status_code == 302
    client.logout()
    for _ in range(2):
        _login(client, "bob", WRONG)
    assert _login(client, "bob", PASSWORD).status_code == 302


def test_failed_sign_ins_do_not_empty_the_page_cache(cast, client):
    before = cache_versions.versions(cache_versions.SECTIONS)
    for i in range(5):
        _login(client, f"nobody{i}", WRONG, REMOTE_ADDR=f"203.0.113.{i}")
    assert cache_versions.versions(cache_versions.SECTIONS) == before


# --- lockout: the admin ---------------------------------------------------------------------------


def test_the_admin_sign_in_locks_out_too(cast, client):
    url = reverse("admin:login")
    for _ in range(3):
        client.post(url, {"username": "mo", "password": WRONG, "next": "/admin/"})
    response = client.post(url, {"username": "mo", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()


# --- lockout: the token endpoint -----------------------------------------------------------------


def test_the_token_endpoint_locks_out_with_the_apis_error_shape(cast, api):
    for _ in range(2):
        assert _token(api, "bob", WRONG).status_code == 401
    assert _token(api, "bob", WRONG).status_code == 429
    response = _token(api, "bob", PASSWORD)
    assert response.status_code == 429
    body = response.json()
    assert body["status"] == 429 and body["code"] == "locked_out"
    assert "Too many failed sign-in attempts" in body["detail"]
    assert int(response["Retry-After"]) == 15 * 60


def test_failures_on_the_page_and_the_api_add_up(cast, client, api):
    _login(client, "bob", WRONG)
    _token(api, "bob", WRONG)
    _login(client, "bob", WRONG)
    assert _token(api, "bob", PASSWORD).status_code == 429


def test_a_new_forwarded_for_each_time_does_not_escape_the_token_lockout(cast, api):
    for i in range(3):
        _token(api, f"nobody{i}", WRONG, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    response = _token(api, "bob", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert response.status_code == 429


# --- password reset ------------------------------------------------------------------------------


def _reset(client, email, **extra):
    return client.post(reverse("password_reset"), {"email": email}, **extra)


def test_password_reset_is_limited_per_address(cast, client, settings):
    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 3
    for i in range(3):
        assert _reset(client, f"someone{i}@example.invalid").status_code == 302
    response = _reset(client, cast.bob.user.email, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert response.status_code == 429
    assert "Too many password reset requests" in response.content.decode()
    assert mail.outbox == []
    # Another address may still ask.
    assert _reset(client, cast.bob.user.email, REMOTE_ADDR="203.0.113.8").status_code == 302
    assert len(mail.outbox) == 1


def test_password_reset_is_limited_per_email(cast, client, settings):
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 2
    for i in range(2):
        _reset(client, cast.bob.user.email, REMOTE_ADDR=f"203.0.113.{i}")
    assert len(mail.outbox) == 2
    response = _reset(client, cast.bob.user.email.upper(), REMOTE_ADDR="203.0.113.50")
    assert response.status_code == 429
    assert len(mail.outbox) == 2
