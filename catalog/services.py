"""State changes of the catalog: publish, version, edit, withdraw, suspend, restore.

A file becomes a listing in three steps: it is received (streamed to disk by the upload
handler and moved under CATALOG_UPLOAD_DIR), checked (catalog.csvcheck), and stored
(storage.services). Small files go through all three while the request waits; larger ones are
handed to a Celery task after the first, and the page follows the upload's state. Either way
a file that fails leaves nothing behind: no shards, no listing, no version, no ledger event.
"""

from __future__ import annotations

import io
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog import limits
from catalog.arrow_copy import write_arrow_copy
from catalog.csvcheck import CsvReport, check_csv
from catalog.models import Dataset, DatasetUpload, DatasetVersion, Tag
from catalog.selectors import dataset_scope
from ledger.services import record_event
from portal import tasking
from portal.errors import DomainError
from portal.permissions import Perm, actor_for, require
from storage.services import object_delete, object_open, object_put

log = logging.getLogger(__name__)

METADATA_FIELDS = ("title", "description", "category", "sensitivity", "terms", "tags")


class CsvRejected(DomainError):
    """The file is not a CSV the catalog can take; `problems` says where and why."""

    def __init__(self, problems: list[dict[str, Any]], more: int) -> None:
        first = problems[0]["message"] if problems else "The file was refused."
        super().__init__(first, field="file", code="bad_csv")
        self.problems = problems
        self.more = more

    @property
    def messages(self) -> list[str]:
        lines = [p["text"] for p in self.problems]
        if self.more:
            lines.append(f"…and {self.more} more problems.")
        return lines

    @property
    def details(self) -> list[dict[str, Any]]:
        return [{k: p[k] for k in ("line", "column", "message")} for p in self.problems]


