"""Uploads are refused at the edge: an anonymous client, or someone who may not publish to
the address, is refused before the file's first byte reaches a file on disk; an upload past
CATALOG_MAX_UPLOAD_BYTES is cut off at the limit, not after it arrived (issue 14, finding 6)."""

import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import MemoryFileUploadHandler, TemporaryFileUploadHandler
from django.test import Client
from django.urls import reverse

from catalog.models import Dataset, DatasetUpload
from catalog.tests.conftest import LOANS, META

pytestmark = pytest.mark.django_db


@pytest.fixture
def received(monkeypatch):  # type: ignore[no-untyped-def]
    """The bytes Django's own handlers (memory, temporary file) were given, per file."""
    got: list[int] = []
    for cls in (MemoryFileUploadHandler, TemporaryFileUploadHandler):
        original_new, original_chunk = cls.new_file, cls.receive_data_chunk

        def new_file(self, *args, _original=original_new, **kwargs):  # type: ignore[no-untyped-def]
            got.append(0)
            return _original(self, *args, **kwargs)

        def chunk(self, raw, start, _original=original_chunk):  # type: ignore[no-untyped-def]
            got[-1] += len(raw)
            return _original(self, raw, start)

        monkeypatch.setattr(cls, "new_file", new_file)
        monkeypatch.setattr(cls, "receive_data_chunk", chunk)
    return got


def big_csv(size: int) -> bytes:
    row = b"9,100.00,2024-01-01,false,north\n"
    return LOANS + row * (size // len(row))


def temp_files(settings) -> list[str]:  # type: ignore[no-untyped-def]
    return os.listdir(settings.FILE_UPLOAD_TEMP_DIR)


def test_the_guard_comes_first(settings):
    assert settings.FILE_UPLOAD_HANDLERS[0] == "catalog.uploads.GuardedUploadHandler"
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 2 * 1024**2


def test_an_anonymous_upload_with_a_csrf_cookie_writes_nothing(settings, csv_file, received):
    before = temp_files(settings)
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("login"))  # a CSRF cookie, as any visitor gets one
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("publish"),
        {**META, "file": csv_file(big_csv(3 * 1024**2)), "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 403
    assert received == []  # not a chunk reached memory or a temporary file
    assert temp_files(settings) == before
    assert not DatasetUpload.objects.exists()


def test_an_anonymous_api_upload_writes_nothing(api, csv_file, received):
    response = api.post("/api/v1/datasets/", {**META, "file": csv_file()}, format="multipart")
    assert response.status_code in (401, 403)
    assert received == []


def test_a_new_version_of_another_institutions_listing_writes_nothing(
    cast, publish, api, client, csv_file, received, settings
):
    dataset_id = publish(cast.bob.user).json()["id"]
    received.clear()
    before = temp_files(settings)
    api.force_authenticate(cast.dave.user)  # Beta staff: not Acme's listing
    response = api.post(
        f"/api/v1/datasets/{dataset_id}/versions/", {"file": csv_file()}, format="multipart"
    )
    assert response.status_code == 403, response.content
    body = response.json()
    assert body["status"] == 403 and "upload" in body["detail"].lower()
    client.force_login(cast.dave.user)
    response = client.post(
        reverse("dataset-new-version", args=[dataset_id]), {"file": csv_file(big_csv(3 << 20))}
    )
    assert response.status_code == 403
    assert received == []
    assert temp_files(settings) == before
    assert Dataset.objects.get().versions.count() == 1


def test_an_upload_past_the_limit_stops_at_the_limit(cast, publish, received, settings):
    settings.CATALOG_MAX_UPLOAD_BYTES = 200_000
    # Within the Content-Length allowance (limit + room for the form), past the limit.
    response = publish(cast.bob.user, content=big_csv(1 << 20))
    assert response.status_code == 413, response.content
    body = response.json()
    assert body["status"] == 413 and "200,000 bytes" in body["detail"]
    assert received and received[0] <= settings.CATALOG_MAX_UPLOAD_BYTES
    assert not DatasetUpload.objects.exists()


def test_the_page_says_the_upload_is_too_large(cast, client, csv_file, received, settings):
    settings.CATALOG_MAX_UPLOAD_BYTES = 200_000
    client.force_login(cast.bob.user)
    response = client.post(reverse("publish"), {**META, "file": csv_file(big_csv(1 << 20))})
    assert response.status_code == 413
    assert "200,000 bytes" in response.content.decode()
    assert received[0] <= settings.CATALOG_MAX_UPLOAD_BYTES


def test_a_body_larger_than_the_limit_is_refused_by_its_length(cast, api, settings):
    settings.CATALOG_MAX_UPLOAD_BYTES = 1000
    api.force_authenticate(cast.bob.user)
    response = api.post(
        "/api/v1/datasets/",
        {**META, "file": SimpleUploadedFile("x.csv", big_csv(100_000), content_type="text/csv")},
        format="multipart",
    )
    assert response.status_code == 413


def test_a_small_upload_still_publishes(cast, publish):
    assert publish(cast.bob.user).status_code == 201


def test_a_json_body_past_data_upload_max_memory_size_answers_413(cast, api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    api.force_authenticate(cast.dave.user)
    response = api.post(
        "/api/v1/requests/",
        {"dataset": 1, "purpose": "x" * 5000, "columns": ["a"], "duration_days": 1},
        format="json",
    )
    assert response.status_code == 413
    assert response.json()["status"] == 413


def test_a_form_past_data_upload_max_memory_size_answers_413(cast, client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.force_login(cast.bob.user)
    response = client.post(reverse("publish"), {**META, "description": "x" * 5000})
    assert response.status_code == 413
    assert "larger than this page takes" in response.content.decode()


def test_a_token_client_publishes_and_another_institution_is_refused(cast, api, csv_file):
    from consortium.tests.test_tokens import _token

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {_token(api, 'bob').json()['token']}")
    response = api.post("/api/v1/datasets/", {**META, "file": csv_file()}, format="multipart")
    assert response.status_code == 201, response.content
    dataset_id = response.json()["id"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {_token(api, 'dave').json()['token']}")
    response = api.post(
        f"/api/v1/datasets/{dataset_id}/versions/", {"file": csv_file()}, format="multipart"
    )
    assert response.status_code == 403
