"""Access pages: ask for data, my requests, the moderation queue, decisions, grants with their
downloads, revocation, notifications. The same services as the API do the work."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from access import extensions, rowfilter, selectors, services
from access.api import streaming_response
from access.models import AccessRequest, Grant
from access.notifications import latest as latest_notifications
from access.notifications import mark_read
from catalog.models import Dataset
from catalog.selectors import dataset_for
from portal.errors import DomainError
from portal.permissions import Perm, can, require
from portal.redirects import safe_next


def _request(request: HttpRequest, pk: int) -> AccessRequest:
    return selectors.request_or_404(user=request.user, pk=pk)


def _grant(request: HttpRequest, pk: int) -> Grant:
    return selectors.grant_or_404(user=request.user, pk=pk)


def _dataset(request: HttpRequest, pk: int) -> Dataset:
    dataset = dataset_for(user=request.user, pk=pk)
    if dataset is None:
        raise Http404("No such dataset, or not yours to see.")
    return dataset


def _int(value: str | None) -> int | None:
    try:
        return int(value or "")
    except ValueError:
        return None


@login_required
@require_http_methods(["GET", "POST"])
def request_new(request: HttpRequest, pk: int) -> HttpResponse:
    """The request form of a listing (also shown on the listing page itself)."""
    dataset = _dataset(request, pk)
    require(request.user, Perm.ACCESS_REQUEST_CREATE, dataset)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {
        "purpose": "",
        "columns": dataset.current_version.column_names if dataset.current_version else [],
        "filter": "",
        "duration_days": 90,
    }
    if request.method == "POST":
        values = {
            "purpose": request.POST.get("purpose", ""),
            "columns": request.POST.getlist("columns"),
            "filter": request.POST.get("filter", ""),
            "duration_days": request.POST.get("duration_days", ""),
        }
        days = _int(values["duration_days"])
        if days is None:
            errors["duration_days"] = ["Give the duration as a whole number of days."]
        else:
            try:
                created = services.access_request_create(
                    user=request.user,
                    dataset=dataset,
                    purpose=values["purpose"],
                    columns=values["columns"],
                    filter_text=values["filter"],
                    duration_days=days,
                )
            except DomainError as exc:
                errors[exc.field or "general"] = exc.messages
            else:
                messages.success(request, f"Request #{created.pk} sent.")
                return redirect("access-request", pk=created.pk)
    return render(
        request,
        "access/request_new.html",
        {
            "dataset": dataset,
            "version": dataset.current_version,
            "values": values,
            "errors": errors,
            "max_days": settings.ACCESS_MAX_DAYS,
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def filter_check(request: HttpRequest, pk: int) -> JsonResponse:
    """Live validation of a row filter against a listing's schema (the form calls it)."""
    dataset = _dataset(request, pk)
    version = dataset.current_version
    if version is None:
        return JsonResponse({"ok": False, "error": "This listing has no data yet."})
    try:
        node = rowfilter.parse(request.POST.get("filter", ""), version.columns)
    except DomainError as exc:
        return JsonResponse({"ok": False, "error": exc.message})
    return JsonResponse({"ok": True, "canonical": rowfilter.canonical(node)})


@login_required
def my_requests(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.requests_visible(user=request.user), 25).get_page(
        request.GET.get("page")
    )
    return render(request, "access/requests.html", {"page": page})


@login_required
def moderation_queue(request: HttpRequest) -> HttpResponse:
    require(request.user, Perm.ACCESS_QUEUE_VIEW)
    queue = list(selectors.moderation_queue(user=request.user)[:200])
    now = timezone.now()
    return render(request, "access/moderation.html", {"queue": queue, "now": now})


