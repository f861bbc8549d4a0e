"""State changes of access: request, clear, reject, approve, deny, withdraw, revoke, expire.

SPEC workflows 2–6. Each is one function, one transaction, one ledger event recorded inside it
(`record_event`), and notifications written in the same transaction (e-mailed after commit).
Decisions lock the request row (SELECT … FOR UPDATE) and re-check its state under the lock, so
two people deciding at once produce exactly one outcome; expiry is a conditional UPDATE, so each
grant expires exactly once however often or concurrently the task runs.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from access import extensions, rowfilter
from access.models import AccessRequest, Download, Grant
from access.notifications import moderators, notify, stewards_of
from access.projection import CONTENT_TYPES, Projection, view_pieces
from access.selectors import download_scope, request_scope
from catalog.models import Dataset
from ledger.models import OutboxEvent
from ledger.services import record_event
from portal import cache_versions
from portal.errors import DomainError
from portal.permissions import Perm, actor_for, can, require
from storage.services import StorageError, key_unwrap, key_wrap, object_open

log = logging.getLogger(__name__)

State = AccessRequest.State
MASK_KINDS = ("pseudonymize", "truncate", "year_only")
MAX_TRUNCATE = 1000
GRANT_KEY_BYTES = 32  # a 256-bit HMAC-SHA-256 key (`key_wrap` takes 32-byte keys)

# Called after a decision has read the request and before it writes (tests only: it lets a
# test line two deciders up at the same point to show what the row lock prevents).
_after_read: Callable[[AccessRequest], None] = lambda request: None  # noqa: E731


def _request_url(request: AccessRequest) -> str:
    return reverse("access-request", args=[request.pk])


def _subject(request: AccessRequest, **extra: Any) -> dict[str, Any]:
    return {
        "request": request.pk,
        "dataset": request.dataset_id,
        "version": request.version.number,
        "cid": request.version.cid,
        "institution": request.institution.slug,
        "columns": list(request.columns),
        "duration_days": request.duration_days,
        **extra,
    }


def _grant_subject(grant: Grant, **extra: Any) -> dict[str, Any]:
    return {
        "grant": grant.pk,
        "request": grant.request_id,
        "dataset": grant.version.dataset_id,
        "version": grant.version.number,
        "cid": grant.version.cid,
        "institution": grant.institution.slug,
        "columns": list(grant.columns),
        "masks": dict(grant.masks),
        "expires_at": grant.expires_at.isoformat(),
        **extra,
    }


def _record(
    kind: str,
    user: User | None,
    request: AccessRequest,
    subject: dict[str, Any],
    **private: str,
) -> OutboxEvent:
    """The ledger event of a change to `request` (or its grant): purposes, reasons, filters
    and the person go in as commitments whose openings the request's parties can read."""
    return record_event(kind, user, subject, private=private, scope=request_scope(request.pk))


def clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why, in a few words.", field="reason")
    if len(reason) > 2000:
        raise DomainError("A reason has at most 2,000 characters.", field="reason")
    return reason


def clean_columns(columns: list[str], allowed: list[str], *, what: str) -> list[str]:
    if not columns:
        raise DomainError("Choose at least one column.", field="columns")
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        raise DomainError(f"“{unknown[0]}” is not a column of {what}.", field="columns")
    chosen = set(columns)
    return [c for c in allowed if c in chosen]  # file order, no duplicates


def clean_purpose(purpose: str) -> str:
    purpose = (purpose or "").strip()
    if len(purpose) < settings.ACCESS_PURPOSE_MIN_CHARS:
        raise DomainError(
            f"Say what the data is for in at least {settings.ACCESS_PURPOSE_MIN_CHARS} characters.",
            field="purpose",
        )
    if len(purpose) > 5000:
        raise DomainError("A purpose has at most 5,000 characters.", field="purpose")
    return purpose


