"""A suspended or withdrawn listing freezes access (issue 14, finding 4): its requests are not
cleared or approved, its grants' downloads answer 403 with the reason, on the API and the
page, and restoring resumes them. The listing, request and grant pages say so."""

import pytest
from django.urls import reverse

from access import services
from access.models import Download, Grant
from catalog.services import dataset_restore, dataset_suspend, dataset_withdraw
from portal.errors import DomainError

pytestmark = pytest.mark.django_db


def fetch(api, user, grant):  # type: ignore[no-untyped-def]
    api.force_authenticate(user)
    response = api.get(f"/api/v1/grants/{grant.pk}/data/", {"format": "csv"})
    if response.streaming:
        b"".join(response.streaming_content)
    return response


def test_a_suspended_listing_stops_downloads_until_it_is_restored(cast, api, client, granted):
    grant = granted()
    dataset = grant.request.dataset
    assert fetch(api, cast.dave.user, grant).status_code == 200
    dataset_suspend(user=cast.mo, dataset=dataset, reason="Under review for a data breach")
    grant = Grant.objects.get(pk=grant.pk)
    response = fetch(api, cast.dave.user, grant)
    assert response.status_code == 403
    detail = response.json()["detail"]
    assert "suspended" in detail and "Under review for a data breach" in detail
    assert Download.objects.count() == 1  # the refused one is no download

    client.force_login(cast.dave.user)
    response = client.get(reverse("grant-download", args=[grant.pk]), {"format": "csv"})
    assert response.status_code == 403
    assert "Under review for a data breach" in response.content.decode()
    page = client.get(reverse("grants")).content.decode()
    assert 'data-testid="grant-frozen"' in page and "Under review" in page
    assert f'action="{reverse("grant-download", args=[grant.pk])}"' not in page

    dataset_restore(user=cast.mo, dataset=dataset, reason="Cleared")
    assert fetch(api, cast.dave.user, Grant.objects.get(pk=grant.pk)).status_code == 200
    page = client.get(reverse("grants")).content.decode()
    assert 'data-testid="grant-frozen"' not in page


def test_a_withdrawn_listing_stops_downloads(cast, api, granted):
    grant = granted()
    dataset_withdraw(user=cast.alice.user, dataset=grant.request.dataset, reason="Stale data")
    response = fetch(api, cast.dave.user, Grant.objects.get(pk=grant.pk))
    assert response.status_code == 403
    assert "withdrawn" in response.json()["detail"] and "Stale data" in response.json()["detail"]


def test_requests_of_a_suspended_listing_are_not_approved(cast, api, listing, ask):
    dataset = listing()
    request = ask(dataset)
    dataset_suspend(user=cast.mo, dataset=dataset, reason="Check")
    with pytest.raises(DomainError, match="suspended") as caught:
        services.access_request_approve(user=cast.alice.user, request=request)
    assert caught.value.code == "conflict"
    api.force_authenticate(cast.alice.user)
    response = api.post(f"/api/v1/requests/{request.pk}/approve/", {}, format="json")
    assert response.status_code == 400
    assert "suspended" in str(response.json()["fields"])
    assert not Grant.objects.exists()
    # Denying still works: it gives nothing away.
    services.access_request_deny(user=cast.alice.user, request=request, reason="Suspended")


def test_requests_of_a_suspended_listing_are_not_cleared(cast, client, listing, ask):
    dataset = listing("confidential")
    request = ask(dataset)
    dataset_suspend(user=cast.mo, dataset=dataset, reason="Check")
    with pytest.raises(DomainError, match="suspended"):
        services.access_request_clear(user=cast.mo, request=request)
    client.force_login(cast.mo)
    response = client.post(reverse("access-request-clear", args=[request.pk]), follow=True)
    assert "suspended" in response.content.decode()
    request.refresh_from_db()
    assert request.state == "pending_moderation"
    dataset_restore(user=cast.mo, dataset=dataset, reason="Fine")
    services.access_request_clear(user=cast.mo, request=request)


def test_requests_of_a_withdrawn_listing_are_not_approved(cast, listing, ask):
    dataset = listing()
    request = ask(dataset)
    dataset_withdraw(user=cast.alice.user, dataset=dataset, reason="Gone")
    with pytest.raises(DomainError, match="withdrawn"):
        services.access_request_approve(user=cast.alice.user, request=request)


def test_the_listing_and_request_pages_say_access_is_frozen(cast, client, listing, ask):
    dataset = listing()
    request = ask(dataset)
    dataset_suspend(user=cast.mo, dataset=dataset, reason="Check")
    client.force_login(cast.alice.user)
    page = client.get(reverse("dataset", args=[dataset.pk])).content.decode()
    assert 'data-testid="frozen-notice"' in page and "no data" in page
    page = client.get(reverse("access-request", args=[request.pk])).content.decode()
    assert 'data-testid="frozen-notice"' in page
    assert 'data-testid="approve-form"' not in page
