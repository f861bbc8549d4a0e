"""Notification e-mails link to pages by absolute URLs under PORTAL_BASE_URL."""

import pytest
from django.core import mail
from django.urls import reverse

from access.models import Notification
from access.notifications import absolute_url
from portal.tests.test_deploy_settings import PRODUCTION, _manage


@pytest.mark.django_db
def test_mailed_links_are_absolute_and_in_app_links_stay_paths(
    cast, listing, ask, settings, django_capture_on_commit_callbacks
):
    settings.PORTAL_BASE_URL = "https://bizi.example.org/"  # a trailing slash is fine
    with django_capture_on_commit_callbacks(execute=True):
        request = ask(listing())
    path = reverse("access-request", args=[request.pk])
    [message] = mail.outbox
    assert f"\nhttps://bizi.example.org{path}\n" in message.body
    assert Notification.objects.get(user=cast.alice.user).url == path


@pytest.mark.parametrize(
    ("base", "url", "expected"),
    [
        ("http://127.0.0.1:8000", "/grants/", "http://127.0.0.1:8000/grants/"),
        ("https://x.example/portal/", "/grants/", "https://x.example/portal/grants/"),
        ("https://x.example", "https://other.example/a", "https://other.example/a"),
        ("https://x.example", "", ""),
    ],
)
def test_absolute_url(settings, base, url, expected):
    settings.PORTAL_BASE_URL = base
    assert absolute_url(url) == expected


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (None, "PORTAL_BASE_URL"),
        ("http://bizi.example.org", "https://"),
        ("https://elsewhere.example.org", "not in ALLOWED_HOSTS"),
    ],
)
def test_production_needs_a_portal_base_url_it_serves(value, says):
    env = {k: v for k, v in PRODUCTION.items() if k != "PORTAL_BASE_URL"}
    if value is not None:
        env["PORTAL_BASE_URL"] = value
    result = _manage("check", **env)
    assert result.returncode != 0
    assert says in result.stderr