def parse_request_filter(
    filter_text: str, schema: list[dict[str, Any]], columns: list[str]
) -> rowfilter.Node | None:
    """A request's row filter, which may use only the columns it asks for: a filter on any
    other would disclose that column's values through which rows come back."""
    not_asked = {
        c["name"]: f"“{c['name']}” is not among the columns requested (a filter may use only those)"
        for c in schema
        if c["name"] not in columns
    }
    return rowfilter.parse(filter_text, schema, refused=not_asked)


def clean_duration(days: int, *, most: int) -> int:
    if not isinstance(days, int) or days < 1:
        raise DomainError("The duration is at least one day.", field="duration_days")
    if days > most:
        raise DomainError(f"The duration is at most {most} days.", field="duration_days")
    return days


# --- request -------------------------------------------------------------------------------


def access_request_create(
    *,
    user: User,
    dataset: Dataset,
    purpose: str,
    columns: list[str],
    filter_text: str = "",
    duration_days: int,
) -> AccessRequest:
    """Ask for a view of `dataset`'s current version. Confidential and restricted listings
    wait for a moderator first; internal ones go straight to the owner's stewards."""
    require(user, Perm.ACCESS_REQUEST_CREATE, dataset)
    actor = actor_for(user)
    if dataset.status != Dataset.Status.ACTIVE:
        raise DomainError(
            f"This listing is {dataset.get_status_display().lower()}: it takes no new requests."
        )
    version = dataset.current_version
    if version is None:
        raise DomainError("This listing has no data yet.")
    purpose = clean_purpose(purpose)
    columns = clean_columns(columns, version.column_names, what="this dataset")
    node = parse_request_filter(filter_text, version.columns, columns)
    duration_days = clean_duration(duration_days, most=settings.ACCESS_MAX_DAYS)
    sensitive = dataset.sensitivity in (
        Dataset.Sensitivity.CONFIDENTIAL,
        Dataset.Sensitivity.RESTRICTED,
    )
    assert actor.institution_id is not None, "ACCESS_REQUEST_CREATE admits members only"
    request = AccessRequest(
        dataset=dataset,
        version=version,
        institution_id=actor.institution_id,
        requested_by=user,
        purpose=purpose,
        columns=columns,
        filter_text=(filter_text or "").strip(),
        filter=rowfilter.stored_text(node, version.columns),
        duration_days=duration_days,
        state=State.PENDING_MODERATION if sensitive else State.PENDING_DECISION,
    )
    duplicate = DomainError(
        "Your institution already has an open request for this dataset; "
        "withdraw it or wait for its decision.",
        code="duplicate",
    )
    try:
        with transaction.atomic():
            if AccessRequest.objects.filter(
                dataset=dataset,
                institution_id=actor.institution_id,
                state__in=AccessRequest.OPEN_STATES,
            ).exists():
                raise duplicate
            request.save()
            _record(
                "access.requested",
                user,
                request,
                _subject(request),
                purpose=purpose,
                filter=request.filter,
            )
            message = f"New request #{request.pk} for “{dataset.title}” from {request.institution}."
            if sensitive:
                notify(
                    moderators(
                        excluding_institutions=[request.institution_id, dataset.institution_id]
                    ),
                    f"To moderate: {message}",
                    _request_url(request),
                )
            else:
                notify(
                    stewards_of(dataset.institution_id),
                    f"To decide: {message}",
                    _request_url(request),
                )
    except IntegrityError:
        # Two requests at once: the partial unique constraint let only one in.
        raise duplicate from None
    return request


def _locked(request: AccessRequest) -> AccessRequest:
    """The request row, locked until the transaction ends, with its current state."""
    locked = (
        AccessRequest.objects.select_for_update(of=("self",))
        .select_related("dataset", "version", "institution")
        .get(pk=request.pk)
    )
    _after_read(locked)
    return locked


def _require_state(request: AccessRequest, state: str, doing: str) -> None:
    if request.state != state:
        raise DomainError(
            f"This request is {request.get_state_display().lower()}: it cannot be {doing} now.",
            code="conflict",
        )


def _require_not_frozen(request: AccessRequest, doing: str) -> None:
    """A suspended or withdrawn listing's requests are not let through: refusing still is."""
    reason = request.dataset.freeze_reason
    if reason:
        raise DomainError(f"This request cannot be {doing} now. {reason}", code="conflict")


