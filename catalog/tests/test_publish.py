"""Publishing a CSV: the listing it makes, the bad files it refuses, and all-or-nothing."""

import pytest
from django.urls import reverse

from catalog.models import Dataset, DatasetUpload, DatasetVersion
from catalog.tests.conftest import LOANS, META
from ledger.models import OutboxEvent
from storage.cid import cid_of_bytes
from storage.models import StoredObject
from storage.services import object_open

pytestmark = pytest.mark.django_db


def _nothing_stored() -> None:
    assert not Dataset.objects.exists()
    assert not DatasetVersion.objects.exists()
    assert not DatasetUpload.objects.exists()
    assert not StoredObject.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_publishing_makes_a_listing_with_schema_rows_size_and_cid(cast, publish):
    response = publish(cast.bob.user)
    assert response.status_code == 201, response.json()
    body = response.json()
    version = body["current_version"]
    assert body["institution"] == "acme" and body["tags"] == ["loans", "sme"]
    assert version["row_count"] == 3 and version["size_bytes"] == len(LOANS)
    assert version["cid"] == cid_of_bytes(LOANS)
    assert [(c["name"], c["type"], c["null_count"]) for c in version["columns"]] == [
        ("loan_id", "integer", 0),
        ("amount", "decimal", 1),
        ("opened", "date", 0),
        ("defaulted", "boolean", 0),
        ("region", "text", 1),
    ]
    stored = DatasetVersion.objects.get()
    with object_open(stored.object_id) as data:
        assert data.read() == LOANS
    event = OutboxEvent.objects.get()
    assert event.kind == "dataset.published"


def test_a_new_upload_makes_a_new_version_and_keeps_the_old(cast, publish, api, csv_file):
    dataset_id = publish(cast.bob.user).json()["id"]
    more = LOANS + b"4,99.99,2024-04-01,false,east\n"
    response = api.post(
        reverse("api-dataset-versions", args=[dataset_id]),
        {"file": csv_file(more)},
        format="multipart",
    )
    assert response.status_code == 201
    body = response.json()
    assert [v["number"] for v in body["versions"]] == [2, 1]
    assert body["current_version"]["row_count"] == 4
    assert StoredObject.objects.count() == 2
    assert list(OutboxEvent.objects.values_list("kind", flat=True)) == [
        "dataset.published",
        "dataset.versioned",
    ]


BAD_FILES = [
    (b"", None, None, "empty"),
    (b"a,b\n1,2\n\x00\x01\x02\x03binary", None, None, "binary"),
    (b"loan_id,amount\n", None, None, "no data rows"),
    (b"loan_id,amount\n1,2\n3,4,5\n6,7\n", 3, None, "expected 2"),
    (b"loan_id,loan_id\n1,2\n", 1, "loan_id", "same name"),
    (b"loan_id,,x\n1,2,3\n", 1, None, "no name"),
    (b"loan_id,amount\n1,2\n3,\xff\xfe\n", 3, None, "UTF-8"),
]


@pytest.mark.parametrize(("content", "line", "column", "words"), BAD_FILES)
def test_bad_files_are_refused_by_the_api_naming_line_and_column(
    cast, publish, content, line, column, words
):
    response = publish(cast.bob.user, content)
    assert response.status_code == 400
    body = response.json()
    problem = body["problems"][0]
    assert words.lower() in problem["message"].lower(), problem
    if line is not None:
        assert problem["line"] == line
        assert f"line {line}" in body["fields"]["file"][0]
    if column is not None:
        assert problem["column"] == column
    _nothing_stored()


@pytest.mark.parametrize(("content", "line", "column", "words"), BAD_FILES)
def test_bad_files_are_refused_by_the_page_naming_the_line(
    cast, client, csv_file, content, line, column, words
):
    client.force_login(cast.bob.user)
    response = client.post(reverse("publish"), {**META, "file": csv_file(content)})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_file-errors"' in page
    if line is not None:
        assert f"line {line}" in page
    _nothing_stored()


def test_many_problems_are_capped_at_twenty_with_a_count(cast, publish):
    content = b"a,b\n" + b"1,2,3\n" * 30
    response = publish(cast.bob.user, content)
    body = response.json()
    assert len(body["problems"]) == 20
    assert body["fields"]["file"][-1] == "…and 10 more problems."


def test_a_failure_while_storing_leaves_nothing(cast, publish, monkeypatch, settings, tmp_path):
    from catalog import services

    def broken(upload, stored, report, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services, "_make_version", broken)
    with pytest.raises(RuntimeError):
        publish(cast.bob.user)
    _nothing_stored()
    from storage.models import Shard

    assert not Shard.objects.exists()


def test_metadata_is_validated_with_field_errors(cast, publish):
    response = publish(cast.bob.user, title="", sensitivity="top-secret")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"title", "sensitivity"}
    _nothing_stored()


def test_large_files_are_checked_and_stored_by_a_task(cast, publish, settings):
    settings.CATALOG_SYNC_BYTES = 10
    response = publish(cast.bob.user)
    assert response.status_code == 202
    upload = DatasetUpload.objects.get(pk=response.json()["id"])
    assert upload.state == "received"
    from catalog.services import upload_process

    done = upload_process(upload_id=str(upload.pk))
    assert done.state == "ready" and done.dataset.current_version.row_count == 3
    assert upload_process(upload_id=str(upload.pk)).state == "ready"  # a second run: no-op
    assert DatasetVersion.objects.count() == 1


def test_a_large_bad_file_fails_with_its_problems(cast, publish, settings, api):
    settings.CATALOG_SYNC_BYTES = 10
    response = publish(cast.bob.user, b"amount,b\n1,2,3\n")
    assert response.status_code == 202, response.json()
    from catalog.services import upload_process

    upload = upload_process(upload_id=response.json()["id"])
    assert upload.state == "failed"
    status = api.get(reverse("api-upload", args=[upload.pk])).json()
    assert status["problems"][0]["line"] == 2
    assert not StoredObject.objects.exists() and not Dataset.objects.exists()
