"""The Arrow copy of a version: made after the publish by a worker, once, never a fragment,
and left out for good when the rows cannot be read as typed (downloads then parse the CSV)."""

from datetime import timedelta

import pyarrow as pa
import pytest
from django.utils import timezone

from catalog import services
from catalog.models import Dataset, DatasetVersion
from catalog.services import version_arrow_copy, versions_without_arrow_copy
from storage.models import StoredObject
from storage.services import object_open

pytestmark = pytest.mark.django_db


def _version(response) -> DatasetVersion:
    assert response.status_code == 201, response.content
    version = Dataset.objects.get(pk=response.json()["id"]).current_version
    assert version is not None
    return version


def _leftovers(settings) -> list[str]:
    return [p.name for p in settings.CATALOG_UPLOAD_DIR.glob("*.arrow")]


def _age(version: DatasetVersion, seconds: float = 3600) -> None:
    """Make the version older than the sweep interval (the sweep leaves newer ones to the
    task their publish queued)."""
    DatasetVersion.objects.filter(pk=version.pk).update(
        created_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_a_publish_is_ready_before_its_copy_which_is_then_made_once(cast, publish, settings):
    version = _version(publish(cast.bob.user))
    assert version.arrow_object_id is None  # the publish did not wait for it
    assert versions_without_arrow_copy() == []  # just published: its own task is queued
    _age(version)
    assert versions_without_arrow_copy() == [version.pk]

    assert version_arrow_copy(version_id=version.pk) is True
    version.refresh_from_db()
    with object_open(version.arrow_object_id) as raw:
        table = pa.ipc.open_stream(raw.read()).read_all()
    assert table.column_names == version.column_names
    assert table.column("loan_id").to_pylist() == [1, 2, 3]  # typed as downloads read it
    assert versions_without_arrow_copy() == []

    assert version_arrow_copy(version_id=version.pk) is False  # sent twice: nothing more
    assert StoredObject.objects.count() == 2
    assert _leftovers(settings) == []


def test_of_two_runs_at_once_one_copy_is_kept(cast, publish, monkeypatch):
    version = _version(publish(cast.bob.user))
    real = services.object_put  # the name the catalog calls

    def put_while_the_other_run_finishes(stream, *args, **kwargs):
        monkeypatch.setattr(services, "object_put", real)
        assert version_arrow_copy(version_id=version.pk) is True  # the other run
        return real(stream, *args, **kwargs)

    monkeypatch.setattr(services, "object_put", put_while_the_other_run_finishes)
    assert version_arrow_copy(version_id=version.pk) is False
    version.refresh_from_db()
    kept = {version.object_id, version.arrow_object_id}
    assert set(StoredObject.objects.values_list("id", flat=True)) == kept


def test_a_storage_failure_keeps_no_fragment_and_leaves_it_for_the_sweep(
    cast, publish, monkeypatch, settings
):
    version = _version(publish(cast.bob.user))

    def broken(stream, *args, **kwargs):
        stream.read(100)
        raise RuntimeError("a node went away")

    monkeypatch.setattr(services, "object_put", broken)
    with pytest.raises(RuntimeError):
        version_arrow_copy(version_id=version.pk)
    assert list(StoredObject.objects.values_list("id", flat=True)) == [version.object_id]
    assert _leftovers(settings) == []
    _age(version)
    assert versions_without_arrow_copy() == [version.pk]  # beat sends it again


def test_rows_that_cannot_be_read_as_typed_leave_the_version_without_a_copy(
    cast, publish, monkeypatch, settings
):
    version = _version(publish(cast.bob.user))

    def refuse(source, schema, sink):
        with open(sink, "wb") as out:
            out.write(b"\xff" * 70_000)  # part of a stream, then the failure
        raise pa.ArrowInvalid("a value does not read as its type")

    monkeypatch.setattr(services, "write_arrow_copy", refuse)
    assert version_arrow_copy(version_id=version.pk) is False
    version.refresh_from_db()
    assert version.arrow_object_id is None
    assert "does not read as its type" in version.arrow_error
    assert list(StoredObject.objects.values_list("id", flat=True)) == [version.object_id]
    assert _leftovers(settings) == []
    _age(version)
    assert versions_without_arrow_copy() == []  # not tried again and again


def test_the_publish_queues_the_copy_after_its_commit(
    cast, publish, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = _version(publish(cast.bob.user))
    assert ("catalog.tasks.make_arrow_copy", (version.pk,)) in sent_tasks