def _moderate(*, user: User, request: AccessRequest, reason: str, clear: bool) -> AccessRequest:
    require(user, Perm.ACCESS_REQUEST_MODERATE, request)
    reason = clean_reason(reason) if not clear else (reason or "").strip()[:2000]
    with transaction.atomic():
        request = _locked(request)
        _require_state(request, State.PENDING_MODERATION, "cleared" if clear else "rejected")
        if clear:
            _require_not_frozen(request, "cleared")
        now = timezone.now()
        request.state = State.PENDING_DECISION if clear else State.REJECTED
        request.moderated_by, request.moderated_at, request.moderation_reason = user, now, reason
        request.updated_at = now
        request.save()
        kind = "access.cleared" if clear else "access.rejected"
        _record(kind, user, request, _subject(request), reason=reason)
        title = request.dataset.title
        if clear:
            notify(
                [request.requested_by],
                f"Your request #{request.pk} for “{title}” was cleared "
                "by a moderator and waits for the owner's decision.",
                _request_url(request),
            )
            notify(
                stewards_of(request.dataset.institution_id),
                f"To decide: request #{request.pk} for “{title}” from {request.institution}.",
                _request_url(request),
            )
        else:
            notify(
                [request.requested_by],
                f"Your request #{request.pk} for “{title}” was rejected: {reason}",
                _request_url(request),
            )
    return request


def access_request_clear(*, user: User, request: AccessRequest, reason: str = "") -> AccessRequest:
    """A moderator lets a sensitive request through to the owner's stewards."""
    return _moderate(user=user, request=request, reason=reason, clear=True)


def access_request_reject(*, user: User, request: AccessRequest, reason: str) -> AccessRequest:
    """A moderator stops a sensitive request, with the reason."""
    return _moderate(user=user, request=request, reason=reason, clear=False)


@dataclass
class Approval:
    """What a steward approves: None keeps what was asked for."""

    columns: list[str] | None = None
    extra_filter: str = ""
    masks: dict[str, str] = field(default_factory=dict)
    duration_days: int | None = None


def clean_mask(column: str, spec: str, column_type: str) -> str:
    """One column's mask in its canonical form (`truncate:N` with N a plain number)."""
    kind, _, arg = spec.strip().partition(":")
    if kind not in MASK_KINDS:
        raise DomainError(
            f"“{spec}” is not a mask; use pseudonymize, truncate:N or year_only.", field="masks"
        )
    if kind == "truncate":
        if not arg.isdigit() or not 1 <= int(arg) <= MAX_TRUNCATE:
            raise DomainError(
                f"Truncate “{column}” to a number of characters from 1 to {MAX_TRUNCATE}.",
                field="masks",
            )
        return f"truncate:{int(arg)}"
    if arg:
        raise DomainError(f"The mask {kind} takes no argument.", field="masks")
    if kind == "year_only" and column_type not in ("date", "timestamp"):
        raise DomainError(
            f"year_only applies to dates; “{column}” is {column_type}.", field="masks"
        )
    return kind


def clean_masks(masks: dict[str, str], columns: list[str], types: dict[str, str]) -> dict[str, str]:
    cleaned: dict[str, str] = {}
    for column, spec in (masks or {}).items():
        spec = (spec or "").strip()
        if not spec:
            continue
        if column not in columns:
            raise DomainError(f"“{column}” is masked but not granted.", field="masks")
        cleaned[column] = clean_mask(column, spec, types[column])
    return cleaned


def check_filter_columns(
    combined: str, schema: list[dict[str, Any]], columns: list[str], masks: dict[str, str]
) -> None:
    """The grant's filter (requested AND extra) may use only granted, unmasked columns: which
    rows come back would otherwise disclose what the mask or the narrowing hides (filter on
    `customer = 'Ann Smith'`, get the rows of that customer, pseudonyms or not)."""
    used = rowfilter.columns_used(rowfilter.parse_stored(combined, schema))
    for column in (c["name"] for c in schema):
        if column not in used:
            continue
        if column not in columns:
            raise DomainError(
                f"The row filter (the request's and your condition) uses “{column}”, which is"
                " not granted: grant that column too, or deny the request.",
                field="columns",
            )
        if column in masks:
            raise DomainError(
                f"The row filter (the request's and your condition) uses “{column}”, which is"
                " masked: the rows it selects would give the masked values away. Leave it"
                " unmasked, or deny.",
                field="masks",
            )