def _problem_dicts(report: CsvReport) -> list[dict[str, Any]]:
    return [
        {"line": p.line, "column": p.column, "message": p.message, "text": str(p)}
        for p in report.problems
    ]


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags lower-cased, stripped and without repeats, within `limits`."""
    cleaned: list[str] = []
    for tag in tags:
        tag = tag.strip().lower()
        if tag and tag not in cleaned:
            if len(tag) > limits.TAG_CHARS:
                raise DomainError(
                    f"The tag “{tag[: limits.TAG_CHARS]}…” is longer than {limits.TAG_CHARS}"
                    " characters.",
                    field="tags",
                )
            cleaned.append(tag)
            if len(cleaned) > limits.MAX_TAGS:
                raise DomainError(f"A listing takes at most {limits.MAX_TAGS} tags.", field="tags")
    return cleaned


_clean_tags = clean_tags


def _search_text(dataset: Dataset, tags: list[str], columns: list[str]) -> str:
    return "\n".join([dataset.title, dataset.description, " ".join(tags), " ".join(columns)])


def _receive(upload_file: UploadedFile, upload_id: Any) -> Path:
    """Move (or stream-copy) the uploaded file under CATALOG_UPLOAD_DIR."""
    target = Path(settings.CATALOG_UPLOAD_DIR) / f"{upload_id}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = getattr(upload_file, "temporary_file_path", None)
    if temporary is not None:
        shutil.move(temporary(), target)
    else:
        with target.open("wb") as out:
            for chunk in upload_file.chunks():
                out.write(chunk)
    return target


def upload_path(upload: DatasetUpload) -> Path:
    return Path(settings.CATALOG_UPLOAD_DIR) / f"{upload.id}.csv"


def dataset_upload_start(
    *,
    user: User,
    upload_file: UploadedFile,
    metadata: dict[str, Any] | None = None,
    dataset: Dataset | None = None,
) -> DatasetUpload:
    """Receive a CSV for a new listing (`metadata`) or a new version of `dataset`.

    Files up to CATALOG_SYNC_BYTES are checked and stored before this returns (CsvRejected if
    the file is bad); larger ones are queued and the returned upload reports progress.
    """
    actor = actor_for(user)
    if dataset is None:
        require(user, Perm.DATASET_PUBLISH)
    else:
        require(user, Perm.DATASET_EDIT, dataset)
    if upload_file.size is not None and upload_file.size > settings.CATALOG_MAX_UPLOAD_BYTES:
        raise DomainError(
            f"The file is larger than the limit of {settings.CATALOG_MAX_UPLOAD_BYTES:,} bytes.",
            field="file",
        )
    institution_id = dataset.institution_id if dataset else actor.institution_id
    assert institution_id is not None, "DATASET_PUBLISH admits members of an institution only"
    upload = DatasetUpload(
        institution_id=institution_id,
        dataset=dataset,
        metadata=metadata or {},
        file_name=(upload_file.name or "upload.csv")[:255],
        size_bytes=upload_file.size or 0,
        created_by=user,
    )
    path = _receive(upload_file, upload.id)
    upload.size_bytes = path.stat().st_size
    upload.progress_total = upload.size_bytes
    if upload.size_bytes <= settings.CATALOG_SYNC_BYTES:
        try:
            report = _check(path)
            if not report.ok:
                raise CsvRejected(_problem_dicts(report), report.more_problems)
            upload.save()
            try:
                _store(upload, path, report)
            except Exception:
                upload.delete()  # all or nothing: no trace of a file that did not make it
                raise
        finally:
            path.unlink(missing_ok=True)
        upload.refresh_from_db()
        return upload
    upload.save()
    # Accepted whether or not the broker answers: the row says `received`, and beat's
    # `sweep_uploads` sends it again until a worker claims it.
    tasking.send("catalog.tasks.process_upload", str(upload.id))
    return upload


def _check(path: Path) -> CsvReport:
    return check_csv(path, max_columns=settings.CATALOG_MAX_COLUMNS)


# An upload being checked or stored that has shown no progress for this long lost its worker.
UPLOAD_STALE_SECONDS = 600


def _claimable() -> Q:
    stale_before = timezone.now() - timedelta(seconds=UPLOAD_STALE_SECONDS)
    working = [DatasetUpload.State.CHECKING, DatasetUpload.State.STORING]
    return Q(state=DatasetUpload.State.RECEIVED) | Q(state__in=working, updated_at__lt=stale_before)


def upload_process(*, upload_id: str) -> DatasetUpload:
    """Check and store a queued upload (the Celery task's body).

    Safe to run twice or at once: the upload is claimed with a conditional UPDATE (`received`,
    or checking with no progress for UPLOAD_STALE_SECONDS: its worker died), and a run that
    does not win the claim returns the upload as it is. A run that was taken over while it
    hung finds the upload finished when it comes to make the version, and undoes its own work.
    """
    claimed = (
        DatasetUpload.objects.filter(pk=upload_id)
        .filter(_claimable())
        .update(state=DatasetUpload.State.CHECKING, progress_done=0, updated_at=timezone.now())
    )
    upload = DatasetUpload.objects.get(pk=upload_id)
    if not claimed:
        return upload
    path = upload_path(upload)
    if not path.exists():
        return _fail(
            upload,
            [
                {
                    "line": None,
                    "column": None,
                    "message": "The uploaded file is "
                    "gone (the server restarted before it was checked); please upload "
                    "it again.",
                    "text": "The uploaded file is gone; please upload it again.",
                }
            ],
            0,
        )
    try:
        DatasetUpload.objects.filter(pk=upload.pk).update(
            state=DatasetUpload.State.STORING, updated_at=timezone.now()
        )
        outcome = _check_while_storing(upload, path)
        if not outcome.report.ok:
            return _fail(upload, _problem_dicts(outcome.report), outcome.report.more_problems)
        _store(upload, path, outcome.report, stored=outcome.stored)
    except _Superseded:
        log.warning("%s was taken over by another run; this run's copy is deleted", upload)
    finally:
        path.unlink(missing_ok=True)
    upload.refresh_from_db()
    return upload


def uploads_unsent(limit: int = 100) -> list[str]:
    """Uploads whose task may have been lost, oldest first: what beat's `sweep_uploads` sends.

    Still `received` CATALOG_UPLOAD_RESEND_SECONDS after they came (the broker was down, or the
    message died with a worker), or checking with no progress for UPLOAD_STALE_SECONDS. One
    still waiting behind a long task is sent twice; its claim makes the second a no-op.
    """
    recent = timezone.now() - timedelta(seconds=settings.CATALOG_UPLOAD_RESEND_SECONDS)
    return [
        str(pk)
        for pk in DatasetUpload.objects.filter(_claimable(), updated_at__lt=recent)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    ]


class _Cancelled(Exception):
    pass


class _Superseded(Exception):
    """The upload was finished by another run while this one hung."""


@dataclass
class _Outcome:
    report: CsvReport
    stored: Any


class _WatchedReader(io.RawIOBase):
    """Hands the file to storage while reporting progress and stopping if the check failed."""

    def __init__(self, raw: io.BufferedReader, on_read: Callable[[int], bool]) -> None:
        self.raw = raw
        self.on_read = on_read
        self.done = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self.raw.readinto(buffer)
        self.done += n or 0
        if not self.on_read(self.done):
            raise _Cancelled
        return n or 0


def _check_while_storing(upload: DatasetUpload, path: Path) -> _Outcome:
    """Check the file and store it at the same time, on both cores.

    The check (pyarrow, no database) runs in a thread; storing stays in this thread because
    it writes rows. If the check finds a problem, storing stops and what was stored is
    deleted, so a bad file still leaves nothing behind; a good one is stored by the time it
    is known to be good.
    """
    checked = [0]
    saved_at = [0.0]

    def on_read(stored_bytes: int) -> bool:
        if report_future.done() and not report_future.result().ok:
            return False
        now = time.monotonic()
        if now - saved_at[0] > 0.3:  # progress is for people: a few writes a second at most
            saved_at[0] = now
            DatasetUpload.objects.filter(pk=upload.pk).update(
                progress_done=min(checked[0], stored_bytes), updated_at=timezone.now()
            )
        return True

    def progress(done: int, total: int) -> None:
        checked[0] = done

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="csv-check") as pool:
        report_future = pool.submit(
            check_csv, path, max_columns=settings.CATALOG_MAX_COLUMNS, progress=progress
        )
        stored = None
        try:
            with path.open("rb") as raw:
                stored = object_put(_WatchedReader(raw, on_read))
        except _Cancelled:
            stored = None
        report = report_future.result()
    if not report.ok and stored is not None:
        object_delete(stored.id)
        stored = None
    return _Outcome(report=report, stored=stored)


def _fail(upload: DatasetUpload, problems: list[dict[str, Any]], more: int) -> DatasetUpload:
    # Not over an outcome another run (that took this one over) already reached.
    unfinished = DatasetUpload.objects.exclude(
        state__in=[DatasetUpload.State.READY, DatasetUpload.State.FAILED]
    )
    unfinished.filter(pk=upload.pk).update(
        state=DatasetUpload.State.FAILED,
        problems=problems,
        more_problems=more,
        updated_at=timezone.now(),
    )
    upload_path(upload).unlink(missing_ok=True)
    upload.refresh_from_db()
    return upload


def _store(
    upload: DatasetUpload, path: Path, report: CsvReport, *, stored: Any = None
) -> DatasetVersion:
    """Store the checked file, then make the listing or version in one transaction.

    If the transaction fails, the stored object is deleted again: storage is not part of the
    database transaction, so it is undone by hand. Raises _Superseded if another run finished
    the upload meanwhile.
    """
    if stored is None:
        with path.open("rb") as stream:
            stored = object_put(stream)
    try:
        with transaction.atomic():
            if DatasetUpload.objects.select_for_update().get(pk=upload.pk).finished:
                raise _Superseded
            version = _make_version(upload, stored, report)
    except Exception:
        object_delete(stored.id)
        raise
    return version


def version_arrow_copy(*, version_id: int) -> bool:
    """Store a version's rows once more as its Arrow copy (`catalog.arrow_copy.write_arrow_copy`:
    typed as downloads read them, zstd-compressed, about 0.4 of the CSV's bytes), so that its
    downloads skip parsing the CSV; True if this call made it.

    The Celery task's body, queued when the version is made and swept by beat: a publish is
    ready as soon as its CSV is stored and never waits for this (made in-line, it took a
    100 MiB publish from about 220 to 83 MiB/s). Until the copy is there, and for good if its rows
    cannot be read so (the reason is kept in `arrow_error`), downloads parse the CSV. Safe to
    run twice or at once: one copy is kept, a second is deleted again.
    """
    version = DatasetVersion.objects.filter(pk=version_id).first()
    if version is None or version.arrow_object_id is not None or version.arrow_error:
        return False
    folder = Path(settings.CATALOG_UPLOAD_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    # Written to a file first, then stored: storage reads its input in large pieces, which a
    # pipe from the writing thread only gave 64 KiB at a time (three times the CPU).
    copy = folder / f"version-{version.pk}-{uuid.uuid4().hex}.arrow"
    try:
        try:
            with object_open(version.object_id) as raw:
                write_arrow_copy(io.BufferedReader(raw, 1 << 20), version.columns, str(copy))
        except (ValueError, pa.ArrowException) as exc:  # rows that do not read as typed
            DatasetVersion.objects.filter(pk=version.pk).update(arrow_error=str(exc)[:500])
            log.warning("no Arrow copy of %s: %s", version, exc)
            return False
        with copy.open("rb") as source:
            stored = object_put(source)
    finally:
        copy.unlink(missing_ok=True)
    kept = DatasetVersion.objects.filter(pk=version.pk, arrow_object_id__isnull=True).update(
        arrow_object_id=stored.id
    )
    if not kept:  # another run was first
        object_delete(stored.id)
    return bool(kept)


def versions_without_arrow_copy(limit: int = 100) -> list[int]:
    """Versions still waiting for their Arrow copy (a lost task, or stored before copies
    existed), oldest first: what beat's sweep queues. Versions made within the last sweep
    interval are left to the task their publish queued, so a busy worker is not sent each
    new version twice."""
    recent = timezone.now() - timedelta(seconds=settings.CATALOG_ARROW_SWEEP_SECONDS)
    return list(
        DatasetVersion.objects.filter(
            arrow_object_id__isnull=True, arrow_error="", created_at__lt=recent
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def _make_version(upload: DatasetUpload, stored: Any, report: CsvReport) -> DatasetVersion:
    user = upload.created_by
    columns = [{"name": c.name, "type": c.type, "null_count": c.null_count} for c in report.columns]
    now = timezone.now()
    if upload.dataset_id is None:
        meta = upload.metadata
        tags = _clean_tags(meta.get("tags", []))
        dataset = Dataset(
            institution_id=upload.institution_id,
            title=meta["title"],
            description=meta["description"],
            category=meta["category"],
            sensitivity=meta["sensitivity"],
            terms=meta["terms"],
            created_by=user,
            created_at=now,
            updated_at=now,
        )
        dataset.full_clean(exclude=["current_version", "search_text"])
        dataset.save()
        kind, number = "dataset.published", 1
    else:
        dataset = Dataset.objects.select_for_update().get(pk=upload.dataset_id)
        require(user, Perm.DATASET_EDIT, dataset)
        tags = list(dataset.tags.values_list("name", flat=True))
        kind = "dataset.versioned"
        number = (
            dataset.versions.order_by("-number").values_list("number", flat=True).first() or 0
        ) + 1
    version = DatasetVersion.objects.create(
        dataset=dataset,
        number=number,
        object_id=stored.id,
        cid=stored.cid,
        size_bytes=report.size_bytes,
        row_count=report.row_count,
        columns=columns,
        line_endings=report.line_endings,
        had_bom=report.had_bom,
        created_by=user,
        created_at=now,
    )
    if upload.dataset_id is None:
        dataset.tags.set([Tag.objects.get_or_create(name=t)[0] for t in tags])
    dataset.current_version = version
    dataset.updated_at = now
    dataset.search_text = _search_text(dataset, tags, [c.name for c in report.columns])
    dataset.save(update_fields=["current_version", "updated_at", "search_text"])
    DatasetUpload.objects.filter(pk=upload.pk).update(
        dataset=dataset, version=version, state=DatasetUpload.State.READY, updated_at=now
    )
    _record(kind, user, dataset, _subject(dataset, version))
    # Beat's sweep sends it again if the broker is down now: later, never lost.
    tasking.send("catalog.tasks.make_arrow_copy", version.pk)
    return version


def _record(
    kind: str, user: User, dataset: Dataset, subject: dict[str, Any], **private: str
) -> None:
    """The listing's ledger event: reasons, long texts and the person as commitments whose
    openings the owner and moderators can read (`ledger.commitments`)."""
    record_event(kind, user, subject, private=private, scope=dataset_scope(dataset.pk))


# Public metadata that goes into `dataset.updated` as it is; the long texts go in committed.
_UPDATE_IN_CLEAR = ("title", "category", "sensitivity", "tags")


def _subject(dataset: Dataset, version: DatasetVersion | None = None, **extra: Any) -> dict:
    subject: dict[str, Any] = {"dataset": str(dataset.pk), "title": dataset.title}
    if version is not None:
        subject.update(
            {
                "version": version.number,
                "root_cid": version.cid,
                "rows": version.row_count,
                "bytes": version.size_bytes,
                "columns": version.column_names,
            }
        )
    subject.update(extra)
    return subject


@dataclass(frozen=True)
class MetadataChange:
    title: str | None = None
    description: str | None = None
    category: str | None = None
    sensitivity: str | None = None
    terms: str | None = None
    tags: list[str] | None = None


@transaction.atomic
def dataset_update(*, user: User, dataset: Dataset, change: MetadataChange) -> Dataset:
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    require(user, Perm.DATASET_EDIT, dataset)
    changed = {}
    for field in ("title", "description", "category", "sensitivity", "terms"):
        value = getattr(change, field)
        if value is not None and value != getattr(dataset, field):
            setattr(dataset, field, value)
            changed[field] = value
    tags = list(dataset.tags.values_list("name", flat=True))
    if change.tags is not None:
        new_tags = _clean_tags(change.tags)
        if sorted(new_tags) != sorted(tags):
            tags = new_tags
            dataset.tags.set([Tag.objects.get_or_create(name=t)[0] for t in tags])
            changed["tags"] = tags
    if not changed:
        return dataset
    dataset.full_clean(exclude=["current_version", "search_text"])
    columns = dataset.current_version.column_names if dataset.current_version else []
    dataset.search_text = _search_text(dataset, tags, columns)
    dataset.updated_at = timezone.now()
    dataset.save()
    # A grant's terms and sensitivity are part of what was agreed: every edit is on the log.
    _record(
        "dataset.updated",
        user,
        dataset,
        _subject(
            dataset,
            fields=sorted(changed),
            **{f: changed[f] for f in _UPDATE_IN_CLEAR if f in changed and f != "title"},
        ),
        **{f: changed[f] for f in ("description", "terms") if f in changed},
    )
    return dataset


def _set_status(
    *,
    user: User,
    dataset: Dataset,
    status: str,
    reason: str,
    kind: str | None,
    perm: Perm,
    allowed_from: tuple[str, ...],
    verb: str,
) -> Dataset:
    dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
    require(user, perm, dataset)
    reason = reason.strip()
    if not reason:
        raise DomainError(f"Say why the listing is {verb}.", field="reason")
    if dataset.status not in allowed_from:
        raise DomainError(
            f"The listing is {dataset.get_status_display().lower()}; it cannot be {verb}.",
            field="status",
            code="conflict",
        )
    dataset.status = status
    dataset.status_reason = reason[:2000]
    dataset.updated_at = timezone.now()
    dataset.save(update_fields=["status", "status_reason", "updated_at"])
    if kind:
        _record(kind, user, dataset, _subject(dataset), reason=reason)
    return dataset


@transaction.atomic
def dataset_withdraw(*, user: User, dataset: Dataset, reason: str) -> Dataset:
    """The owner takes a listing off the catalog: no new requests, and access is frozen (no
    request is cleared or approved, no grant gives data: `Dataset.freeze_reason`)."""
    return _set_status(
        user=user,
        dataset=dataset,
        status=Dataset.Status.WITHDRAWN,
        reason=reason,
        kind="dataset.withdrawn",
        perm=Perm.DATASET_EDIT,
        allowed_from=(Dataset.Status.ACTIVE,),
        verb="withdrawn",
    )


@transaction.atomic
def dataset_suspend(*, user: User, dataset: Dataset, reason: str) -> Dataset:
    return _set_status(
        user=user,
        dataset=dataset,
        status=Dataset.Status.SUSPENDED,
        reason=reason,
        kind="dataset.suspended",
        perm=Perm.DATASET_MODERATE,
        allowed_from=(Dataset.Status.ACTIVE, Dataset.Status.WITHDRAWN),
        verb="suspended",
    )


@transaction.atomic
def dataset_restore(*, user: User, dataset: Dataset, reason: str) -> Dataset:
    return _set_status(
        user=user,
        dataset=dataset,
        status=Dataset.Status.ACTIVE,
        reason=reason,
        kind="dataset.restored",
        perm=Perm.DATASET_MODERATE,
        allowed_from=(Dataset.Status.SUSPENDED,),
        verb="restored",
    )
