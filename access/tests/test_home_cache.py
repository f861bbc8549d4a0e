"""The cached home page shows access changes at once: requests, decisions, notifications,
and grants that expire by the clock (the cache itself: portal/tests/test_page_cache.py)."""

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from access import services as access
from access.models import Grant
from access.notifications import mark_read
from portal.tests.test_page_cache import ACTIVE, WAITING, cached_home_page, home_page, item_count

pytestmark = pytest.mark.django_db


def test_a_new_request_shows_on_the_stewards_home_at_once(cast, client, listing, ask):
    dataset = listing()
    client.force_login(cast.alice.user)
    home_page(client)
    assert item_count(cached_home_page(client), WAITING) == 0
    request = ask(dataset)
    assert item_count(home_page(client), WAITING) == 1
    assert item_count(cached_home_page(client), WAITING) == 1
    access.access_request_deny(user=cast.alice.user, request=request, reason="Not for this use.")
    assert item_count(home_page(client), WAITING) == 0


def test_notifications_read_elsewhere_leave_the_badge_at_once(cast, client, listing, ask):
    ask(listing())  # alice, the steward, is notified
    client.force_login(cast.alice.user)
    home_page(client)
    assert 'data-testid="unread-count">1<' in cached_home_page(client)
    mark_read(user=cast.alice.user)  # as the notifications page does
    assert "unread-count" not in home_page(client)


def test_a_grant_expiring_by_the_clock_leaves_the_home_page_at_once(cast, client, granted):
    grant = granted()
    soon = timezone.now() + timedelta(minutes=5)
    Grant.objects.filter(pk=grant.pk).update(expires_at=soon)
    client.force_login(cast.dave.user)
    home_page(client)
    assert item_count(cached_home_page(client), ACTIVE) == 1
    later = soon + timedelta(seconds=1)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert item_count(home_page(client), ACTIVE) == 0  # no write happened: the clock did it
