"""The first upload handler: it decides before any byte of a file reaches memory or disk.

Django parses a multipart body wherever something first reads `request.POST` or
`request.FILES`, and that is not always the view: the CSRF check of a page reads the form
before the view can say "sign in first", and an API view reads the body before the service
says "not your listing". So the check happens here, when the parser starts:

* to an upload address (publish, a new version) the body is refused unless this person may
  publish there: a signed-in member of an institution for a new listing, the listing's own
  institution for a new version (`UploadForbidden`, a 403, before the body is read at all);
* anywhere else a file part is refused as it begins (nothing else takes files);
* a body whose Content-Length is over CATALOG_MAX_UPLOAD_BYTES (with a little room for the
  form's other fields) is refused before it is read, and a file is cut off as soon as it
  passes the limit (`UploadTooLarge`, a 413), not after it has arrived.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler
from django.urls import Resolver404, resolve

from catalog.models import Dataset
from portal.permissions import Perm, can

# Room for the metadata fields and the multipart framing around the file.
FORM_ROOM_BYTES = 1 << 20
# Address name -> whether it names an existing listing (a new version) or none (publish).
UPLOAD_URLS = {
    "publish": False,
    "api-datasets": False,
    "dataset-new-version": True,
    "api-dataset-versions": True,
}


class UploadForbidden(PermissionDenied):
    """A file sent by someone who may not upload it there (answered 403 with the reason)."""


class UploadTooLarge(RequestDataTooBig):
    """A body or file past CATALOG_MAX_UPLOAD_BYTES (answered 413 with the limit)."""

    status_code = 413


def too_large_message() -> str:
    return f"The file is larger than the limit of {settings.CATALOG_MAX_UPLOAD_BYTES:,} bytes."


def upload_refusal(request: Any) -> str | None:
    """Why this request may not carry a file to its address; None if it may."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return "This address takes no files."
    if match.url_name not in UPLOAD_URLS:
        return "This address takes no files."
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return "Sign in to upload a dataset."
    if not UPLOAD_URLS[match.url_name]:
        if not can(user, Perm.DATASET_PUBLISH):
            return "You may not upload datasets: only members of an institution publish."
        return None
    pk = match.kwargs.get("pk")
    dataset = Dataset.objects.filter(pk=pk).first() if pk is not None else None
    if dataset is None or not can(user, Perm.DATASET_EDIT, dataset):
        return "You may not upload a new version of this listing: it is not your institution's."
    return None


class GuardedUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS; passes every chunk on to Django's own handlers."""

    def handle_raw_input(
        self,
        input_data: Any,
        META: dict,
        content_length: int,
        boundary: bytes | str,  # Django passes bytes; django-stubs declare str
        encoding: str | None = None,
    ) -> None:
        self.refusal: str | None = None
        self.to_upload_url = False
        request = self.request
        assert request is not None, "HttpRequest.upload_handlers builds each with its request"
        with contextlib.suppress(Resolver404):
            self.to_upload_url = resolve(request.path_info).url_name in UPLOAD_URLS
        if self.to_upload_url:
            refusal = upload_refusal(request)
            if refusal:
                raise UploadForbidden(refusal)
            if content_length > settings.CATALOG_MAX_UPLOAD_BYTES + FORM_ROOM_BYTES:
                raise UploadTooLarge(too_large_message())
        else:
            self.refusal = "This address takes no files."
        return None

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "refusal", None):
            raise UploadForbidden(self.refusal)
        # Django's TemporaryFileUploadHandler, further down, streams the file into this folder.
        Path(settings.FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
        super().new_file(field_name, file_name, *args, **kwargs)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > settings.CATALOG_MAX_UPLOAD_BYTES:
            raise UploadTooLarge(too_large_message())
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None
