"""Access pages: the request form on the listing, live filter checks, the queue, decisions,
home items per role, and notifications with their unread count in the navigation."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from access import services
from access.models import AccessRequest, Grant, Notification

from .conftest import PURPOSE

pytestmark = pytest.mark.django_db


def test_the_listing_page_offers_the_request_form_to_other_institutions(cast, client, listing):
    dataset = listing()
    client.force_login(cast.dave.user)
    page = client.get(reverse("dataset", args=[dataset.pk])).content.decode()
    assert 'data-testid="request-form"' in page
    assert 'name="columns" value="customer"' in page
    client.force_login(cast.bob.user)  # the owner does not ask for its own data
    page = client.get(reverse("dataset", args=[dataset.pk])).content.decode()
    assert 'data-testid="request-form"' not in page


def test_sending_the_form_and_its_errors(cast, client, listing):
    dataset = listing()
    client.force_login(cast.dave.user)
    url = reverse("access-request-new", args=[dataset.pk])
    bad = client.post(
        url,
        {"purpose": "short", "columns": ["loan_id"], "filter": "", "duration_days": "30"},
    )
    assert bad.status_code == 400
    assert "at least 20 characters" in bad.content.decode()
    bad = client.post(
        url,
        {
            "purpose": PURPOSE,
            "columns": ["loan_id"],
            "filter": "loan_id > 'x'",
            "duration_days": "9",
        },
    )
    assert bad.status_code == 400 and "not an integer value" in bad.content.decode()
    good = client.post(
        url,
        {"purpose": PURPOSE, "columns": ["loan_id", "region"], "filter": "", "duration_days": "9"},
    )
    request = AccessRequest.objects.get()
    assert good.status_code == 302 and good["Location"] == reverse(
        "access-request", args=[request.pk]
    )
    assert request.columns == ["loan_id", "region"] and request.duration_days == 9
    page = client.get(reverse("dataset", args=[dataset.pk])).content.decode()
    assert f'request <a href="/access/requests/{request.pk}/">#{request.pk}</a>' in page


def test_live_filter_check(cast, client, listing):
    dataset = listing()
    client.force_login(cast.dave.user)
    url = reverse("access-filter-check", args=[dataset.pk])
    assert client.post(url, {"filter": "AMOUNT > 1"}).json() == {
        "ok": False,
        "error": "Row filter: there is no column “AMOUNT” (at character 1).",
    }
    assert client.post(url, {"filter": "region='north'  AND amount>1"}).json() == {
        "ok": True,
        "canonical": "region = 'north' and amount > 1",
    }


def test_the_queue_is_oldest_first_with_its_age(cast, client, listing, ask):
    first = ask(listing("confidential"))
    second = ask(listing("restricted"))
    client.force_login(cast.mo)
    page = client.get(reverse("access-moderation")).content.decode()
    assert page.index(f"#{first.pk}<") < page.index(f"#{second.pk}<")
    assert "minute" in page  # "0 minutes" waiting


def test_the_steward_decides_on_the_page(cast, client, listing, ask):
    request = ask(listing())
    client.force_login(cast.alice.user)
    page = client.get(reverse("access-request", args=[request.pk])).content.decode()
    assert 'data-testid="approve-form"' in page
    assert '<option value="year_only">' in page  # for the date column
    response = client.post(
        reverse("access-request-approve", args=[request.pk]),
        {
            "columns": ["loan_id", "opened", "customer"],
            "mask-customer": "truncate",
            "mask-n-customer": "3",
            "mask-opened": "year_only",
            "extra_filter": "loan_id > 1",
            "duration_days": "7",
        },
    )
    assert response.status_code == 302
    grant = Grant.objects.get()
    assert grant.columns == ["loan_id", "opened", "customer"]
    assert grant.masks == {"customer": "truncate:3", "opened": "year_only"}
    assert grant.filter == "loan_id > 1"


def test_home_shows_what_waits_for_each_role(cast, client, listing, ask, granted):
    ask(listing("confidential"))
    ask(listing())
    granted(user=cast.carol.user)
    client.force_login(cast.alice.user)
    page = client.get(reverse("home")).content.decode()
    assert "Requests awaiting your decision" in page
    client.force_login(cast.mo)
    page = client.get(reverse("home")).content.decode()
    assert "Requests in the moderation queue" in page
    client.force_login(cast.dave.user)
    page = client.get(reverse("home")).content.decode()
    assert "pending requests" in page and "Active grants to your institution" in page


def test_notifications_reach_the_right_people_after_commit(
    cast, client, listing, ask, django_capture_on_commit_callbacks
):
    dataset = listing("confidential")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request = ask(dataset)
    assert mail.outbox == []  # nothing is sent before the commit
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [[cast.mo.email]]
    with django_capture_on_commit_callbacks(execute=True):
        services.access_request_clear(user=cast.mo, request=request)
    recipients = sorted(m.to[0] for m in mail.outbox[1:])
    assert recipients == sorted([cast.dave.user.email, cast.alice.user.email])
    assert Notification.objects.filter(user=cast.bob.user).count() == 0  # staff, not steward

    client.force_login(cast.dave.user)
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse("grants")).content.decode()
    assert '<span class="badge" data-testid="unread-count">1</span>' in page
    assert sum("portal_notification" in q["sql"] for q in queries) == 1
    client.post(reverse("notifications"))
    page = client.get(reverse("grants")).content.decode()
    assert 'data-testid="unread-count"' not in page
