"""Withdraw, suspend and restore on the listing page: a missing reason is shown on the form
that was sent (opened, with the error tied to its field), not as a message elsewhere."""

import pytest
from django.urls import reverse

from catalog.models import Dataset

pytestmark = pytest.mark.django_db


def test_a_suspension_without_a_reason_is_refused_on_its_form(cast, client, publish):
    dataset = Dataset.objects.get(pk=publish(cast.bob.user).json()["id"])
    client.force_login(cast.mo)
    response = client.post(reverse("dataset-suspend", args=[dataset.pk]), {"reason": "   "})
    assert response.status_code == 400
    page = response.content.decode()
    assert "<details open><summary>Suspend this listing</summary>" in page
    assert 'id="suspend-reason_error">Say why, in a few words.</p>' in page
    assert 'aria-describedby="suspend-reason_error"' in page
    dataset.refresh_from_db()
    assert dataset.status == Dataset.Status.ACTIVE
    response = client.post(reverse("dataset-suspend", args=[dataset.pk]), {"reason": "Check."})
    assert response.status_code == 302
    dataset.refresh_from_db()
    assert dataset.status == Dataset.Status.SUSPENDED


def test_a_status_conflict_goes_back_to_the_listing(cast, client, publish):
    dataset = Dataset.objects.get(pk=publish(cast.bob.user).json()["id"])
    client.force_login(cast.mo)
    response = client.post(
        reverse("dataset-restore", args=[dataset.pk]), {"reason": "Fine."}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("dataset", args=[dataset.pk])
    assert "it cannot be restored" in response.content.decode()
