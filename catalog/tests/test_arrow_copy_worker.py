"""A real worker on Redis makes the Arrow copy a publish queues, and beat's sweep queues the
ones missing; the download then reads the copy and gives the same bytes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Dataset, DatasetVersion
from catalog.tasks import sweep_arrow_copies
from conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_the_worker_makes_the_copy_and_the_sweep_finds_the_missing(cast, publish, celery_worker):
    response = publish(cast.bob.user)
    assert response.status_code == 201, response.content
    version = Dataset.objects.get(pk=response.json()["id"]).current_version
    made = wait_for(
        lambda: DatasetVersion.objects.filter(pk=version.pk, arrow_object_id__isnull=False).first()
    )
    first = made.arrow_object_id

    # A copy lost with the broker (here: forgotten by hand) is queued again by the sweep.
    DatasetVersion.objects.filter(pk=version.pk).update(
        arrow_object_id=None, created_at=timezone.now() - timedelta(hours=1)
    )
    sweep_arrow_copies.delay()
    again = wait_for(
        lambda: DatasetVersion.objects.filter(pk=version.pk, arrow_object_id__isnull=False).first()
    )
    assert again.arrow_object_id != first
