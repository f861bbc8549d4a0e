"""The Delta Sharing protocol's endpoints (delta-io/delta-sharing PROTOCOL.md), thin: the
decisions are in `sharing.services` and `sharing.selectors`.

Authentication is the recipient's bearer token, never the session: the views are exempt
from CSRF because a cookie never authenticates them.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from sharing import selectors, services
from sharing.models import ShareTable, SharingToken
from sharing.services import SCHEMA_NAME, SharingError, invalid, share_name, table_name
from storage.services import object_open

NDJSON = "application/x-ndjson; charset=utf-8"
View = Callable[..., HttpResponseBase]


def error_response(exc: SharingError) -> JsonResponse:
    response = JsonResponse({"errorCode": exc.code, "message": exc.message}, status=exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="delta-sharing"'
    return response


def protocol(methods: tuple[str, ...], *, authenticate: bool = True) -> Callable[[View], View]:
    """Method check, the recipient's token, and every refusal in the protocol's error shape."""

    def decorate(view: View) -> View:
        @csrf_exempt
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            try:
                if request.method not in methods:
                    raise SharingError(
                        405, "METHOD_NOT_ALLOWED", f"Use {' or '.join(methods)} here."
                    )
                if authenticate:
                    token = services.recipient(request.headers.get("Authorization", ""))
                    return view(request, token, *args, **kwargs)
                return view(request, *args, **kwargs)
            except SharingError as exc:
                return error_response(exc)

        return wrapped

    return decorate


def _share(grant: Any) -> dict[str, str]:
    table = services.share_table_ensure(grant)
    return {"name": share_name(grant), "id": str(table.share_id)}


def _table(grant: Any) -> dict[str, str]:
    table = services.share_table_ensure(grant)
    return {
        "name": table_name(grant),
        "schema": SCHEMA_NAME,
        "share": share_name(grant),
        "shareId": str(table.share_id),
        "id": str(table.table_id),
    }


def _listing(request: HttpRequest, items: list[Any], where: str) -> JsonResponse:
    shown, following = selectors.page(items, where=where, params=request.GET)
    body: dict[str, Any] = {"items": shown}
    if following:
        body["nextPageToken"] = following
    return JsonResponse(body)


@protocol(("GET",))
def shares(request: HttpRequest, token: SharingToken) -> HttpResponse:
    return _listing(request, [_share(g) for g in selectors.shares_of(token)], "shares")


@protocol(("GET",))
def share(request: HttpRequest, token: SharingToken, share: str) -> HttpResponse:
    return JsonResponse({"share": _share(selectors.share_for(token, share))})


@protocol(("GET",))
def schemas(request: HttpRequest, token: SharingToken, share: str) -> HttpResponse:
    grant = selectors.share_for(token, share)
    items = [{"name": SCHEMA_NAME, "share": share_name(grant)}]
    return _listing(request, items, f"schemas:{grant.pk}")


@protocol(("GET",))
def tables(request: HttpRequest, token: SharingToken, share: str, schema: str) -> HttpResponse:
    grant = selectors.schema_for(token, share, schema)
    return _listing(request, [_table(grant)], f"tables:{grant.pk}")


@protocol(("GET",))
def all_tables(request: HttpRequest, token: SharingToken, share: str) -> HttpResponse:
    grant = selectors.share_for(token, share)
    return _listing(request, [_table(grant)], f"all-tables:{grant.pk}")


def _version_headers(response: HttpResponse, table: ShareTable) -> HttpResponse:
    response["Delta-Table-Version"] = str(table.version)
    # We answer in the "parquet" format whatever the client offers (PROTOCOL.md: the server
    # says which one it used); the delta format would need a Delta log we do not keep.
    response["Delta-Sharing-Capabilities"] = "responseformat=parquet"
    return response


@protocol(("GET", "HEAD"))
def version(
    request: HttpRequest, token: SharingToken, share: str, schema: str, table: str
) -> HttpResponse:
    _grant, shared = selectors.table_for(token, share, schema, table)
    if request.GET.get("startingTimestamp"):
        raise invalid("This table has one version; startingTimestamp is not supported.")
    return _version_headers(HttpResponse(b""), shared)


def _check_version(shared: ShareTable, asked: Any) -> None:
    if asked is None:
        return
    try:
        number = int(asked)
    except (TypeError, ValueError):
        raise invalid("version must be an integer.") from None
    if number != shared.version:
        raise invalid(f"This table has only version {shared.version}.")


def _head_lines(shared: ShareTable) -> list[dict[str, Any]]:
    fields = [
        {"name": c["name"], "type": c["type"], "nullable": True, "metadata": {}}
        for c in shared.schema
    ]
    return [
        {"protocol": {"minReaderVersion": 1}},
        {
            "metaData": {
                "id": str(shared.table_id),
                "format": {"provider": "parquet"},
                "schemaString": json.dumps({"type": "struct", "fields": fields}),
                "partitionColumns": [],
                # The change data feed is on: a grant's view is one insert of all its rows.
                "configuration": {"enableChangeDataFeed": "true"},
                "version": shared.version,
                "size": shared.bytes,
                "numFiles": shared.files.count(),
            }
        },
    ]


def _ndjson(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(line, separators=(",", ":")).encode() + b"\n" for line in lines)


@protocol(("GET",))
def metadata(
    request: HttpRequest, token: SharingToken, share: str, schema: str, table: str
) -> HttpResponse:
    _grant, shared = selectors.table_for(token, share, schema, table)
    response = HttpResponse(_ndjson(_head_lines(shared)), content_type=NDJSON)
    return _version_headers(response, shared)


def _query_body(request: HttpRequest) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise invalid("The request body is not JSON.") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    limit = body.get("limitHint")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise invalid("limitHint must be a non-negative integer.")
    hints = body.get("jsonPredicateHints")
    if hints is not None:
        if not isinstance(hints, str):
            raise invalid("jsonPredicateHints must be a string holding JSON.")
        try:
            parsed = json.loads(hints)
        except ValueError:
            raise invalid("jsonPredicateHints is not valid JSON.") from None
        if not isinstance(parsed, dict) or "op" not in parsed:
            raise invalid("jsonPredicateHints must be a predicate object with an 'op'.")
    predicate = body.get("predicateHints")
    if predicate is not None and (
        not isinstance(predicate, list) or not all(isinstance(p, str) for p in predicate)
    ):
        raise invalid("predicateHints must be a list of strings.")
    if "timestamp" in body:
        raise invalid("This table has one version; timestamp is not supported.")
    if "startingVersion" in body or "endingVersion" in body:
        raise invalid("Change data feed queries are not supported on /query.")
    return body


@protocol(("POST",))
def query(
    request: HttpRequest, token: SharingToken, share: str, schema: str, table: str
) -> HttpResponse:
    _grant, shared = selectors.table_for(token, share, schema, table)
    body = _query_body(request)
    _check_version(shared, body.get("version"))
    hints = body.get("jsonPredicateHints")
    recorded, files = services.query_files(
        token=token,
        table=shared,
        limit_hint=body.get("limitHint"),
        predicate=json.loads(hints) if hints else None,
    )
    base = settings.SHARING_BASE_URL or request.build_absolute_uri("/").rstrip("/")
    lines = _head_lines(shared)
    for f in files:
        params, expires = services.file_url_params(f.file_id, token.pk, recorded.pk)
        url = base.rstrip("/") + reverse("sharing-file", args=[f.file_id]) + "?" + urlencode(params)
        lines.append(
            {
                "file": {
                    "url": url,
                    "id": f.file_id,
                    "partitionValues": {},
                    "size": f.size,
                    "stats": services.stats_json(f),
                    "version": shared.version,
                    "expirationTimestamp": expires * 1000,
                }
            }
        )
    response = HttpResponse(_ndjson(lines), content_type=NDJSON)
    return _version_headers(response, shared)


def _version_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name)
    if raw in (None, ""):
        return None
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"{name} must be a non-negative integer.") from None
    if value < 0:
        raise invalid(f"{name} must be a non-negative integer.")
    return value


@protocol(("GET",))
def changes(
    request: HttpRequest, token: SharingToken, share: str, schema: str, table: str
) -> HttpResponse:
    """The change data feed (PROTOCOL.md "Read Change Data Feed from a Table").

    A grant's view is fixed when it is approved, so its table has one version, 1, in which
    every row was inserted: the feed from 0 or 1 is one `add` per file, and empty after it.
    """
    _grant, shared = selectors.table_for(token, share, schema, table)
    if request.GET.get("startingTimestamp") or request.GET.get("endingTimestamp"):
        raise invalid("Give startingVersion (and endingVersion): timestamps are not supported.")
    start = _version_param(request, "startingVersion")
    end = _version_param(request, "endingVersion")
    if start is None:
        raise invalid("startingVersion is required.")
    if start > shared.version:
        raise invalid(f"startingVersion {start} is after the table's version {shared.version}.")
    if end is not None and end < start:
        raise invalid("endingVersion must not be before startingVersion.")
    includes = start <= shared.version and (end is None or end >= shared.version)
    recorded, files = services.query_files(
        token=token, table=shared, limit_hint=None, changes=True, include=includes
    )
    base = settings.SHARING_BASE_URL or request.build_absolute_uri("/").rstrip("/")
    lines = _head_lines(shared)
    stamp = int(shared.ready_at.timestamp() * 1000) if shared.ready_at else 0
    for f in files:
        params, expires = services.file_url_params(f.file_id, token.pk, recorded.pk)
        url = base.rstrip("/") + reverse("sharing-file", args=[f.file_id]) + "?" + urlencode(params)
        lines.append(
            {
                "add": {
                    "url": url,
                    "id": f.file_id,
                    "partitionValues": {},
                    "size": f.size,
                    "stats": services.stats_json(f),
                    "timestamp": stamp,
                    "version": shared.version,
                    "expirationTimestamp": expires * 1000,
                }
            }
        )
    response = HttpResponse(_ndjson(lines), content_type=NDJSON)
    return _version_headers(response, shared)


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single RFC 9110 byte range, or None for the whole file;
    SharingError 416 for one that lies outside the file."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        # Several ranges, or a unit we do not serve: RFC 9110 lets us send the whole file.
        return None
    first, last = match.groups()
    if first == "":
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise SharingError(416, "INVALID_PARAMETER_VALUE", f"The file has {size} bytes.")
    return start, end


def _stream(object_id: Any, start: int, length: int, fetch: Any) -> Iterator[bytes]:
    sent = 0
    with object_open(object_id) as raw:
        # Storage streams stripe by stripe and cannot seek: skip to the start (files are
        # bounded by SHARING_FILE_BYTES, so this is at most one file's decryption).
        skip = start
        for piece in raw:
            if skip >= len(piece):
                skip -= len(piece)
                continue
            piece = piece[skip:]
            skip = 0
            piece = piece[: length - sent]
            sent += len(piece)
            yield bytes(piece)
            if sent >= length:
                break
    services.fetch_count(fetch, sent)


@protocol(("GET", "HEAD"), authenticate=False)
def file(request: HttpRequest, file_id: str) -> HttpResponseBase:
    access = services.file_fetch(file_id=file_id, params=request.GET.dict())
    size = access.file.size
    response: HttpResponseBase
    try:
        span = _byte_range(request.headers.get("Range", ""), size)
    except SharingError as exc:
        response = error_response(exc)
        response["Content-Range"] = f"bytes */{size}"
        return response
    start, end = span if span else (0, size - 1)
    length = end - start + 1 if size else 0
    if request.method == "HEAD":
        response = HttpResponse(b"", content_type="application/vnd.apache.parquet")
        response["Content-Length"] = str(size)
    else:
        response = StreamingHttpResponse(
            _stream(access.file.object_id, start, length, access.fetch),
            content_type="application/vnd.apache.parquet",
            status=206 if span else 200,
        )
        response["Content-Length"] = str(length)
        if span:
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    return response


@csrf_exempt
def oauth_token(request: HttpRequest) -> HttpResponse:
    """The token endpoint of RFC 6749 §4.4: client credentials in HTTP Basic (§2.3.1) or in
    the form body, grant_type=client_credentials; errors in §5.2's shape."""
    try:
        if request.method != "POST":
            raise services.OAuthError(405, "invalid_request", "POST the token request.")
        client_id = request.POST.get("client_id", "")
        secret = request.POST.get("client_secret", "")
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, secret = (
                    base64.b64decode(value, validate=True).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                raise services.OAuthError(
                    401, "invalid_client", "The Basic credentials are not base64 of id:secret."
                ) from None
        if not client_id or not secret:
            raise services.OAuthError(400, "invalid_request", "Send the client's id and secret.")
        token, seconds = services.oauth_token_issue(
            client_id=client_id, secret=secret, grant_type=request.POST.get("grant_type", "")
        )
    except services.OAuthError as exc:
        response = JsonResponse(
            {"error": exc.error, "error_description": exc.description}, status=exc.status
        )
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Basic realm="delta-sharing"'
        return response
    response = JsonResponse({"access_token": token, "token_type": "Bearer", "expires_in": seconds})
    response["Cache-Control"] = "no-store"  # RFC 6749 §5.1
    return response


@protocol(("GET",), authenticate=False)
def root(request: HttpRequest) -> HttpResponse:
    raise SharingError(404, "RESOURCE_DOES_NOT_EXIST", "Use the endpoints under /shares.")
