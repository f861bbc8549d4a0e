"""Delta Sharing's state changes: the view's Parquet files, tokens, queries and file fetches.

The protocol (delta-io/delta-sharing PROTOCOL.md) is served by `sharing.api`; everything it
decides is here. A recipient is one `SharingToken`: one person of the grantee, one grant.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.text import slugify

from access.models import Grant
from access.projection import view_tables
from access.selectors import request_scope
from access.services import grant_view
from ledger.services import record_event
from portal import tasking
from portal.errors import DomainError
from portal.permissions import Perm, can, require
from sharing.models import (
    FileFetch,
    OAuthClient,
    ShareFile,
    ShareQuery,
    ShareTable,
    SharingToken,
)
from storage.services import object_delete, object_open, object_put

log = logging.getLogger(__name__)

TOKEN_PREFIX = "bizids_"  # noqa: S105 - a public prefix that marks the secret, not one


class SharingError(Exception):
    """A refusal in the protocol's shape: {"errorCode", "message"} with an HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def unauthenticated(message: str) -> SharingError:
    return SharingError(401, "UNAUTHENTICATED", message)


def forbidden(message: str) -> SharingError:
    return SharingError(403, "PERMISSION_DENIED", message)


def not_found(message: str) -> SharingError:
    return SharingError(404, "RESOURCE_DOES_NOT_EXIST", message)


def invalid(message: str) -> SharingError:
    return SharingError(400, "INVALID_PARAMETER_VALUE", message)


# --- Names -------------------------------------------------------------------------------


def share_name(grant: Grant) -> str:
    """slug-of-title-g<id>: readable, and unique because of the grant's id. Names are matched
    case-insensitively (PROTOCOL.md: "It's case-insensitive"), so they are kept lower case."""
    title = slugify(grant.version.dataset.title)[:60].strip("-") or "data"
    return f"{title}-g{grant.pk}".replace("-", "_")


SCHEMA_NAME = "default"


def table_name(grant: Grant) -> str:
    return (slugify(grant.version.dataset.title)[:60].strip("-") or "data").replace("-", "_")


# --- The view's Parquet files ------------------------------------------------------------

_DELTA_TYPES = {"integer": "long", "date": "date"}


def view_schema(grant: Grant) -> list[dict[str, str]]:
    """The Delta type of each granted column as the view holds it: masks change some (a
    pseudonym or a truncation is text, `year_only` a number)."""
    types = {c["name"]: c["type"] for c in grant.version.columns}
    out = []
    for name in grant.columns:
        mask = (grant.masks or {}).get(name, "")
        kind = mask.partition(":")[0]
        if kind == "year_only":
            delta = "long"
        elif kind in ("pseudonymize", "truncate"):
            delta = "string"
        else:
            delta = _DELTA_TYPES.get(types[name], "string")
        out.append({"name": name, "type": delta})
    return out


def _arrow_schema(schema: list[dict[str, str]]) -> Any:
    kinds = {"long": pa.int64(), "date": pa.date32(), "string": pa.string()}
    return pa.schema([pa.field(c["name"], kinds[c["type"]]) for c in schema])


def _stats(table: Any) -> dict[str, Any]:
    """Per-file statistics (PROTOCOL.md "Per-file Statistics"): numRecords, and min, max and
    null counts for the columns whose order means something to a client."""
    mins: dict[str, Any] = {}
    maxs: dict[str, Any] = {}
    nulls: dict[str, int] = {}
    for field in table.schema:
        column = table.column(field.name)
        nulls[field.name] = column.null_count
        if table.num_rows and (pa.types.is_integer(field.type) or pa.types.is_date(field.type)):
            bounds = pc.min_max(column).as_py()
            if bounds["min"] is not None:
                mins[field.name] = (
                    str(bounds["min"]) if pa.types.is_date(field.type) else bounds["min"]
                )
                maxs[field.name] = (
                    str(bounds["max"]) if pa.types.is_date(field.type) else bounds["max"]
                )
    return {
        "numRecords": table.num_rows,
        "minValues": mins,
        "maxValues": maxs,
        "nullCount": nulls,
    }


def share_table_ensure(grant: Grant) -> ShareTable:
    table, _ = ShareTable.objects.get_or_create(grant=grant)
    return table


