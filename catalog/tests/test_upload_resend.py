"""A large upload is a row that beat sends again until a worker claims it: `received` ones
whose message was lost, and `checking` ones whose worker died. A message delivered twice, or a
run that hung and was taken over, still makes one version."""

from datetime import timedelta

import pytest
from django.utils import timezone

from catalog import services
from catalog.models import DatasetUpload, DatasetVersion
from catalog.services import UPLOAD_STALE_SECONDS, upload_process, uploads_unsent
from catalog.tasks import sweep_uploads
from storage.models import StoredObject

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(cast, publish, settings):
    """A large upload as the publish left it: `received`, its task sent (or not)."""
    settings.CATALOG_SYNC_BYTES = 10

    def make() -> DatasetUpload:
        response = publish(cast.bob.user)
        assert response.status_code == 202, response.content
        return DatasetUpload.objects.get(pk=response.json()["id"])

    return make


def _age(upload: DatasetUpload, seconds: float, **fields: object) -> None:
    DatasetUpload.objects.filter(pk=upload.pk).update(
        updated_at=timezone.now() - timedelta(seconds=seconds), **fields
    )


def test_the_sweep_sends_received_uploads_once_they_had_time_for_their_own(
    queued, settings, sent_tasks
):
    fresh, lost = queued(), queued()
    _age(lost, settings.CATALOG_UPLOAD_RESEND_SECONDS + 1)
    assert uploads_unsent() == [str(lost.pk)]
    assert sweep_uploads() == 1
    assert sent_tasks == [("catalog.tasks.process_upload", (str(lost.pk),))]
    assert str(fresh.pk) not in uploads_unsent()


def test_a_worker_that_died_while_checking_is_taken_over(queued, settings):
    upload = queued()
    _age(upload, settings.CATALOG_UPLOAD_RESEND_SECONDS + 1, state="checking")
    assert uploads_unsent() == [], "checking, with recent enough progress: someone is on it"
    assert upload_process(upload_id=str(upload.pk)).state == "checking", "claimed: not run"

    _age(upload, UPLOAD_STALE_SECONDS + 1, state="checking")
    assert uploads_unsent() == [str(upload.pk)]
    done = upload_process(upload_id=str(upload.pk))
    assert done.state == "ready" and DatasetVersion.objects.count() == 1


def test_finished_uploads_are_never_sent_again(queued):
    upload = queued()
    upload_process(upload_id=str(upload.pk))
    _age(upload, UPLOAD_STALE_SECONDS + 1)
    assert uploads_unsent() == []
    assert upload_process(upload_id=str(upload.pk)).state == "ready"
    assert DatasetVersion.objects.count() == 1


def test_a_run_taken_over_while_it_hung_undoes_its_own_copy(queued, monkeypatch):
    upload = queued()
    real = services._check_while_storing

    def store_then_hang(row, path):
        outcome = real(row, path)  # this run has stored the file; now it hangs so long...
        monkeypatch.setattr(services, "_check_while_storing", real)
        _age(row, UPLOAD_STALE_SECONDS + 1, state="checking")
        # ...that beat sends the upload again and another run takes it over and finishes.
        assert upload_process(upload_id=str(row.pk)).state == "ready"
        return outcome

    monkeypatch.setattr(services, "_check_while_storing", store_then_hang)
    assert upload_process(upload_id=str(upload.pk)).state == "ready"
    version = DatasetVersion.objects.get()  # one version, from the run that finished first
    assert set(StoredObject.objects.values_list("id", flat=True)) == {version.object_id}