@login_required
def decisions(request: HttpRequest) -> HttpResponse:
    waiting = list(selectors.awaiting_decision(user=request.user)[:200])
    return render(request, "access/decisions.html", {"waiting": waiting})


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    access_request = _request(request, pk)
    user = request.user
    version = access_request.version
    types = {c["name"]: c["type"] for c in version.columns}
    return render(
        request,
        "access/request.html",
        {
            "r": access_request,
            "grant": getattr(access_request, "grant", None)
            if access_request.state == "approved"
            else None,
            "columns": [(c, types[c]) for c in access_request.columns],
            "may_moderate": access_request.state == "pending_moderation"
            and can(user, Perm.ACCESS_REQUEST_MODERATE, access_request),
            "may_decide": access_request.state == "pending_decision"
            and can(user, Perm.ACCESS_REQUEST_DECIDE, access_request),
            # Suspended or withdrawn: reject and deny stay, clear and approve wait.
            "frozen": access_request.dataset.freeze_reason,
            "may_withdraw": access_request.is_open
            and can(user, Perm.ACCESS_REQUEST_WITHDRAW, access_request),
            "max_days": access_request.duration_days,
            "ledger": selectors.request_ledger(request=access_request),
        },
    )


def _request_action(action: Any, done: str):  # type: ignore[no-untyped-def]
    @login_required
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        access_request = _request(request, pk)
        reason = request.POST.get("reason", "")
        try:
            action(user=request.user, request=access_request, reason=reason)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
        return redirect("access-request", pk=access_request.pk)

    return view


request_clear = _request_action(services.access_request_clear, "Cleared.")
request_reject = _request_action(services.access_request_reject, "Rejected.")
request_deny = _request_action(services.access_request_deny, "Denied.")
request_withdraw = _request_action(services.access_request_withdraw, "Withdrawn.")


@login_required
@require_POST
def request_approve(request: HttpRequest, pk: int) -> HttpResponse:
    access_request = _request(request, pk)
    require(request.user, Perm.ACCESS_REQUEST_DECIDE, access_request)
    masks = {}
    for column in access_request.columns:
        kind = request.POST.get(f"mask-{column}", "")
        if kind == "truncate":
            kind = f"truncate:{request.POST.get(f'mask-n-{column}', '').strip()}"
        if kind:
            masks[column] = kind
    days = _int(request.POST.get("duration_days"))
    try:
        grant = services.access_request_approve(
            user=request.user,
            request=access_request,
            approval=services.Approval(
                columns=request.POST.getlist("columns"),
                extra_filter=request.POST.get("extra_filter", ""),
                masks=masks,
                duration_days=days,
            ),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("access-request", pk=access_request.pk)
    messages.success(request, f"Approved: grant #{grant.pk} until {grant.expires_at:%Y-%m-%d}.")
    return redirect("access-request", pk=access_request.pk)


@login_required
def grants(request: HttpRequest) -> HttpResponse:
    qs = selectors.grants_visible(user=request.user).order_by("-created_at", "-pk")
    page = Paginator(qs, 25).get_page(request.GET.get("page"))
    for grant in page:
        grant.frozen = (  # type: ignore[attr-defined]
            grant.request.dataset.freeze_reason if grant.state == "active" else None
        )
        grant.may_download = grant.refusal is None and can(  # type: ignore[attr-defined]
            request.user, Perm.GRANT_DOWNLOAD, grant
        )
        grant.may_revoke = grant.state == "active" and can(  # type: ignore[attr-defined]
            request.user, Perm.GRANT_REVOKE, grant
        )
        if grant.may_download:  # type: ignore[attr-defined]
            # Boxes other apps add (Delta Sharing's profile and tokens): access/extensions.py.
            grant.panels = extensions.grant_panels(user=request.user, grant=grant)  # type: ignore[attr-defined]
    return render(request, "access/grants.html", {"page": page})


@login_required
def grant_download(request: HttpRequest, pk: int) -> StreamingHttpResponse | HttpResponse:
    grant = _grant(request, pk)
    try:
        stream = services.grant_download(
            user=request.user,
            grant=grant,
            fmt=request.GET.get("format", "csv"),
            csv=request.GET.get("csv", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("grants")
    return streaming_response(stream)


@login_required
@require_POST
def grant_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    grant = _grant(request, pk)
    try:
        services.grant_revoke(user=request.user, grant=grant, reason=request.POST.get("reason", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Grant #{grant.pk} revoked.")
    return redirect(safe_next(request, reverse("grants")))


@login_required
@require_http_methods(["GET", "POST"])
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        mark_read(user=request.user)
        return redirect("notifications")
    items = latest_notifications(request.user)
    return render(request, "access/notifications.html", {"items": items})