def access_request_approve(
    *, user: User, request: AccessRequest, approval: Approval | None = None
) -> Grant:
    """A steward of the owner approves, perhaps narrowing: the grant is the request's view
    with fewer columns, the requested filter AND-ed with an extra one, masks, a shorter term."""
    require(user, Perm.ACCESS_REQUEST_DECIDE, request)
    approval = approval or Approval()
    with transaction.atomic():
        request = _locked(request)
        _require_state(request, State.PENDING_DECISION, "approved")
        _require_not_frozen(request, "approved")
        version = request.version
        types = {c["name"]: c["type"] for c in version.columns}
        columns = request.columns
        if approval.columns is not None:
            columns = clean_columns(approval.columns, request.columns, what="this request")
        combined = rowfilter.combine(request.filter, approval.extra_filter, version.columns)
        masks = clean_masks(approval.masks, columns, types)
        check_filter_columns(combined, version.columns, columns, masks)
        days = request.duration_days
        if approval.duration_days is not None:
            days = clean_duration(approval.duration_days, most=request.duration_days)
        now = timezone.now()
        request.state = State.APPROVED
        request.decided_by, request.decided_at, request.updated_at = user, now, now
        request.save()
        grant = Grant(
            request=request,
            version=version,
            institution_id=request.institution_id,
            columns=columns,
            filter=combined,
            masks=masks,
            granted_by=user,
            created_at=now,
            expires_at=now + timedelta(days=days),
            # Its own random pseudonymization key, kept only wrapped by storage.
            wrapped_key=key_wrap(secrets.token_bytes(GRANT_KEY_BYTES), purpose="grant"),
        )
        grant.save()
        event = _record(
            "access.approved", user, request, _grant_subject(grant), filter=grant.filter
        )
        # Its receipt (a tlog-proof of this entry) is found through the event.
        Grant.objects.filter(pk=grant.pk).update(ledger_event_id=event.pk)
        cache_versions.bump("access")
        grant.ledger_event_id = event.pk
        # Apps that serve the grant in other ways (Delta Sharing) prepare it in this transaction.
        extensions.grant_approved.send(sender=Grant, grant=grant)
        notify(
            [request.requested_by],
            f"Your request #{request.pk} for “{request.dataset.title}” was approved "
            f"until {grant.expires_at:%Y-%m-%d}.",
            reverse("grants"),
        )
    return grant


def access_request_deny(*, user: User, request: AccessRequest, reason: str) -> AccessRequest:
    """A steward of the owner refuses, with the reason."""
    require(user, Perm.ACCESS_REQUEST_DECIDE, request)
    reason = clean_reason(reason)
    with transaction.atomic():
        request = _locked(request)
        _require_state(request, State.PENDING_DECISION, "denied")
        now = timezone.now()
        request.state = State.DENIED
        request.decided_by, request.decided_at, request.updated_at = user, now, now
        request.decision_reason = reason
        request.save()
        _record("access.denied", user, request, _subject(request), reason=reason)
        notify(
            [request.requested_by],
            f"Your request #{request.pk} for “{request.dataset.title}” was denied: {reason}",
            _request_url(request),
        )
    return request