def share_files_make(*, grant_id: int) -> bool:
    """Write the grant's view as Parquet files of at most about SHARING_FILE_BYTES each, store
    them and mark the table ready; True if this call made them.

    The Celery task's body (queued after the approval commits, swept by beat). Safe to run
    twice or at once: the files are claimed by the conditional update that marks the table
    ready, and a run that loses deletes what it stored. The rows come through the one path
    downloads use (`access.projection.view_tables`), so a share holds exactly what a
    download of the grant delivers.
    """
    grant = Grant.objects.select_related("version__dataset").filter(pk=grant_id).first()
    if grant is None:
        return False
    table = share_table_ensure(grant)
    if table.state != ShareTable.State.PENDING or grant.refusal:
        return False
    schema = view_schema(grant)
    arrow_schema = _arrow_schema(schema)
    limit = settings.SHARING_FILE_BYTES
    made: list[dict[str, Any]] = []
    try:
        version = grant.version
        arrow = version.arrow_object_id is not None
        with object_open(version.arrow_object_id or version.object_id) as raw:
            tables = view_tables(
                raw, grant_view(grant), block_size=settings.ACCESS_DOWNLOAD_BLOCK_BYTES, arrow=arrow
            )
            buffered: list[Any] = []
            size = 0

            def flush() -> None:
                nonlocal buffered, size
                if not buffered:
                    return
                part = pa.concat_tables(buffered)
                with tempfile.TemporaryFile() as tmp:
                    pq.write_table(part, tmp, compression="zstd")
                    tmp.seek(0)
                    stored = object_put(tmp)
                made.append(
                    {
                        "object_id": stored.id,
                        "size": stored.size,
                        "rows": part.num_rows,
                        "stats": _stats(part),
                    }
                )
                buffered, size = [], 0

            for piece in tables:
                piece = piece.cast(arrow_schema)
                buffered.append(piece)
                # Arrow's in-memory size bounds the Parquet's (compressed, it is smaller):
                # a file never passes the setting, and memory holds at most one file's rows.
                size += piece.nbytes
                if size >= limit:
                    flush()
            flush()
    except Exception as exc:  # noqa: BLE001 - any failure is shown on the grant page
        for item in made:
            object_delete(item["object_id"])
        ShareTable.objects.filter(pk=table.pk, state=ShareTable.State.PENDING).update(
            state=ShareTable.State.FAILED, error=str(exc)[:500] or type(exc).__name__
        )
        log.warning("no share files for grant %s: %s", grant.pk, exc)
        return False
    with transaction.atomic():
        claimed = ShareTable.objects.filter(pk=table.pk, state=ShareTable.State.PENDING).update(
            state=ShareTable.State.READY,
            version=1,
            rows=sum(m["rows"] for m in made),
            bytes=sum(m["size"] for m in made),
            schema=schema,
            ready_at=timezone.now(),
        )
        if claimed:
            ShareFile.objects.bulk_create(
                ShareFile(
                    table_id=table.pk,
                    index=i,
                    # Stable and unguessable: the file's id says nothing about the data.
                    file_id=uuid.uuid4().hex,
                    object_id=m["object_id"],
                    size=m["size"],
                    rows=m["rows"],
                    stats=m["stats"],
                )
                for i, m in enumerate(made)
            )
    if not claimed:
        for item in made:
            object_delete(item["object_id"])
    return bool(claimed)


