"""What a recipient sees: exactly its token's grant, as one share, one schema, one table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core import signing
from django.db.models import Count, Q, Sum
from django.shortcuts import get_object_or_404

from access.extensions import GrantPanel
from access.models import Grant
from sharing.models import FileFetch, OAuthClient, ShareQuery, ShareTable, SharingToken
from sharing.services import SCHEMA_NAME, SharingError, invalid, not_found, share_name, table_name

_PAGE_SALT = "bizi.sharing.page"
MAX_PAGE = 1000


def shares_of(token: SharingToken) -> list[Grant]:
    """The recipient's shares. A token is one person's for one grant, so this is that grant;
    another grant of the same institution needs its own token (revoking one stops one)."""
    return [token.grant]


def share_for(token: SharingToken, name: str) -> Grant:
    for grant in shares_of(token):
        if share_name(grant).lower() == name.lower():
            return grant
    raise not_found(f"Share '{name}' does not exist or is not shared with you.")


def schema_for(token: SharingToken, share: str, schema: str) -> Grant:
    grant = share_for(token, share)
    if schema.lower() != SCHEMA_NAME:
        raise not_found(f"Schema '{schema}' does not exist in share '{share}'.")
    return grant


def table_for(token: SharingToken, share: str, schema: str, table: str) -> tuple[Grant, ShareTable]:
    grant = schema_for(token, share, schema)
    if table.lower() != table_name(grant):
        raise not_found(f"Table '{table}' does not exist in '{share}.{schema}'.")
    shared = ShareTable.objects.filter(grant=grant).first()
    if shared is None or shared.state == ShareTable.State.PENDING:
        # 503-like, but the protocol has no such code: say what is happening.
        raise SharingError(
            503, "TEMPORARILY_UNAVAILABLE", "This table's files are still being prepared."
        )
    if shared.state == ShareTable.State.FAILED:
        raise SharingError(
            500, "INTERNAL_ERROR", f"This table could not be prepared: {shared.error}"
        )
    return grant, shared


def page(items: list[Any], *, where: str, params: Any) -> tuple[list[Any], str | None]:
    """One page of `items` by `maxResults` and `pageToken` (PROTOCOL.md "List Shares").

    The page token is a signed offset bound to the listing it came from, so a token cannot
    be forged or replayed against another listing; a bad one is a 400.
    """
    raw = params.get("maxResults")
    size = MAX_PAGE
    if raw not in (None, ""):
        try:
            size = int(raw)
        except ValueError:
            raise invalid("maxResults must be a non-negative integer.") from None
        if size < 0:
            raise invalid("maxResults must be a non-negative integer.")
        size = min(size, MAX_PAGE)
    start = 0
    token = params.get("pageToken")
    if token:
        try:
            value = signing.loads(token, salt=_PAGE_SALT)
        except signing.BadSignature:
            raise invalid("pageToken is not one this server gave out.") from None
        if (
            not isinstance(value, dict)
            or value.get("w") != where
            or not isinstance(value.get("o"), int)
        ):
            raise invalid("pageToken belongs to another listing.")
        start = value["o"]
    end = start + size
    following = signing.dumps({"w": where, "o": end}, salt=_PAGE_SALT) if end < len(items) else None
    return items[start:end], following


def grant_panel(*, user: Any, grant: Grant) -> GrantPanel:
    """The grant page's Delta Sharing box (registered in sharing/apps.py)."""
    return GrantPanel("sharing/_grant_sharing.html", grant_sharing(user=user, grant=grant))


def grant_sharing(*, user: Any, grant: Grant) -> dict[str, Any]:
    """What the grant page shows a grantee about reading the grant through Delta Sharing."""
    table = ShareTable.objects.filter(grant=grant).first()
    return {
        "state": table.state if table else ShareTable.State.PENDING,
        "state_label": (table.get_state_display() if table else "Being prepared"),
        "error": table.error if table else "",
        "files": table.files.count() if table else 0,
        "tokens": list(
            SharingToken.objects.filter(
                grant=grant, user=user, client__isnull=True, revoked_at__isnull=True
            ).order_by("-created_at")
        ),
        "clients": list(
            OAuthClient.objects.filter(grant=grant, user=user, revoked_at__isnull=True).order_by(
                "-created_at"
            )
        ),
        "url": f"{share_name(grant)}.{SCHEMA_NAME}.{table_name(grant)}",
    }


def usage_per_week(
    *, period: Any, institution: Any, week: Callable[[str], Any]
) -> list[dict[str, Any]]:
    """Delta Sharing use per week for the usage dashboard: queries, files and bytes they
    offered, and file fetches with the bytes sent. Two grouped queries; `institution` means
    grants to or from it, as the dashboard's access figures do. `period` and `week` (the
    expression of a datetime column's week) are the dashboard's, passed in: sharing sits
    below the dashboards and does not import them."""

    def scoped(prefix: str) -> Q:
        if institution is None:
            return Q()
        return Q(**{f"{prefix}grant__institution": institution}) | Q(
            **{f"{prefix}grant__version__dataset__institution": institution}
        )

    weeks: dict[Any, dict[str, Any]] = {}

    def row(start: Any) -> dict[str, Any]:
        return weeks.setdefault(
            start,
            {"week": start, "queries": 0, "files": 0, "offered": 0, "fetches": 0, "sent": 0},
        )

    queries = (
        ShareQuery.objects.filter(period.q("created_at"), scoped("table__"))
        .annotate(week=week("created_at"))
        .values("week")
        .annotate(n=Count("pk"), files=Sum("files"), offered=Sum("bytes"))
        .order_by()
    )
    for q in queries:
        r = row(q["week"])
        r["queries"], r["files"], r["offered"] = q["n"], q["files"] or 0, q["offered"] or 0
    fetches = (
        FileFetch.objects.filter(period.q("first_at"), scoped("query__table__"))
        .annotate(week=week("first_at"))
        .values("week")
        .annotate(n=Count("pk"), sent=Sum("bytes"))
        .order_by()
    )
    for f in fetches:
        r = row(f["week"])
        r["fetches"], r["sent"] = f["n"], f["sent"] or 0
    return sorted(weeks.values(), key=lambda r: r["week"])


def own_token(*, user: Any, pk: int) -> SharingToken:
    """One of the person's own recipient tokens; Http404 for anyone else's."""
    return get_object_or_404(SharingToken, pk=pk, user=user)


def own_client(*, user: Any, pk: int) -> OAuthClient:
    """One of the person's own OAuth clients; Http404 for anyone else's."""
    return get_object_or_404(OAuthClient, pk=pk, user=user)