def access_request_withdraw(
    *, user: User, request: AccessRequest, reason: str = ""
) -> AccessRequest:
    """The requesting institution takes back a request still waiting."""
    require(user, Perm.ACCESS_REQUEST_WITHDRAW, request)
    with transaction.atomic():
        request = _locked(request)
        if not request.is_open:
            raise DomainError(
                f"This request is {request.get_state_display().lower()}: only a waiting "
                "request can be withdrawn.",
                code="conflict",
            )
        waiting_for_owner = request.state == State.PENDING_DECISION
        now = timezone.now()
        request.state = State.WITHDRAWN
        request.withdrawn_at = request.updated_at = now
        request.save()
        _record(
            "access.withdrawn",
            user,
            request,
            _subject(request),
            reason=(reason or "").strip()[:2000],
        )
        if waiting_for_owner:
            notify(
                stewards_of(request.dataset.institution_id),
                f"Request #{request.pk} for “{request.dataset.title}” was withdrawn.",
                _request_url(request),
            )
    return request


# --- grants --------------------------------------------------------------------------------


def grant_revoke(*, user: User, grant: Grant, reason: str) -> Grant:
    """A steward of the owner or a moderator ends a grant now, with the reason."""
    require(user, Perm.GRANT_REVOKE, grant)
    reason = clean_reason(reason)
    with transaction.atomic():
        grant = (
            Grant.objects.select_for_update(of=("self",))
            .select_related("version", "institution", "request__requested_by", "request__dataset")
            .get(pk=grant.pk)
        )
        if grant.state == Grant.State.REVOKED:
            raise DomainError("This grant is already revoked.", code="conflict")
        if grant.state == Grant.State.EXPIRED:
            raise DomainError("This grant has expired already.", code="conflict")
        grant.revoked_at, grant.revoked_by, grant.revoke_reason = timezone.now(), user, reason
        grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        _record("access.revoked", user, grant.request, _grant_subject(grant), reason=reason)
        notify(
            [grant.request.requested_by],
            f"Your grant #{grant.pk} for “{grant.request.dataset.title}” was revoked: {reason}",
            reverse("grants"),
        )
    return grant


def grants_expire(*, now: datetime | None = None) -> int:
    """Expire every grant whose time has passed, each exactly once; returns how many.

    The UPDATE … WHERE expired_at IS NULL is the claim: of two runs at once only one updates a
    given row (the other's UPDATE waits for the row lock, then matches nothing), and only the
    one that updated it records `access.expired`, in the same transaction.
    """
    now = now or timezone.now()
    due = Grant.objects.expiry_due(now=now).values_list("pk", flat=True)
    done = 0
    for pk in list(due):
        with transaction.atomic():
            claimed = Grant.objects.filter(
                pk=pk, expired_at__isnull=True, revoked_at__isnull=True
            ).update(expired_at=now)
            if not claimed:
                continue
            cache_versions.bump("access")
            grant = Grant.objects.select_related(
                "version", "institution", "request__requested_by", "request__dataset"
            ).get(pk=pk)
            _record("access.expired", None, grant.request, _grant_subject(grant))
            notify(
                [grant.request.requested_by],
                f"Your grant #{grant.pk} for “{grant.request.dataset.title}” has expired.",
                reverse("grants"),
            )
            done += 1
    return done


def grant_key(grant: Grant) -> bytes:
    """The grant's pseudonymization key (unwrapped; never store or show it)."""
    try:
        return key_unwrap(grant.wrapped_key)
    except StorageError as exc:
        log.error("grant #%s: %s", grant.pk, exc.message)  # for the operators; not for the user
        raise DomainError("This grant's key cannot be read; ask the portal's operators.") from exc


def may_request(user: User, dataset: Dataset) -> bool:
    return (
        can(user, Perm.ACCESS_REQUEST_CREATE, dataset) and dataset.status == Dataset.Status.ACTIVE
    )


# --- downloads -----------------------------------------------------------------------------


@dataclass
class DownloadStream:
    download: Download
    chunks: Iterator[bytes]
    content_type: str
    filename: str


def grant_view(grant: Grant, *, csv_safe: bool = True) -> Projection:
    return Projection(
        columns=list(grant.columns),
        filter=grant.filter,
        masks=dict(grant.masks),
        key=grant_key(grant),
        schema=grant.version.columns,
        pseudonym_chars=settings.ACCESS_PSEUDONYM_CHARS,
        csv_safe=csv_safe,
    )