def share_tables_missing(limit: int = 100) -> list[int]:
    """Active grants whose files are still to be made (a lost task, or approved before
    sharing existed), oldest first: what beat's sweep queues. Grants approved within the
    last sweep interval are left to the task their approval queued."""
    now = timezone.now()
    recent = now - timedelta(seconds=settings.SHARING_SWEEP_SECONDS)
    return list(
        Grant.objects.active(now=now)
        .filter(created_at__lt=recent)
        .exclude(share_table__state__in=[ShareTable.State.READY, ShareTable.State.FAILED])
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def share_for_new_grant(sender: type, *, grant: Grant, **kwargs: Any) -> None:
    """`access.extensions.grant_approved` receiver: every approved grant is a share."""
    queue_share_files(grant)


def queue_share_files(grant: Grant) -> None:
    """After the approval commits, ask a worker for the files (beat's sweep re-sends a lost
    one); until then the table reads as pending."""
    ShareTable.objects.get_or_create(grant=grant)
    tasking.send("sharing.tasks.make_share_files", grant.pk)


# --- Tokens ------------------------------------------------------------------------------


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def sharing_token_create(*, user: User, grant: Grant) -> tuple[SharingToken, str]:
    """A new bearer token for `user` on `grant` and its secret (shown once, in the profile).

    One token per person and grant: the previous one stops working. It expires with the
    grant at the latest.
    """
    require(user, Perm.GRANT_DOWNLOAD, grant)
    refusal = grant.refusal
    if refusal:
        raise DomainError(refusal, code="conflict")
    now = timezone.now()
    expires = min(grant.expires_at, now + timedelta(days=settings.SHARING_TOKEN_DAYS))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        SharingToken.objects.filter(
            user=user, grant=grant, client__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        token = SharingToken.objects.create(
            user=user,
            grant=grant,
            prefix=secret[:12],
            digest=token_digest(secret),
            created_at=now,
            expires_at=expires,
        )
    return token, secret


def sharing_token_revoke(*, user: User, token: SharingToken) -> SharingToken:
    """Its owner, or whoever may revoke the grant, ends a token now."""
    if token.user_id != user.pk and not can(user, Perm.GRANT_REVOKE, token.grant):
        raise DomainError("Only the token's owner can revoke it.", code="forbidden")
    SharingToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    token.refresh_from_db()
    return token


CLIENT_PREFIX = "bizioc_"


def oauth_client_create(*, user: User, grant: Grant) -> tuple[OAuthClient, str]:
    """New OAuth client credentials for `user` on `grant`, and the secret (shown once).

    One client per person and grant: the previous one, and the tokens it obtained, stop.
    """
    require(user, Perm.GRANT_DOWNLOAD, grant)
    refusal = grant.refusal
    if refusal:
        raise DomainError(refusal, code="conflict")
    now = timezone.now()
    secret = CLIENT_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        old = OAuthClient.objects.filter(user=user, grant=grant, revoked_at__isnull=True)
        SharingToken.objects.filter(client__in=old, revoked_at__isnull=True).update(revoked_at=now)
        old.update(revoked_at=now)
        client = OAuthClient.objects.create(
            user=user,
            grant=grant,
            client_id="bizi-" + secrets.token_hex(12),
            digest=token_digest(secret),
            created_at=now,
            expires_at=min(grant.expires_at, now + timedelta(days=settings.SHARING_TOKEN_DAYS)),
        )
    return client, secret


def oauth_client_revoke(*, user: User, client: OAuthClient) -> None:
    if client.user_id != user.pk:
        raise DomainError("Only the client's owner can revoke it.", code="forbidden")
    now = timezone.now()
    with transaction.atomic():
        OAuthClient.objects.filter(pk=client.pk, revoked_at__isnull=True).update(revoked_at=now)
        SharingToken.objects.filter(client=client, revoked_at__isnull=True).update(revoked_at=now)


class OAuthError(Exception):
    """An RFC 6749 §5.2 error response: {"error", "error_description"}."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def oauth_token_issue(*, client_id: str, secret: str, grant_type: str) -> tuple[str, int]:
    """The client credentials grant (RFC 6749 §4.4): a bearer token good for
    SHARING_OAUTH_TOKEN_SECONDS at most (and never past the client or the grant), and its
    lifetime in seconds."""
    if grant_type != "client_credentials":
        raise OAuthError(400, "unsupported_grant_type", "Only client_credentials is supported.")
    client = (
        OAuthClient.objects.select_related("grant", "user")
        .filter(client_id=client_id, digest=token_digest(secret))
        .first()
    )
    if client is None or not client.is_active:
        raise OAuthError(401, "invalid_client", "Unknown, revoked or expired client credentials.")
    grant = client.grant
    if grant.refusal or not can(client.user, Perm.GRANT_DOWNLOAD, grant):
        raise OAuthError(401, "invalid_client", grant.refusal or "This client may not read now.")
    now = timezone.now()
    expires = min(
        client.expires_at,
        grant.expires_at,
        now + timedelta(seconds=settings.SHARING_OAUTH_TOKEN_SECONDS),
    )
    token_secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    SharingToken.objects.create(
        user=client.user,
        grant=grant,
        client=client,
        prefix=token_secret[:12],
        digest=token_digest(token_secret),
        created_at=now,
        expires_at=expires,
    )
    return token_secret, max(0, int((expires - now).total_seconds()))


def oauth_profile_json(*, client: OAuthClient, secret: str, endpoint: str) -> dict[str, Any]:
    """A profile of shareCredentialsVersion 2, type oauth_client_credentials."""
    return {
        "shareCredentialsVersion": 2,
        "type": "oauth_client_credentials",
        "endpoint": endpoint,
        "tokenEndpoint": endpoint + "/oauth/token",
        "clientId": client.client_id,
        "clientSecret": secret,
    }


def profile_json(*, token: SharingToken, secret: str, endpoint: str) -> dict[str, Any]:
    """The profile file (PROTOCOL.md "Profile File Format", shareCredentialsVersion 1)."""
    return {
        "shareCredentialsVersion": 1,
        "endpoint": endpoint,
        "bearerToken": secret,
        "expirationTime": token.expires_at.astimezone(UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z"),
    }


def recipient(authorization: str) -> SharingToken:
    """The token an `Authorization: Bearer …` header names, if it may read its share now.

    Checked on every request, from the database: a revoked or expired token, or a revoked,
    expired or suspended grant, stops the very next request.
    """
    scheme, _, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise unauthenticated("Send the profile's bearer token: Authorization: Bearer <token>.")
    token = (
        SharingToken.objects.select_related("user", "grant__version__dataset", "grant__institution")
        .filter(digest=token_digest(secret.strip()))
        .first()
    )
    if token is None:
        raise unauthenticated("Unknown token.")
    if token.revoked_at is not None:
        raise unauthenticated("This token was revoked; download a new profile.")
    if token.expires_at <= timezone.now():
        raise unauthenticated("This token has expired; download a new profile.")
    grant_check(token)
    SharingToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
    return token


def grant_check(token: SharingToken) -> None:
    grant = token.grant
    refusal = grant.refusal
    if refusal:
        raise forbidden(refusal)
    dataset = grant.version.dataset
    # A suspended or withdrawn listing freezes its grants (SPEC, moderation): read per request.
    if dataset.status != dataset.Status.ACTIVE:
        raise forbidden(
            f"This listing is {dataset.get_status_display().lower()}; its data is not served."
        )
    if not token.user.is_active or not can(token.user, Perm.GRANT_DOWNLOAD, grant):
        raise forbidden("This token's holder may not read this grant's data any more.")


# --- Signed file URLs --------------------------------------------------------------------


def _url_key() -> bytes:
    # Derived from SECRET_KEY for this one use, so a signature is good for nothing else.
    return salted_hmac("bizi.sharing.file-url", b"key", algorithm="sha256").digest()


def file_signature(file_id: str, token_id: int, query_id: int, expires: int) -> str:
    message = f"{file_id}\n{token_id}\n{query_id}\n{expires}".encode()
    return hmac.new(_url_key(), message, hashlib.sha256).hexdigest()


def file_url_params(file_id: str, token_id: int, query_id: int) -> tuple[dict[str, Any], int]:
    expires = int(time.time()) + settings.SHARING_URL_SECONDS
    sig = file_signature(file_id, token_id, query_id, expires)
    return {"t": token_id, "q": query_id, "e": expires, "s": sig}, expires


@dataclass
class FileAccess:
    file: ShareFile
    fetch: FileFetch


def file_fetch(*, file_id: str, params: dict[str, str]) -> FileAccess:
    """Check a signed file URL and its token and grant now; record the fetch.

    Refused (403) for a bad signature, a URL past its expiry, or a token or grant that no
    longer reads; one FileFetch row per (query, file), however many Range requests.
    """
    try:
        token_id, query_id, expires = int(params["t"]), int(params["q"]), int(params["e"])
        sig = params["s"]
    except (KeyError, ValueError):
        raise forbidden("This file URL is incomplete; run the query again.") from None
    good = file_signature(file_id, token_id, query_id, expires)
    if not hmac.compare_digest(good, sig):
        raise forbidden("This file URL's signature is wrong.")
    if expires <= time.time():
        raise forbidden("This file URL has expired; run the query again for fresh ones.")
    token = (
        SharingToken.objects.select_related("user", "grant__version__dataset")
        .filter(pk=token_id)
        .first()
    )
    if token is None or not token.is_active:
        raise forbidden("This file URL's token was revoked or has expired.")
    grant_check(token)
    file = (
        ShareFile.objects.select_related("table")
        .filter(file_id=file_id, table__grant_id=token.grant_id)
        .first()
    )
    query = ShareQuery.objects.filter(pk=query_id, token_id=token.pk).first()
    if file is None or query is None:
        raise not_found("No such file in this share.")
    fetch, _ = FileFetch.objects.get_or_create(query=query, file=file)
    return FileAccess(file=file, fetch=fetch)


def fetch_count(fetch: FileFetch, size: int) -> None:
    FileFetch.objects.filter(pk=fetch.pk).update(
        requests=F("requests") + 1, bytes=F("bytes") + size, last_at=timezone.now()
    )


# --- Queries -----------------------------------------------------------------------------


def query_files(
    *,
    token: SharingToken,
    table: ShareTable,
    limit_hint: int | None,
    changes: bool = False,
    include: bool = True,
    predicate: Any = None,
) -> tuple[ShareQuery, list[ShareFile]]:
    """The files a query offers, recorded with a `sharing.queried` ledger event.

    Hints only prune whole files, never add: `predicate` (a parsed jsonPredicateHints)
    drops the files whose statistics prove no row matches (`file_may_match`), then
    `limit_hint` keeps the files up to the first that brings the rows to the hint. `changes`
    marks a change data feed request, `include` False one whose versions hold no change.
    """
    files = list(table.files.order_by("index")) if include else []
    if predicate is not None:
        files = [f for f in files if file_may_match(f.stats, predicate)]
    if limit_hint is not None:
        kept, rows = [], 0
        for f in files:
            if rows >= limit_hint:
                break
            kept.append(f)
            rows += f.rows
        files = kept
    grant = token.grant
    with transaction.atomic():
        query = ShareQuery.objects.create(
            token=token, table=table, files=len(files), bytes=sum(f.size for f in files)
        )
        event = record_event(
            "sharing.queried",
            token.user,
            {
                "query": query.pk,
                "grant": grant.pk,
                "dataset": grant.version.dataset_id,
                "version": grant.version.number,
                "cid": grant.version.cid,
                "table_version": table.version,
                "request": "changes" if changes else "query",
                "files": [f.file_id for f in files],
                "bytes": query.bytes,
                "rows": sum(f.rows for f in files),
            },
            scope=request_scope(grant.request_id),
        )
        ShareQuery.objects.filter(pk=query.pk).update(ledger_event_id=event.pk)
    return query, files


_ORDERED = {"int": int, "long": int, "date": str}
_COMPARE = {
    "equal": lambda lo, hi, v: lo <= v <= hi,
    "lessThan": lambda lo, hi, v: lo < v,
    "lessThanOrEqual": lambda lo, hi, v: lo <= v,
    "greaterThan": lambda lo, hi, v: hi > v,
    "greaterThanOrEqual": lambda lo, hi, v: hi >= v,
}


def file_may_match(stats: dict[str, Any], node: Any) -> bool:
    """False only when a file's statistics prove no row of it satisfies the JSON predicate
    (PROTOCOL.md "JSON predicates for Filtering"); anything unknown, odd or unsupported keeps
    the file. So a hint can only drop whole files, never add one or touch a row: what
    remains is a subset of the grant's own files, and the client filters the rows."""
    if not isinstance(node, dict):
        return True
    op, children = node.get("op"), node.get("children")
    if op == "and" and isinstance(children, list):
        return all(file_may_match(stats, c) for c in children)
    if op == "or" and isinstance(children, list) and children:
        return any(file_may_match(stats, c) for c in children)
    if op == "isNull" and isinstance(children, list) and len(children) == 1:
        column = children[0]
        if isinstance(column, dict) and column.get("op") == "column":
            nulls = stats.get("nullCount", {}).get(column.get("name"))
            return not (isinstance(nulls, int) and nulls == 0)
        return True
    if op in _COMPARE and isinstance(children, list) and len(children) == 2:
        column, literal = children
        if not (isinstance(column, dict) and isinstance(literal, dict)):
            return True
        if column.get("op") != "column" or literal.get("op") != "literal":
            return True
        kind = _ORDERED.get(literal.get("valueType", ""))
        name = column.get("name")
        lo, hi = stats.get("minValues", {}).get(name), stats.get("maxValues", {}).get(name)
        if (
            kind is None
            or lo is None
            or hi is None
            or column.get("valueType") != literal.get("valueType")
        ):
            return True
        try:
            value = kind(literal.get("value"))
            return bool(_COMPARE[op](kind(lo), kind(hi), value))
        except (TypeError, ValueError):
            return True
    return True


def stats_json(file: ShareFile) -> str:
    return json.dumps(file.stats, separators=(",", ":"))