def _csv_mode(fmt: str, csv: str) -> str:
    """The CSV mode asked for: "safe" unless `?csv=raw`; "" for the other formats."""
    csv = (csv or "").strip().lower()
    if csv not in ("", *Download.CsvMode.values):
        raise DomainError("Choose csv=safe (the default) or csv=raw.", field="csv")
    if fmt != Download.Format.CSV:
        if csv == Download.CsvMode.RAW:
            raise DomainError("csv=raw applies to format=csv only.", field="csv")
        return ""
    return csv or Download.CsvMode.SAFE


def grant_download(*, user: User, grant: Grant, fmt: str, csv: str = "") -> DownloadStream:
    """Start streaming the grant's view as `fmt` (csv, ndjson, parquet).

    PermissionDenied (403) for anyone but the grantee's people and, with the reason, for an
    expired or revoked grant, or one of a suspended or withdrawn listing. The download is
    recorded, with the SHA-256 of exactly the bytes produced and its `data.downloaded` ledger
    event, when the last piece has been produced. A CSV is spreadsheet-safe (cells that a
    spreadsheet would run as formulas prefixed with ') unless `csv` is "raw"; the record's
    `csv_mode` says which was delivered.
    """
    require(user, Perm.GRANT_DOWNLOAD, grant)
    if fmt not in Download.Format.values:
        raise DomainError("Choose a format: csv, ndjson or parquet.", field="format")
    csv_mode = _csv_mode(fmt, csv)
    refusal = grant.refusal
    if refusal:
        raise PermissionDenied(refusal)
    # Checked before the stream starts (an error in it would cut the response short), and
    # for grants approved before filters were checked against masks.
    used = rowfilter.columns_used(rowfilter.parse_stored(grant.filter, grant.version.columns))
    masked = sorted(used & set(grant.masks))
    if masked:
        raise PermissionDenied(
            f"This grant's row filter uses the masked column “{masked[0]}”, which would give "
            "its values away; ask the owner for a new grant."
        )
    view = grant_view(grant, csv_safe=csv_mode != Download.CsvMode.RAW)
    download = Download.objects.create(grant=grant, user=user, format=fmt, csv_mode=csv_mode)

    def chunks() -> Iterator[bytes]:
        digest, size, rows = hashlib.sha256(), 0, 0
        version = grant.version
        # The version's Arrow copy when it has one: the same rows, already parsed.
        arrow_id = version.arrow_object_id
        arrow = arrow_id is not None
        with object_open(arrow_id if arrow_id is not None else version.object_id) as raw:
            pieces = view_pieces(
                raw, view, fmt, block_size=settings.ACCESS_DOWNLOAD_BLOCK_BYTES, arrow=arrow
            )
            for piece, count in pieces:
                rows += count
                if piece:
                    digest.update(piece)
                    size += len(piece)
                    yield piece
        download_finish(download=download, rows=rows, size=size, sha256=digest.hexdigest())

    title = slugify(grant.request.dataset.title) or "data"
    return DownloadStream(
        download=download,
        chunks=chunks(),
        content_type=CONTENT_TYPES[fmt],
        filename=f"{title}-grant{grant.pk}.{fmt}",
    )


def download_finish(*, download: Download, rows: int, size: int, sha256: str) -> Download:
    """Record a finished download and its ledger event, in a transaction of its own."""
    with transaction.atomic():
        download.finished_at = timezone.now()
        download.rows, download.bytes, download.sha256 = rows, size, sha256
        grant = download.grant
        event = record_event(
            "data.downloaded",
            download.user,
            {
                "download": download.pk,
                "grant": grant.pk,
                "dataset": grant.version.dataset_id,
                "version": grant.version.number,
                "cid": grant.version.cid,
                "format": download.format,
                # "safe" or "raw" for CSV: which bytes the digest is of.
                "csv": download.csv_mode,
                "rows": rows,
                "bytes": size,
                "sha256": sha256,
            },
            scope=download_scope(download.pk),
        )
        download.ledger_event_id = event.pk
        download.save(update_fields=["finished_at", "rows", "bytes", "sha256", "ledger_event_id"])
    return download
